# The benchmark's chart: events/s per consumer and workload, and the W5 latency
# distribution.  gnuplot -e "dir='RESULTS'" chart.gp writes RESULTS/chart.png.
set terminal pngcairo size 1400,560 font "DejaVu Sans,10" noenhanced
set output dir.'/chart.png'
set datafile missing '-'
has_lat = system('test -s '.dir.'/latency.dat && echo 1 || echo 0') + 0
if (has_lat) { set multiplot layout 1,2 }

set title 'Throughput: drain to the end LSN (higher is better)'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set ylabel 'change events per second'
set format y '%.0s%c'
set yrange [0:*]
set grid ytics
set key top right
plot for [i=2:8] dir.'/throughput.dat' using i:xtic(1) title columnheader(i)

if (has_lat) {
    set title 'W5: commit to handler latency, pgcdc library'
    set style data steps
    set logscale xy
    set format x '%g'
    set format y '%g'
    set xlabel 'latency (µs)'
    set ylabel 'fraction of events slower than x'
    set yrange [*:1]
    set xrange [*:*]
    set grid xtics ytics mxtics mytics
    unset key
    plot dir.'/latency.dat' using 1:((1 - $3) > 0 ? 1 - $3 : 1/0) with steps lw 2
    unset multiplot
}
