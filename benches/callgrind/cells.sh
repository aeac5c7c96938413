#!/usr/bin/env bash
# benches/callgrind/cells.sh WORKTREE [SCALE]
#
# Instructions (callgrind Ir) per message on the library's hot paths, tcp,
# 16 B, measured with the worktree's own `compare` bench (benches/compare.rs),
# so that two commits can be compared on the same machine (issue 24: within
# 2 %).
#
# Method (why it is differential): the bench runs every variant on the main
# thread, after two calibration runs of `raw` on that same thread, and
# valgrind reuses thread slots, so a callgrind file (one per thread slot with
# --separate-threads=yes) holds the calibration as well as the variant, plus
# fixed costs (contexts, sockets, connection, warm-up). Each cell is therefore
# run twice: once with `--scale 0.001`, which clamps the measured count to the
# runner's minimum of 1000 messages (the calibration's 2 x 31,000 raw messages
# are the same in both runs), and once with `--scale SCALE` (default 10:
# about 60,000 messages here). The figure is
#     (Ir of the thread in the long run - Ir in the short run) / (N_long - N_short)
# with N the count the runner prints on stderr ("# CELL: N per run"), so
# everything that is not per message cancels. No library symbol name is used
# except for the `process_events` rows (inclusive cost of every function
# matching `ZmqSource.*::process_events`) and to find the producer thread of
# the `Sender` cell (the one non-main thread whose functions mention
# `Sender` or `Multipart`).
#
# Needs: cargo, valgrind (callgrind), callgrind_annotate, jq, awk.
# Writes only into a temporary directory (printed; kept for
# callgrind_annotate) and the worktree's own target/ (the build).
set -euo pipefail

usage() { echo "usage: $0 WORKTREE [SCALE]   (SCALE of the long run, default 10)" >&2; exit 2; }
[ $# -ge 1 ] || usage
wt=$(cd "$1" && pwd) || usage
large=${2:-10}
small=0.001

for tool in cargo valgrind callgrind_annotate jq awk; do
    command -v "$tool" >/dev/null || { echo "error: $tool not found" >&2; exit 1; }
done

began=$(date +%s)
tmp=$(mktemp -d /tmp/callgrind-cells.XXXXXX)
if commit=$(git -C "$wt" rev-parse --short HEAD 2>/dev/null); then
    git -C "$wt" diff --quiet HEAD -- . 2>/dev/null || commit="$commit plus uncommitted changes"
else
    commit="unknown (not a git checkout)"
fi
echo "# worktree $wt, commit $commit"
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $(valgrind --version)"
echo "# files in $tmp"

# Build the bench in release, in the worktree's own target directory.
bin=$(cd "$wt" && CARGO_TARGET_DIR="$wt/target" cargo bench --bench compare --no-run \
        --message-format=json 2>"$tmp/build.log" |
      jq -r 'select(.reason == "compiler-artifact" and .target.name == "compare"
                    and .executable != null) | .executable' | tail -n 1) || true
if [ -z "$bin" ] || [ ! -x "$bin" ]; then
    echo "error: building the compare bench failed (see $tmp/build.log):" >&2
    tail -n 20 "$tmp/build.log" >&2
    exit 1
fi
echo "# binary $bin, built $(date -u -r "$bin" "+%Y-%m-%d %H:%M UTC")"

# run NAME VARIANT FILTER SCALE: one callgrind run of one cell, one round.
# Leaves $tmp/NAME-SCALE/cg.out-NN (one per thread slot) and stdout/stderr.
run() {
    local name=$1 variant=$2 filter=$3 scale=$4
    local dir="$tmp/$name-$scale"
    mkdir -p "$dir"
    echo "$bin --bench --rounds 1 --no-timer --scale $scale --only $variant $filter" > "$dir/command"
    if ! valgrind --tool=callgrind --separate-threads=yes \
            --callgrind-out-file="$dir/cg.out" \
            "$bin" --bench --rounds 1 --no-timer --scale "$scale" --only "$variant" "$filter" \
            >"$dir/stdout" 2>"$dir/stderr"; then
        echo "error: the run $name at scale $scale failed (see $dir/stderr)" >&2
        grep -v '^==' "$dir/stderr" | tail -n 10 >&2
        exit 1
    fi
    # An unknown variant name would run only the calibration, silently.
    if ! grep -qE "^[a-z]+ +[a-z]+ +[0-9]+[BK] +$variant " "$dir/stdout"; then
        echo "error: the run $name printed no row for variant $variant (see $dir/stdout)" >&2
        exit 1
    fi
}

# count DIR FILTER: the measured message count the runner printed.
count() {
    local n
    n=$(grep -oE "^# $2: [0-9]+ per run" "$1/stderr" | grep -oE '[0-9]+ per run' | cut -d' ' -f1)
    [ -n "$n" ] || { echo "error: no message count in $1/stderr" >&2; exit 1; }
    echo "$n"
}

# total FILE: all Ir of one thread slot.
total() {
    local t
    t=$(grep -m1 -E '^summary:' "$1" | awk '{print $2}')
    [ -n "$t" ] || { echo "error: no summary line in $1" >&2; exit 1; }
    echo "$t"
}

# process_events FILE: inclusive Ir of every ZmqSource process_events.
process_events() {
    local t
    t=$(callgrind_annotate --inclusive=yes --threshold=100 "$1" 2>/dev/null |
        grep -E 'ZmqSource.*::process_events \[' |
        awk '{gsub(",", "", $1); s += $1; n++} END {if (n) print s}')
    [ -n "$t" ] || { echo "error: no function matching ZmqSource.*::process_events in $1" >&2; exit 1; }
    echo "$t"
}

# producer DIR: the thread slot of the Sender cell's producer: the one
# non-main slot whose functions mention Sender or Multipart.
producer() {
    local f found=()
    for f in "$1"/cg.out-*; do
        case "$f" in *-01) continue ;; esac
        if grep -qE '^c?fn=.*(calloop_zmq::[^ ]*Sender|Multipart)' "$f"; then found+=("$f"); fi
    done
    if [ "${#found[@]}" -ne 1 ]; then
        echo "error: expected one producer thread in $1, found ${#found[@]}: ${found[*]:-none}" >&2
        exit 1
    fi
    echo "${found[0]}"
}

# per NAME FILTER WHAT: prints one table row from the two runs of NAME.
# WHAT: main-total, main-pe, producer-total.
per() {
    local name=$1 filter=$2 what=$3 label=$4
    local a="$tmp/$name-$small" b="$tmp/$name-$large" fa fb xa xb na nb
    na=$(count "$a" "$filter"); nb=$(count "$b" "$filter")
    case $what in
        main-total) xa=$(total "$a/cg.out-01"); xb=$(total "$b/cg.out-01"); fa=01; fb=01 ;;
        main-pe) xa=$(process_events "$a/cg.out-01"); xb=$(process_events "$b/cg.out-01"); fa=01; fb=01 ;;
        producer-total)
            fa=$(producer "$a"); fb=$(producer "$b")
            xa=$(total "$fa"); xb=$(total "$fb"); fa=${fa##*-}; fb=${fb##*-} ;;
    esac
    awk -v c="$name" -v l="$label" -v xa="$xa" -v xb="$xb" -v na="$na" -v nb="$nb" \
        -v fa="$fa" -v fb="$fb" 'BEGIN {
            if (nb <= na) { printf "error: %s: no more messages in the long run (%d <= %d)\n", c, nb, na > "/dev/stderr"; exit 1 }
            printf "%-22s %-44s %8.1f   %6d %7d  %s/%s\n", c, l, (xb - xa) / (nb - na), na, nb, fa, fb
        }'
}

# The cells: name, variant, filter.
cells=(
    "recv-raw raw recv/tcp/16B"
    "recv-owned calloop-zmq recv/tcp/16B"
    "recv-in-place calloop-zmq-in-place recv/tcp/16B"
    "recv-async calloop-zmq-async recv/tcp/16B"
    "send-raw raw send/tcp/16B"
    "send-handler calloop-zmq-handler send/tcp/16B"
    "send-sender calloop-zmq send/tcp/16B"
    "send-async calloop-zmq-async send/tcp/16B"
)
for cell in "${cells[@]}"; do
    read -r name variant filter <<<"$cell"
    for scale in "$small" "$large"; do
        t0=$(date +%s)
        run "$name" "$variant" "$filter" "$scale"
        echo "# ran $name (--only $variant $filter --scale $scale): $(count "$tmp/$name-$scale" "$filter") messages, $(( $(date +%s) - t0 )) s" >&2
    done
done

echo
echo "# Ir per message = (Ir in the --scale $large run - Ir in the --scale $small run) / (N_long - N_short)"
printf "%-22s %-44s %8s   %6s %7s  %s\n" "cell (tcp, 16 B)" "thread: figure" "Ir/msg" "N_shrt" "N_long" "slots"
per recv-raw recv/tcp/16B main-total "loop (main) thread: total (raw reference)"
per recv-owned recv/tcp/16B main-pe "loop thread: process_events inclusive [sym]"
per recv-owned recv/tcp/16B main-total "loop thread: total"
per recv-in-place recv/tcp/16B main-pe "loop thread: process_events inclusive [sym]"
per recv-in-place recv/tcp/16B main-total "loop thread: total"
per recv-async recv/tcp/16B main-total "task's (loop) thread: total"
per send-raw send/tcp/16B main-total "sending (main) thread: total (raw reference)"
per send-handler send/tcp/16B main-total "loop thread: total"
per send-sender send/tcp/16B producer-total "producer thread: total [thread found by sym]"
per send-sender send/tcp/16B main-pe "loop thread: process_events inclusive [sym]"
per send-sender send/tcp/16B main-total "loop thread: total"
per send-async send/tcp/16B main-total "task's (loop) thread: total"
echo "# [sym]: depends on a library symbol name (see the script's header); the others do not"
echo "# took $(( $(date +%s) - began )) s in all (build included)"
