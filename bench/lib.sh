# Helpers shared by the benchmark scripts (sourced).
# median: the median of the numbers on stdin, one a line ("n/a" for none)
median() { sort -g | awk '{ v[NR] = $1 } END { if (!NR) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# field FILE NAME: the first NAME=NUMBER in FILE (--stats lines, work's output)
field() { grep -o "$2=[0-9.]*" "$1" | head -n1 | cut -d= -f2; }
