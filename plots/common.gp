# common.gp: the look every chart shares; loaded first by each plots/*.gp.
# heki-plot sets the load path to this directory and passes width, height
# (pixels of the PNG) and outbase (the output path without extension).
set encoding utf8
set termoption noenhanced

# One colour per protection mode, the same in every chart.
mode_colour(m) = m eq "off" ? "#7f7f7f" : m eq "hypercall" ? "#1f77b4" : \
	m eq "view" ? "#ff7f0e" : m eq "vmfunc" ? "#2ca02c" : "#9467bd"

# Each script draws once for PNG and replots for SVG: the same figure in
# both.  noenhanced: benchmark names are full of underscores.  Only numbers
# are eval'd; paths and texts of the run are used as string values only.
png_term = sprintf("set terminal pngcairo size %d,%d noenhanced font 'sans,10'", \
	width, height)
svg_term = sprintf("set terminal svg size %d,%d noenhanced font 'sans,10' " . \
	"background rgb 'white'", width, height)

# Value labels: three significant digits, but never an exponent.
vfmt(v) = v >= 1000 ? sprintf("%.0f", v) : sprintf("%.3g", v)

# The y label comes as up to three lines (ylabel1..3) so that a long time
# unit fits along the axis.
ylab = !exists("ylabel1") ? "" : ylabel1 . \
	(strlen(ylabel2) > 0 ? "\n" . ylabel2 : "") . \
	(strlen(ylabel3) > 0 ? "\n" . ylabel3 : "")

set grid ytics mytics lc rgb "#dddddd" lw 1
set border 3
set tics nomirror
