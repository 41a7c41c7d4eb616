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
    runtimes = 0
    for f in generated():
        text = f.read_text()
        assert "udf" not in text.lower(), f
        # The runtime's data-quality helpers, its last part, may count (Glue
        # DQ does too); stage code may not.
        if f.name == "pipec_runtime.py":
            runtimes += 1
            if "def check_quality" in text:
                text = text[: text.index("def check_quality")]
        else:
            assert "def check_quality" not in text, f
        assert not action.search(text), f"{f}: {action.search(text)[0]}"
    assert runtimes >= 4


def test_each_spark_script_imports_the_runtime_beside_it_and_defines_no_helpers():
    # The shared helpers live once per pipeline, in pipec_runtime.py: a stage
    # script defines no function and imports only from the runtime.
    spark_scripts = 0
    for f in generated():
        if f.name == "pipec_runtime.py" or "urllib.request" in f.read_text():
            continue
        tree = ast.parse(f.read_text())
        imports = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        assert [getattr(n, "module", None) for n in imports] == ["pipec_runtime"], f
        assert not [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)], f
        assert (f.parent / "pipec_runtime.py").is_file(), f
        spark_scripts += 1
    assert spark_scripts >= 10
