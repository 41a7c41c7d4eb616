#!/usr/bin/env bash
# Requests and wall time of `pipec deploy` against a local moto_server, for
# the etl example and a 200-stage synthetic pipeline: from scratch, then a
# no-op. Requests are counted from moto's own request log (one line per
# request it answered). Prints one line per run.
#
# usage: benches/deploy_requests.sh [PIPEC_BINARY ...]
#   default binary: target/release/pipec (or $CARGO_TARGET_DIR/release/pipec)
# needs: moto_server in $PIPEC_VENV (default .venv); never contacts AWS.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${PIPEC_VENV:-.venv}
target=${CARGO_TARGET_DIR:-target}
bins=("$@")
[ ${#bins[@]} -eq 0 ] && bins=("$target/release/pipec")
work=$(mktemp -d)
trap 'kill "${moto_pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
export AWS_CONFIG_FILE=/nonexistent/config AWS_SHARED_CREDENTIALS_FILE=/nonexistent/credentials
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL
"${bins[0]}" --version >/dev/null
cargo run -q --example synthetic -- 200 > "$work/synthetic.yaml" 2>/dev/null \
    || "${bins[0]}" schema >/dev/null  # the example needs cargo; fail loudly below
[ -s "$work/synthetic.yaml" ] || { echo "cannot write the 200-stage pipeline" >&2; exit 2; }

start_moto() {
    log="$work/moto-$1.log"
    "$venv/bin/moto_server" -H 127.0.0.1 -p 0 2>"$log" >/dev/null &
    moto_pid=$!
    for _ in $(seq 300); do grep -q "Running on" "$log" && break; sleep 0.1; done
    AWS_ENDPOINT_URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$log" | head -1)
    export AWS_ENDPOINT_URL
}
served() { sleep 0.3; grep -c ' HTTP/1.1" [0-9]' "$log" || true; }

measure() { # bin label file
    local before after t0 t1 summary
    before=$(served)
    t0=$(date +%s.%N)
    "$1" deploy "$3" --yes --format json >"$work/out" 2>&1 || { echo "$2 failed:"; tail -5 "$work/out"; }
    t1=$(date +%s.%N)
    after=$(served)
    # The summary event's clock starts once the pipeline is planned (built in
    # memory) and the target known: the deploy itself.
    summary=$(grep '"event":"summary"' "$work/out" | tail -1)
    printf '%-24s %-22s requests %4d  deploy %6.2f s  process %6.2f s  %s\n' \
        "$(basename "$(dirname "$(dirname "$1")")")" "$2" $((after - before)) \
        "$(echo "$summary" | sed 's/.*"t_ms":\([0-9]*\).*/\1/' | awk '{print $1/1000}')" \
        "$(echo "$t1 - $t0" | bc)" "$(echo "$summary" | sed 's/.*"detail":"\([^"]*\)".*/\1/')"
}

i=0
for bin in "${bins[@]}"; do
    i=$((i + 1))
    start_moto "$i"
    # Warm moto up (its first CloudFormation call loads its models).
    "$bin" diff pipelines/etl.yaml >/dev/null 2>&1 || true
    measure "$bin" "etl from scratch" pipelines/etl.yaml
    measure "$bin" "etl no-op" pipelines/etl.yaml
    measure "$bin" "200-stage from scratch" "$work/synthetic.yaml"
    measure "$bin" "200-stage no-op" "$work/synthetic.yaml"
    kill "$moto_pid"; wait "$moto_pid" 2>/dev/null || true
done
