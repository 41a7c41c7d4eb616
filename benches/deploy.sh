#!/usr/bin/env bash
# Deploy timings against a local moto_server that this script starts itself
# (127.0.0.1, port 0; stopped by its own PID on exit). Prints, for the etl
# example: deploy from scratch, a no-op deploy, and a diff.
# Goals: 1.5 s, 0.2 s, 0.2 s. Sceptre on the same shape: 13.3 s, 0.86 s, 1.35 s.
# Needs .venv (./tests/run-all.sh installs it). Builds pipec in release mode.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# Never reach off this machine: dummy credentials, a region, no metadata, no profile.
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
export AWS_CONFIG_FILE=/nonexistent/aws-config AWS_SHARED_CREDENTIALS_FILE=/nonexistent/aws-credentials
unset AWS_PROFILE AWS_SESSION_TOKEN || true

# PIPEC=path/to/pipec uses a binary already built (say target/debug/pipec).
if [ -z "${PIPEC:-}" ]; then
  cargo build --release --locked --quiet
  PIPEC="$root/target/release/pipec"
fi
pipec=$PIPEC

log=$(mktemp)
"$root/.venv/bin/moto_server" -H 127.0.0.1 -p 0 2>"$log" >/dev/null &
moto=$!
trap 'kill "$moto" 2>/dev/null; wait "$moto" 2>/dev/null; rm -f "$log"' EXIT
url=
for _ in $(seq 300); do
  url=$(grep -o 'http://127.0.0.1:[0-9]*' "$log" | head -1 || true)
  [ -n "$url" ] && curl -fs -o /dev/null "$url/moto-api/" && break
  sleep 0.1
done
[ -n "$url" ] || { echo "moto_server did not start" >&2; exit 1; }
export AWS_ENDPOINT_URL=$url

# moto loads its CloudFormation and S3 models on first use (~2 s): warm them
# with a throwaway stack so the figures are pipec's, not moto's start-up.
"$pipec" diff --pipeline leads >/dev/null || true

run() {
  local label=$1; shift
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >/dev/null 2>&1 || { rc=$?; [ "$label" = diff ] || { echo "$label failed ($rc)" >&2; exit 1; }; }
  t1=$(date +%s.%N)
  printf '%-28s %6.3f s\n' "$label" "$(echo "$t1 - $t0" | bc -l)"
}
echo "pipec deploy, etl example (6 stacks), moto at $url"
run "deploy from scratch" "$pipec" deploy --pipeline etl --yes
run "no-op deploy" "$pipec" deploy --pipeline etl --yes
run "diff" "$pipec" diff --pipeline etl
for i in 1 2 3; do run "no-op deploy #$((i + 1))" "$pipec" deploy --pipeline etl --yes; done
for i in 1 2 3; do run "diff #$((i + 1))" "$pipec" diff --pipeline etl; done
echo "goals: 1.5 s / 0.2 s / 0.2 s; Sceptre: 13.3 s / 0.86 s / 1.35 s"
