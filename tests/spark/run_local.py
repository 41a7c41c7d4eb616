"""Helpers of the `pipec run --local` tests: the binary, and one run of it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, spark_env


def pipec():
    """The pipec binary: $PIPEC_BIN, else the cargo target dir's debug build."""
    given = os.environ.get("PIPEC_BIN")
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    path = Path(given) if given else target / "debug" / "pipec"
    if not path.is_file():
        pytest.fail(f"{path} is missing: run `cargo build` first", pytrace=False)
    return path


def run_local(pipeline, local_dir, *extra, ok=True, extra_submit=""):
    """Runs `pipec run --local` with this venv's Python; returns the process.
    `extra_submit` adds spark-submit options (the JDBC driver's jar)."""
    argv = [
        str(pipec()),
        "run",
        "--local",
        str(pipeline),
        "--local-dir",
        str(local_dir),
        "--python",
        sys.executable,
        *extra,
    ]
    proc = subprocess.run(
        argv,
        check=False,
        env=spark_env({"SUBMIT_EXTRA": extra_submit}),
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
    )
    print(proc.stdout)
    print(proc.stderr)
    if (proc.returncode == 0) != ok:
        pytest.fail(
            f"pipec run --local exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}",
            pytrace=False,
        )
    return proc
