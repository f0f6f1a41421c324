# latency.gp: median time per operation for each benchmark and mode, log
# scale, with a bar from the fastest sample (min) to the 90th percentile.
# -e: datafile (column 1 the benchmark, then median, min, p90 per mode),
#     modes (space-separated, the datafile's order), nrows, ylabel1..3, ymin,
#     subtitle, outbase, width, height.
load 'common.gp'

nmodes = words(modes)
slot = 0.8 / nmodes

set title "Latency per operation: median, bar from min to p90\n" . subtitle
set ylabel ylab
set logscale y
set format y "%.0s%c"
set yrange [ymin:*]
set xrange [-0.6:nrows - 0.4]
set xtics rotate by 90 right scale 0
set key top left box opaque
set bmargin 10
# Light separators: which points belong to which benchmark.
do for [k = 1:nrows - 1] {
	set arrow from k - 0.5, graph 0 to k - 0.5, graph 1 nohead lc rgb "#eeeeee"
}

eval png_term
set output outbase . ".png"
plot for [i = 1:nmodes] datafile \
	using ($0 - 0.4 + slot * (i - 0.5)):(column(3 * i - 1)):(column(3 * i)):(column(3 * i + 1)) \
	with yerrorbars pt 7 ps 1.1 lw 1.5 lc rgb mode_colour(word(modes, i)) \
	title word(modes, i), \
	datafile using 0:(NaN):xtic(1) notitle
eval svg_term
set output outbase . ".svg"
replot
unset output
