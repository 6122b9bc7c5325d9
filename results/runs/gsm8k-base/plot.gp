# srs eval plot: run `gnuplot plot.gp` in this directory (term="svg" for SVG)
if (!exists("term")) term = "png"
if (!exists("outfile")) outfile = "eval." . term
if (term eq "svg") {
    set terminal svg size 1800,560 dynamic enhanced font "sans,12" background rgb "white"
} else {
    if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
        set terminal pngcairo size 1800,560 enhanced font "sans,10" background rgb "white"
    } else {
        set terminal png size 1800,560
    }
}
set output outfile
set datafile commentschars "#"
set grid lc rgb "#dddddd"
set key outside right top samplen 2 spacing 1.1 font ",9"
set offsets graph 0.03, graph 0.03, graph 0.05, graph 0.05  # no point on a border
# the designs side by side around each 1/β: neighbours dx octaves apart
dx = 0.08
c = 2
set multiplot layout 1,3 title "gsm8k-base: gold utility (200 prompts, preset paper-cd, B 15; 95% bootstrap intervals)" noenhanced
set logscale x 2
set xrange [0.125 * 2**(-dx*c - 0.33) : 8 * 2**(dx*c + 0.33)]
set xlabel "1/β (inference-time strength λ)"
unset key
set ylabel "gold utility"
set title "gold utility against 1/β"
plot \
    'plot.dat' index 0 using ($1 * 2**(dx * (0 - c))):2:3:4 with yerrorlines lw 2 pt 7 ps 0.6 lc rgb "#7f7f7f" title "raw", \
    'plot.dat' index 1 using ($1 * 2**(dx * (1 - c))):2:3:4 with yerrorlines lw 2 pt 7 ps 0.6 lc rgb "#1f77b4" title "hard", \
    'plot.dat' index 2 using ($1 * 2**(dx * (2 - c))):2:3:4 with yerrorlines lw 2 pt 7 ps 0.6 lc rgb "#d62728" title "soft (alpha 1)", \
    'plot.dat' index 3 using ($1 * 2**(dx * (3 - c))):2:3:4 with yerrorlines lw 2 pt 7 ps 0.6 lc rgb "#2ca02c" title "minmax", \
    'plot.dat' index 4 using ($1 * 2**(dx * (4 - c))):2:3:4 with yerrorlines lw 2 pt 7 ps 0.6 lc rgb "#ff7f0e" title "cap"
set ylabel "gold utility − raw's"
set title "paired difference against raw at the same β (same replicates)"
plot 0 with lines dt 2 lw 1.5 lc rgb "black" notitle, \
    'plot.dat' index 1 using ($1 * 2**(dx * (1 - c))):6:7:8 with yerrorlines lw 2 pt 7 ps 0.6 lc rgb "#1f77b4" title "hard", \
    'plot.dat' index 2 using ($1 * 2**(dx * (2 - c))):6:7:8 with yerrorlines lw 2 pt 7 ps 0.6 lc rgb "#d62728" title "soft (alpha 1)", \
    'plot.dat' index 3 using ($1 * 2**(dx * (3 - c))):6:7:8 with yerrorlines lw 2 pt 7 ps 0.6 lc rgb "#2ca02c" title "minmax", \
    'plot.dat' index 4 using ($1 * 2**(dx * (4 - c))):6:7:8 with yerrorlines lw 2 pt 7 ps 0.6 lc rgb "#ff7f0e" title "cap"
unset logscale x
set xrange [0:*]  # KL >= 0: the base policy on the left border
set offsets 0, graph 0.03, graph 0.05, graph 0.05
set xlabel "KL(q‖p), nats"
set ylabel "gold utility"
set title "gold utility against KL (frontier)"
set key
plot \
    'plot.dat' index 0 using 5:2 with linespoints lw 2 pt 7 ps 0.6 lc rgb "#7f7f7f" title "raw", \
    'plot.dat' index 1 using 5:2 with linespoints lw 2 pt 7 ps 0.6 lc rgb "#1f77b4" title "hard", \
    'plot.dat' index 2 using 5:2 with linespoints lw 2 pt 7 ps 0.6 lc rgb "#d62728" title "soft (alpha 1)", \
    'plot.dat' index 3 using 5:2 with linespoints lw 2 pt 7 ps 0.6 lc rgb "#2ca02c" title "minmax", \
    'plot.dat' index 4 using 5:2 with linespoints lw 2 pt 7 ps 0.6 lc rgb "#ff7f0e" title "cap", \
    'plot.dat' index 5 using 5:2 with linespoints dt 2 lw 2 pt 5 ps 0.6 lc rgb "black" title "best-of-n", \
    'plot.dat' index 5 using 5:2:(sprintf("n=%d", $1)) with labels offset 0,0.8 font ",8" notitle
unset multiplot
set output
