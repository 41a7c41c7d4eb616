#!/usr/bin/env bash
# The whole `pipec review` command on a change to a pipeline of STAGES
# stages (default 200): a git repository in a temporary folder holds the
# synthetic pipeline's output as committed; every stage's filter is then
# changed and rebuilt, so every script, every job's script key and every
# role's script grant differ. Prints the median and best of RUNS runs
# (default 21) of wall time, in milliseconds, for text, Markdown and JSON
# output. Goal: under 100 ms at 200 stages (release binary).
# PROFILE=debug times the debug binary instead (slower; an upper bound).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
target=${CARGO_TARGET_DIR:-target}
profile=${PROFILE:-release}
flag=--release
[ "$profile" = release ] || flag=
cargo build $flag --quiet --bin pipec --example synthetic
pipec="$target/$profile/pipec"
synthetic="$target/$profile/examples/synthetic"
stages=${STAGES:-200}
runs=${RUNS:-21}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
git init -q -b main
git config user.email bench@example.com
git config user.name bench
mkdir pipelines
"$synthetic" "$stages" > pipelines/synthetic.yaml
"$pipec" build pipelines/synthetic.yaml > /dev/null
git add -A && git commit -q -m base
sed -i 's/filter: amount > 0/filter: amount >= 0/' pipelines/synthetic.yaml
"$pipec" build pipelines/synthetic.yaml > /dev/null
files=$(git status --porcelain generated | wc -l)
echo "pipec review ($profile binary), $stages stages, $files changed files, $runs runs"
for format in text markdown json; do
  : > times
  for _ in $(seq "$runs"); do
    start=$(date +%s%N)
    "$pipec" review --base main --format "$format" > out.txt
    end=$(date +%s%N)
    echo $(((end - start) / 1000000)) >> times
  done
  median=$(sort -n times | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
  best=$(sort -n times | head -1)
  printf '  %-8s median %4d ms  best %4d ms  output %d bytes\n' "$format" "$median" "$best" "$(wc -c < out.txt)"
done
