#!/usr/bin/env bash
# Stress: the four examples (etl, survey, leads, trips) deployed at once, as
# four pipec processes against one moto_server, ROUNDS times (default 20).
# Each round starts from nothing: this script resets its own moto
# (POST /moto-api/reset) first, then runs the four deploys from scratch at
# once, then the four again at once (each must be a no-op: exit 0, no
# change set), then one diff over all four (exit 0). With MODE=cumulative
# there is no reset: round 1 deploys from scratch, later rounds are no-ops
# on top. Prints one line per round and the failure count; exits 1 when
# anything failed. The moto server is started on 127.0.0.1, port 0, and
# stopped by its own PID. Logs of failed runs are kept under $KEEP (default
# a temporary folder that is printed).
#
#   tests/stress/deploy_stress.sh            # release build, 20 rounds
#   PIPEC=target/debug/pipec ROUNDS=5 tests/stress/deploy_stress.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
rounds=${ROUNDS:-20}
mode=${MODE:-fresh}
pipelines=(etl survey leads trips)

export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
export AWS_CONFIG_FILE=/nonexistent/aws-config AWS_SHARED_CREDENTIALS_FILE=/nonexistent/aws-credentials
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL || true

if [ -z "${PIPEC:-}" ]; then
  cargo build --release --locked --quiet --bin pipec || exit 2
  PIPEC="${CARGO_TARGET_DIR:-$root/target}/release/pipec"
fi
pipec=$PIPEC
venv=${PIPEC_VENV:-$root/.venv}

keep=${KEEP:-$(mktemp -d)}
mkdir -p "$keep"
log=$keep/moto.log
"$venv/bin/moto_server" -H 127.0.0.1 -p 0 2>"$log" >/dev/null &
moto=$!
trap 'kill "$moto" 2>/dev/null; wait "$moto" 2>/dev/null' EXIT
url=
for _ in $(seq 300); do
  url=$(grep -o 'http://127.0.0.1:[0-9]*' "$log" | head -1 || true)
  [ -n "$url" ] && curl -fs -o /dev/null "$url/moto-api/" && break
  sleep 0.1
done
[ -n "$url" ] || { echo "moto_server did not start" >&2; exit 2; }
export AWS_ENDPOINT_URL=$url
# Warm moto's models so the first round is not slower than the others.
"$pipec" diff --pipeline leads >/dev/null 2>&1 || true

failures=0
runs=0
# Runs the four deploys at once; $1 names the step, $2 = noop checks that
# no change set was created. Adds to failures, prints the step's result.
deploy_all() {
  local step=$1 noop=$2 round=$3 pids=() p i bad=0
  for p in "${pipelines[@]}"; do
    "$pipec" deploy --pipeline "$p" --yes --format json \
      >"$keep/r$round-$step-$p.out" 2>"$keep/r$round-$step-$p.err" &
    pids+=($!)
  done
  for i in "${!pipelines[@]}"; do
    p=${pipelines[$i]}
    runs=$((runs + 1))
    if ! wait "${pids[$i]}"; then
      bad=$((bad + 1))
      printf '\n  %s %s: failed (logs %s)\n' "$step" "$p" "$keep/r$round-$step-$p.*"
      tail -n 3 "$keep/r$round-$step-$p.err" | sed 's/^/    /'
      continue
    fi
    if [ "$noop" = noop ] && grep -q '"event":"change-set"' "$keep/r$round-$step-$p.out"; then
      bad=$((bad + 1))
      printf '\n  %s %s: a no-op created a change set (%s)\n' "$step" "$p" "$keep/r$round-$step-$p.out"
      continue
    fi
    rm -f "$keep/r$round-$step-$p".*
  done
  failures=$((failures + bad))
  printf ' %s %d/4' "$step" "$((4 - bad))"
}

echo "stress: ${pipelines[*]} deployed at once, $rounds rounds ($mode), moto at $url"
start=$(date +%s)
for round in $(seq "$rounds"); do
  t0=$(date +%s.%N)
  if [ "$mode" = fresh ] || [ "$round" = 1 ]; then
    [ "$mode" = fresh ] && curl -fs -o /dev/null -X POST "$url/moto-api/reset"
    first=scratch
  else
    first=again
  fi
  printf 'round %2d:' "$round"
  deploy_all "$first" "$([ "$first" = again ] && echo noop || echo any)" "$round"
  deploy_all noop noop "$round"
  runs=$((runs + 1))
  if "$pipec" diff >"$keep/r$round-diff.out" 2>&1; then
    printf ' diff ok'
    rm -f "$keep/r$round-diff.out"
  else
    failures=$((failures + 1))
    printf ' diff FAILED (%s)' "$keep/r$round-diff.out"
  fi
  t1=$(date +%s.%N)
  printf ' (%.1f s)\n' "$(echo "$t1 - $t0" | bc -l)"
done
echo "stress: $failures failed of $runs runs in $rounds rounds ($(( $(date +%s) - start )) s)"
[ "$failures" = 0 ]
