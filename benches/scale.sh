#!/usr/bin/env bash
# The whole `pipec validate` and `pipec build` commands (release binary) on
# synthetic pipelines of 1,000, 3,000 and 10,000 stages (SIZES="1000 10000"
# to choose): the median of RUNS runs (default 3) of wall time, CPU time
# (user + system) and peak memory (max RSS), measured by /usr/bin/time, and
# the CPU time per stage as a ratio to that of the first size (1.00 is
# linear).
#   validate  parse and check only;
#   build     into an empty folder (every file written);
#   rebuild   over that folder's current output (every file compared, none
#             written): the everyday case.
# Each build writes into a folder of its own, and folders are removed only at
# the end: ext4 is slow to create files just after many were deleted (it
# skips recently freed inodes), which would time the file system, not pipec.
# Goals at 10,000 stages: build under 3 s and under 300 MB; per-stage ratios
# within 1.3.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
# The examples in the same command keep cargo's feature set that of the tests,
# so this builds only pipec itself.
cargo build --release --quiet --bin pipec --example synthetic
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
runs=${RUNS:-3}
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
# `time_runs NAME CMD...` runs CMD RUNS times and appends "wall cpu peakMB"
# medians to $work/NAME.
time_runs() {
  local name=$1
  shift
  : > "$work/runs"
  for i in $(seq "$runs"); do
    /usr/bin/time -f "%e %U %S %M" -o "$work/time" "${@//@RUN@/$i}" > /dev/null
    cat "$work/time" >> "$work/runs"
  done
  wall=$(awk '{print $1}' "$work/runs" | median)
  cpu=$(awk '{printf "%.2f\n", $2 + $3}' "$work/runs" | median)
  peak=$(awk '{printf "%.0f\n", $4 / 1024}' "$work/runs" | median)
  echo "$wall $cpu $peak" > "$work/$name"
}
printf "%-8s %-9s %8s %8s %8s %10s\n" stages command "wall s" "cpu s" "peak MB" "cpu/stage"
declare -A first
for n in ${SIZES:-1000 3000 10000}; do
  "$target/release/examples/synthetic" "$n" > "$work/p$n.yaml"
  time_runs validate "$target/release/pipec" validate "$work/p$n.yaml"
  time_runs build "$target/release/pipec" build --out "$work/out$n-@RUN@" "$work/p$n.yaml"
  time_runs rebuild "$target/release/pipec" build --out "$work/out$n-1" "$work/p$n.yaml"
  for c in validate build rebuild; do
    read -r wall cpu peak < "$work/$c"
    per=$(awk -v c="$cpu" -v n="$n" 'BEGIN {printf "%.3g", c / n}')
    [ -n "${first[$c]:-}" ] || first[$c]=$per
    ratio=$(awk -v p="$per" -v f="${first[$c]}" 'BEGIN {printf "%.2f", p / f}')
    printf "%-8s %-9s %8s %8s %8s %10s\n" "$n" "$c" "$wall" "$cpu" "$peak" "x$ratio"
  done
  out=$(du -sm "$work/out$n-1" | awk '{print $1}')
  files=$(find "$work/out$n-1" -type f | wc -l)
  echo "         ($files files, $out MB written)"
done
