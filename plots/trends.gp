# trends.gp: the median of a few headline benchmark rows in each run of the
# history, oldest first, log scale.
# -e: datafile (index, run label, then one median per series), series
#     (space-separated "benchmark/mode"), nruns, ylabel1..3, ymin, extra (a note
#     for the title, may be empty), subtitle, outbase, width, height.
load 'common.gp'

nseries = words(series)

set title "Trends: median of headline rows over runs\n" . subtitle . \
	(strlen(extra) > 0 ? "  |  " . extra : "")
set ylabel ylab
set logscale y
set yrange [ymin:*]
set xrange [-0.5:nruns - 0.5]
set xtics rotate by 90 right scale 0
set key outside right top
set bmargin 10

eval png_term
set output outbase . ".png"
plot for [i = 1:nseries] datafile using 1:(column(i + 2)) \
	with linespoints lw 2 pt 7 title word(series, i), \
	datafile using 1:(NaN):xtic(2) notitle
eval svg_term
set output outbase . ".svg"
replot
unset output
