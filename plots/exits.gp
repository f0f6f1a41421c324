# exits.gp: host VM exits per operation for each benchmark and mode (the
# benchmark's vCPU, from HEKI_HC_STATS).  Log scale: a zero has no bar, so
# it is written as "0" on the axis.
# -e: datafile (column 1 the benchmark, then one value per mode), modes
#     (space-separated), nrows, ylabel1..3, ymin, subtitle, outbase, width,
#     height.
load 'common.gp'

nmodes = words(modes)
slot = 0.8 / nmodes
half = slot * 0.45
ybottom = ymin / 3.0
lpos(v) = v > 0 ? v * 1.15 : ybottom * 1.3

set title "VM exits per operation\n" . subtitle
set ylabel ylab
set logscale y
set yrange [ybottom:*]
set xrange [-0.6:nrows - 0.4]
set xtics rotate by 90 right scale 0
set key top left box opaque
set bmargin 10
set style fill solid 0.85 noborder

eval png_term
set output outbase . ".png"
plot for [i = 1:nmodes] datafile \
	using ($0 - 0.4 + slot * (i - 0.5)):(column(i + 1)): \
	      ($0 - 0.4 + slot * (i - 0.5) - half):($0 - 0.4 + slot * (i - 0.5) + half): \
	      (ybottom):(column(i + 1)) \
	with boxxyerror lc rgb mode_colour(word(modes, i)) title word(modes, i), \
	for [i = 1:nmodes] datafile \
	using ($0 - 0.4 + slot * (i - 0.5)):(lpos(column(i + 1))): \
	      (vfmt(column(i + 1))) \
	with labels font ",8" notitle, \
	datafile using 0:(NaN):xtic(1) notitle
eval svg_term
set output outbase . ".svg"
replot
unset output
