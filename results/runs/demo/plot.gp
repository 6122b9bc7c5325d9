# srs eval plot: run `gnuplot plot.gp` in this directory (term="svg" for SVG)
if (!exists("term")) term = "png"
if (!exists("outfile")) outfile = "eval." . term
if (term eq "svg") {
    set terminal svg size 1280,520 dynamic enhanced font "sans,12" background rgb "white"
} else {
    if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
        set terminal pngcairo size 1280,520 enhanced font "sans,10" background rgb "white"
    } else {
        set terminal png size 1280,520
    }
}
set output outfile
set datafile commentschars "#"
set grid lc rgb "#dddddd"
set key outside right top samplen 2 spacing 1.1 font ",9"
set multiplot layout 1,2 title "demo: gold utility (20000 prompts, preset paper-cd, B 15; 95% bootstrap intervals)"
set logscale x 2
set xlabel "1/β (inference-time strength λ)"
set ylabel "gold utility"
set title "gold utility against 1/β"
unset key
plot \
    'plot.dat' index 0 using 1:2:3:4 with yerrorlines lw 2 pt 7 ps 0.6 lc rgb "#7f7f7f" title "base policy", \
    'plot.dat' index 1 using 1:2:3:4 with yerrorlines lw 2 pt 7 ps 0.6 lc rgb "#1f77b4" title "raw", \
    'plot.dat' index 2 using 1:2:3:4 with yerrorlines lw 2 pt 7 ps 0.6 lc rgb "#d62728" title "hard", \
    'plot.dat' index 3 using 1:2:3:4 with yerrorlines lw 2 pt 7 ps 0.6 lc rgb "#2ca02c" title "soft (alpha 1)", \
    'plot.dat' index 4 using 1:2:3:4 with yerrorlines lw 2 pt 7 ps 0.6 lc rgb "#ff7f0e" title "minmax", \
    'plot.dat' index 5 using 1:2:3:4 with yerrorlines lw 2 pt 7 ps 0.6 lc rgb "#9467bd" title "meanstd", \
    'plot.dat' index 6 using 1:2:3:4 with yerrorlines lw 2 pt 7 ps 0.6 lc rgb "#8c564b" title "cap", \
    'plot.dat' index 7 using 1:2:3:4 with yerrorlines lw 2 pt 7 ps 0.6 lc rgb "#e377c2" title "meansoft (alpha 1)"
unset logscale x
set xlabel "KL(q‖p), nats"
set title "gold utility against KL (frontier)"
set key
plot \
    'plot.dat' index 0 using 5:2 with linespoints lw 2 pt 7 ps 0.6 lc rgb "#7f7f7f" title "base policy", \
    'plot.dat' index 1 using 5:2 with linespoints lw 2 pt 7 ps 0.6 lc rgb "#1f77b4" title "raw", \
    'plot.dat' index 2 using 5:2 with linespoints lw 2 pt 7 ps 0.6 lc rgb "#d62728" title "hard", \
    'plot.dat' index 3 using 5:2 with linespoints lw 2 pt 7 ps 0.6 lc rgb "#2ca02c" title "soft (alpha 1)", \
    'plot.dat' index 4 using 5:2 with linespoints lw 2 pt 7 ps 0.6 lc rgb "#ff7f0e" title "minmax", \
    'plot.dat' index 5 using 5:2 with linespoints lw 2 pt 7 ps 0.6 lc rgb "#9467bd" title "meanstd", \
    'plot.dat' index 6 using 5:2 with linespoints lw 2 pt 7 ps 0.6 lc rgb "#8c564b" title "cap", \
    'plot.dat' index 7 using 5:2 with linespoints lw 2 pt 7 ps 0.6 lc rgb "#e377c2" title "meansoft (alpha 1)", \
    'plot.dat' index 8 using 5:2 with linespoints dt 2 lw 2 pt 5 ps 0.6 lc rgb "black" title "best-of-n", \
    'plot.dat' index 8 using 5:2:(sprintf("n=%d", $1)) with labels offset 0,0.8 font ",8" notitle
unset multiplot
set output
