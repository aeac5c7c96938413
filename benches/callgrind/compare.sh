#!/usr/bin/env bash
# benches/callgrind/compare.sh BEFORE.txt AFTER.txt [LIMIT_PERCENT]
#
# Compares two outputs of benches/callgrind/cells.sh row by row (cell + figure) and
# prints before, after, the change in percent and OK / OVER (|change| above
# LIMIT_PERCENT, default 2). Exits 1 if any row is over the limit or missing
# from AFTER.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 BEFORE.txt AFTER.txt [LIMIT_PERCENT]" >&2; exit 2; }
limit=${3:-2}
rows() { awk '/^cell \(tcp, 16 B\)/ {on = 1; next} on && /^[a-z]/ {
    key = $1; fig = ""
    for (i = 2; i <= NF - 4; i++) fig = fig (fig == "" ? "" : " ") $i
    print key "|" fig "|" $(NF - 3) }' "$1"; }
awk -F'|' -v limit="$limit" '
    NR == FNR { before[$1 "|" $2] = $3; order[++n] = $1 "|" $2; next }
    { after[$1 "|" $2] = $3 }
    END {
        bad = 0
        printf "%-16s %-46s %8s %8s %8s\n", "cell", "figure", "before", "after", "change"
        for (i = 1; i <= n; i++) {
            k = order[i]; split(k, p, "|")
            if (!(k in after)) { printf "%-16s %-46s %8.1f %8s %8s  MISSING\n", p[1], p[2], before[k], "-", "-"; bad = 1; continue }
            d = (after[k] - before[k]) / before[k] * 100
            over = (d > limit || d < -limit)
            if (over) bad = 1
            printf "%-16s %-46s %8.1f %8.1f %+7.2f%%  %s\n", p[1], p[2], before[k], after[k], d, over ? "OVER" : "OK"
        }
        exit bad
    }' <(rows "$1") <(rows "$2")
