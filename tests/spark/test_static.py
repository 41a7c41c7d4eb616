"""Quality gates on every generated script of every pipeline: py_compile,
ruff check (E, F, W, I, B, UP for Python 3.11), ruff format, Python 3.9
syntax for Python shell scripts, no collect/toPandas/count outside the
data-quality helpers, no Python UDFs."""

import ast
import py_compile
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, SCRIPTS

RUFF = Path(sys.executable).parent / "ruff"
EXPECTED_PIPELINES = [
    p.stem
    for d in ["pipelines", "tests/cases/good", "tests/spark/fixtures"]
    for p in sorted((ROOT / d).glob("*.yaml"))
]


def generated():
    if not SCRIPTS.is_dir():
        pytest.fail(
            f"{SCRIPTS} is missing: run `cargo test --test scripts` first",
            pytrace=False,
        )
    files = []
    for stem in EXPECTED_PIPELINES:
        d = SCRIPTS / stem
        if not d.is_dir():
            pytest.fail(
                f"no scripts rendered for {stem}: run cargo test", pytrace=False
            )
        own = set((d / "user-scripts.txt").read_text().split())
        files += [
            p
            for p in sorted((d / "scripts").glob("*.py"))
            if f"scripts/{p.name}" not in own
        ]
    assert len(files) >= 15
    return files


def test_py_compile(tmp_path):
    for f in generated():
        py_compile.compile(str(f), doraise=True, cfile=str(tmp_path / "x.pyc"))


def test_ruff_check_and_format():
    files = [str(f) for f in generated()]
    check = subprocess.run(
        [
            RUFF,
            "check",
            "--no-cache",
            "--select",
            "E,F,W,I,B,UP",
            "--target-version",
            "py311",
            *files,
        ],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    fmt = subprocess.run(
        [RUFF, "format", "--no-cache", "--check", *files],
        capture_output=True,
        text=True,
    )
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def test_python_shell_scripts_run_on_python_3_9():
    shells = [f for f in generated() if "urllib.request" in f.read_text()]
    assert shells
    for f in shells:
        ast.parse(f.read_text(), feature_version=(3, 9))


def test_no_actions_or_udfs_in_the_stage_code():
    action = re.compile(r"\.(collect|toPandas|count)\(\)")
    for f in generated():
        text = f.read_text()
        assert "udf" not in text.lower(), f
        # The data-quality helpers may count (Glue DQ does too); stage code may not.
        if "def check_quality" in text:
            helpers_end = text.index("\nargs = parse_arguments()")
            text = text[: text.index("def check_quality")] + text[helpers_end:]
        assert not action.search(text), f"{f}: {action.search(text)[0]}"
