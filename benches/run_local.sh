#!/usr/bin/env bash
# The etl example run end to end with `pipec run --local` (one JVM for its
# Spark stages), against the same Spark stages run as separate processes
# (`python clean.py ...`, `python repartition.py ...`, one JVM each) in the
# same invocation, on the example's bundled Online Retail sample. Prints both
# times and their ratio; the goal is a ratio under 0.5.
#
#   benches/run_local.sh            # uses $PIPEC_BIN or target/debug/pipec
#   PIPEC_PYTHON=.venv/bin/python benches/run_local.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
pipec=${PIPEC_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/pipec}
python=${PIPEC_PYTHON:-$root/.venv/bin/python}
export SPARK_LOCAL_IP=127.0.0.1 AWS_EC2_METADATA_DISABLED=true TZ=UTC
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The etl example's bundled sample (Online Retail format, 66 rows).
cp "$root/pipelines/samples/etl/online_retail.csv" "$tmp/online_retail.csv"

now() { date +%s.%N; }

start=$(now)
"$pipec" run --local "$root/pipelines/etl.yaml" --python "$python" \
    --local-dir "$tmp/run" --input "orders_raw=$tmp/online_retail.csv" > "$tmp/run.log" 2>&1 \
    || { cat "$tmp/run.log"; exit 1; }
whole=$(echo "$(now) - $start" | bc)

scripts="$root/generated/etl/dev/scripts"
mkdir -p "$tmp/sep/raw/orders"
cp "$tmp/online_retail.csv" "$tmp/sep/raw/orders/"
start=$(now)
"$python" "$scripts/clean.py" --JOB_NAME clean \
    --pipec_input_orders_raw "$tmp/sep/raw/orders" \
    --pipec_output_orders_clean "$tmp/sep/silver/orders" > "$tmp/clean.log" 2>&1
clean=$(echo "$(now) - $start" | bc)
start=$(now)
"$python" "$scripts/repartition.py" --JOB_NAME repartition \
    --pipec_input_orders_clean "$tmp/sep/silver/orders" \
    --pipec_output_orders_by_country "$tmp/sep/gold/orders_by_country" > "$tmp/repartition.log" 2>&1
repartition=$(echo "$(now) - $start" | bc)
separate=$(echo "$clean + $repartition" | bc)

printf 'pipec run --local (whole etl run, one JVM): %6.1f s\n' "$whole"
printf 'separate processes: clean %.1f s + repartition %.1f s = %6.1f s\n' "$clean" "$repartition" "$separate"
printf 'ratio whole / separate: %.2f (goal: under 0.50)\n' "$(echo "$whole / $separate" | bc -l)"
