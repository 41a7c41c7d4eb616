#!/usr/bin/env bash
# The etl example run end to end with `pipec run --local` (one JVM for its
# Spark stages), against the same Spark stages run as separate processes
# (`python clean.py ...`, `python repartition.py ...`, one JVM each) in the
# same invocation, on the same small Online Retail sample. Prints both
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
cat > "$tmp/online_retail.csv" <<'CSV'
Invoice No,Stock Code,Description,Quantity,Invoice Date,Unit Price,Customer ID,Country
536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom
536365,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,17850,United Kingdom
536367,84879,ASSORTED COLOUR BIRD ORNAMENT,32,12/1/2010 8:34,1.69,13047,United Kingdom
536370,22728,ALARM CLOCK BAKELIKE PINK,24,12/1/2010 8:45,3.75,12583,France
536389,22941,CHRISTMAS LIGHTS 10 REINDEER,6,12/1/2010 10:03,8.50,12431,Australia
C536391,21980,PACK OF 12 RED RETROSPOT TISSUES,-24,12/1/2010 10:24,0.29,17548,United Kingdom
CSV

now() { date +%s.%N; }

start=$(now)
"$pipec" run --local "$root/pipelines/etl.yaml" --python "$python" \
    --local-dir "$tmp/run" --input "orders_raw=$tmp/online_retail.csv" > "$tmp/run.log" 2>&1 \
    || { cat "$tmp/run.log"; exit 1; }
whole=$(echo "$(now) - $start" | bc)

scripts="$root/generated/etl/scripts"
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
