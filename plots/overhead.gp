# overhead.gp: each mode's median over the same benchmark's median in mode
# off (bench.json's overhead_vs_off).  Bars grow from 1 (no cost, dashed):
# up for a slowdown, down for a speedup; log scale so 2x and 0.5x look the
# same size.
# -e: datafile (column 1 the benchmark, then one ratio per mode), modes
#     (space-separated), nrows, ylabel1..3, ymin, subtitle, outbase, width,
#     height.
load 'common.gp'

nmodes = words(modes)
slot = 0.8 / nmodes
half = slot * 0.45
ybottom = ymin < 0.5 ? ymin : 0.5
# Label above a bar that goes up, below one that goes down.
lpos(v) = v >= 1 ? v * 1.15 : v / 1.15

set title "Overhead against protection off (median / median in mode off)\n" . subtitle
set ylabel ylab
set logscale y
set yrange [ybottom:*]
set xrange [-0.6:nrows - 0.4]
set xtics rotate by 90 right scale 0
set key top left box opaque
set bmargin 10
set style fill solid 0.85 noborder
set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lc rgb "#444444"

eval png_term
set output outbase . ".png"
plot for [i = 1:nmodes] datafile \
	using ($0 - 0.4 + slot * (i - 0.5)):(column(i + 1)): \
	      ($0 - 0.4 + slot * (i - 0.5) - half):($0 - 0.4 + slot * (i - 0.5) + half): \
	      (1):(column(i + 1)) \
	with boxxyerror lc rgb mode_colour(word(modes, i)) title word(modes, i), \
	for [i = 1:nmodes] datafile \
	using ($0 - 0.4 + slot * (i - 0.5)):(lpos(column(i + 1))): \
	      (vfmt(column(i + 1)) . "×") \
	with labels font ",8" notitle, \
	datafile using 0:(NaN):xtic(1) notitle
eval svg_term
set output outbase . ".svg"
replot
unset output
