# attacks.gp: the attack matrix, one coloured cell per attack and mode,
# labelled with the observed outcome (and the expected one when they
# differ).  Colours: green prevented, amber detected, red missed, grey n/a,
# purple not as expected (mismatch, crashed, error, not run).
# -e: datafile (index 0: x y fill textcolour observed second-line; index 1:
#     y attack-label; index 2: x mode), nattacks, nmodes, counts, subtitle,
#     outbase, width, height.
load 'common.gp'

set title "Attack matrix: observed outcome per attack and mode\n" . counts . "  |  " . subtitle
set xrange [-0.5:nmodes - 0.5]
set yrange [-0.5:nattacks - 0.5]
unset grid
set border 0
set xtics scale 0 font ",11"
set ytics scale 0
set key outside right top
set style fill solid 1.0 border lc rgb "white"
# A second line moves the first up to make room.
line1(s) = strlen(s) > 0 ? 0.15 : 0

eval png_term
set output outbase . ".png"
plot datafile index 0 using 1:2:(0.5):(0.5):3 with boxxyerror fc rgb variable notitle, \
	'' index 0 using 1:($2 + line1(strcol(6))):5:4 with labels tc rgb variable notitle, \
	'' index 0 using 1:($2 - 0.17):6:4 with labels tc rgb variable font ",8" notitle, \
	'' index 1 using (NaN):1:ytic(2) notitle, \
	'' index 2 using 1:(NaN):xtic(2) notitle, \
	NaN with boxes fc rgb "#2e7d32" title "prevented", \
	NaN with boxes fc rgb "#f9a825" title "detected", \
	NaN with boxes fc rgb "#c62828" title "missed", \
	NaN with boxes fc rgb "#bdbdbd" title "n/a", \
	NaN with boxes fc rgb "#6a1b9a" title "not as expected"
eval svg_term
set output outbase . ".svg"
replot
unset output
