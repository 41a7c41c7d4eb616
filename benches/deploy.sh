#!/usr/bin/env bash
# Deploy timings and request counts against a local moto_server that this
# script starts itself (127.0.0.1, port 0; stopped by its own PID on exit).
# For the etl example and for a 200-stage synthetic pipeline it prints, for
# a deploy from scratch, a no-op deploy and a diff: the median wall time of
# 3 runs, the requests moto answered (counted from its request log, the
# median run's), and for a no-op the change sets created. "From scratch"
# resets this script's own moto before each run (POST /moto-api/reset).
# Goals (issue 10): etl 1.5 s / 0.2 s / 0.2 s and 0 change sets for a no-op;
# 200 stages: no-op and diff at most 3 requests per stack and under 0.25 s,
# from scratch under 3 s. Sceptre on the etl shape: 13.3 s, 0.86 s, 1.35 s.
# Prints figures, asserts nothing. Needs .venv (./tests/run-all.sh installs
# it). Builds pipec and the synthetic example in release mode unless PIPEC
# (and SYNTHETIC) name binaries already built.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# Never reach off this machine: dummy credentials, a region, no metadata, no profile.
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
export AWS_CONFIG_FILE=/nonexistent/aws-config AWS_SHARED_CREDENTIALS_FILE=/nonexistent/aws-credentials
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL || true

target=${CARGO_TARGET_DIR:-$root/target}
if [ -z "${PIPEC:-}" ]; then
  cargo build --release --locked --quiet --bin pipec --example synthetic
  PIPEC="$target/release/pipec"
  SYNTHETIC="$target/release/examples/synthetic"
fi
pipec=$PIPEC
synthetic=${SYNTHETIC:-$target/release/examples/synthetic}
[ -x "$synthetic" ] || { echo "no synthetic example at $synthetic (set SYNTHETIC)" >&2; exit 2; }
venv=${PIPEC_VENV:-$root/.venv}

work=$(mktemp -d)
log=$work/moto.log
"$venv/bin/moto_server" -H 127.0.0.1 -p 0 2>"$log" >/dev/null &
moto=$!
trap 'kill "$moto" 2>/dev/null; wait "$moto" 2>/dev/null; rm -rf "$work"' EXIT
url=
for _ in $(seq 300); do
  url=$(grep -o 'http://127.0.0.1:[0-9]*' "$log" | head -1 || true)
  [ -n "$url" ] && curl -fs -o /dev/null "$url/moto-api/" && break
  sleep 0.1
done
[ -n "$url" ] || { echo "moto_server did not start" >&2; exit 1; }
export AWS_ENDPOINT_URL=$url

"$synthetic" 200 >"$work/synthetic.yaml"

# Requests moto has answered so far: its access log, minus its own API.
requests() {
  grep -E '"[A-Z]+ [^ ]* HTTP/1\.[01]" [0-9]{3}' "$log" | grep -vc '/moto-api/' || true
}

reset() {
  curl -fs -o /dev/null -X POST "$url/moto-api/reset"
}

# One timed run: prints "seconds requests change-sets".
once() {
  local before after t0 t1 out
  before=$(requests)
  out=$work/out.json
  t0=$(date +%s.%N)
  "$@" >"$out" 2>"$work/err" || true
  t1=$(date +%s.%N)
  # moto logs a request just after answering it.
  sleep 0.2
  after=$(requests)
  printf '%s %s %s\n' "$(echo "$t1 - $t0" | bc -l)" "$((after - before))" \
    "$(grep -c '"event":"change-set"' "$out" || true)"
}

# label, whether to reset first, command...: the median of 3 runs.
measure() {
  local label=$1 fresh=$2; shift 2
  local rows=()
  for _ in 1 2 3; do
    [ "$fresh" = fresh ] && reset
    rows+=("$(once "$@")")
  done
  local median
  median=$(printf '%s\n' "${rows[@]}" | sort -n | sed -n 2p)
  read -r secs reqs sets <<<"$median"
  if [ "$label" = "${label%no-op*}" ]; then sets=-; fi
  printf '%-24s %8.3f s %8s %8s\n' "$label" "$secs" "$reqs" "$sets"
}

# moto loads its models on first use (~2-10 s): warm them so the figures
# are pipec's, not moto's start-up.
"$pipec" diff --pipeline leads >/dev/null 2>&1 || true
"$pipec" deploy --pipeline leads --yes >/dev/null 2>&1 || true

stacks() {
  { "$pipec" diff "$@" --format json 2>/dev/null || true; } |
    "$venv/bin/python" -c 'import json,sys; print(sum(len(p["stacks"]) for p in json.load(sys.stdin)["pipelines"]))'
}

echo "pipec deploy against moto at $url (median of 3 runs; requests as moto counted them)"
printf '%-24s %10s %8s %8s\n' "" "wall" "requests" "chg sets"
echo "etl example ($(stacks --pipeline etl) stacks)"
measure "deploy from scratch" fresh "$pipec" deploy --pipeline etl --yes --format json
measure "no-op deploy" keep "$pipec" deploy --pipeline etl --yes --format json
measure "diff" keep "$pipec" diff --pipeline etl --format json
reset
syn=$work/synthetic.yaml
n=$(stacks "$syn")
echo "200-stage synthetic ($n stacks)"
measure "deploy from scratch" fresh "$pipec" deploy "$syn" --yes --format json
measure "no-op deploy" keep "$pipec" deploy "$syn" --yes --format json
measure "diff" keep "$pipec" diff "$syn" --format json
echo "goals: etl 1.5 s / 0.2 s / 0.2 s, 0 change sets for a no-op;"
echo "       200 stages: from scratch 3 s; no-op and diff 0.25 s and at most $((3 * n)) requests (3 per stack)"
