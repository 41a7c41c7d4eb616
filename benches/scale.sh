#!/usr/bin/env bash
# The whole `pipec build` (release binary, writing every file) of synthetic
# pipelines of 1,000, 3,000 and 10,000 stages (SIZES="1000 3000" to choose):
# the median of RUNS runs (default 3) of wall time, CPU time (user + system)
# and peak memory (max RSS), measured by /usr/bin/time.
# Goals at 10,000 stages: under 3 s and under 300 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
cargo build --release --quiet --bin pipec --example synthetic
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
printf "%-8s %8s %8s %10s %10s %8s\n" stages "wall s" "cpu s" "peak MB" "out MB" files
for n in ${SIZES:-1000 3000 10000}; do
  "$target/release/examples/synthetic" "$n" > "$work/p$n.yaml"
  : > "$work/runs"
  for _ in $(seq "${RUNS:-3}"); do
    rm -rf "$work/out"
    /usr/bin/time -f "%e %U %S %M" -o "$work/time" \
      "$target/release/pipec" build --out "$work/out" "$work/p$n.yaml" > /dev/null
    cat "$work/time" >> "$work/runs"
  done
  wall=$(awk '{print $1}' "$work/runs" | median)
  cpu=$(awk '{print $2 + $3}' "$work/runs" | median)
  peak=$(awk '{printf "%.0f\n", $4 / 1024}' "$work/runs" | median)
  out=$(du -sm "$work/out" | awk '{print $1}')
  files=$(find "$work/out" -type f | wc -l)
  printf "%-8s %8s %8s %10s %10s %8s\n" "$n" "$wall" "$cpu" "$peak" "$out" "$files"
done
