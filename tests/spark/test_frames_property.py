"""Compile-time frame schemas against Spark's, on generated pipelines.

`cargo test --test frames` writes a fixed sample of random pipelines
(random starting schemas, random step sequences) to target/frames-cases/:
each case's pipeline, its generated script and `expected.json`, the columns
and types validation computed for every frame. Here each script runs in one
Spark session for the module, over small synthetic data of the declared
input types, and the DataFrame of every frame (a variable of the script) must
have exactly the compile-time columns, in order, with the same types.
"""

import datetime
import decimal
import json
import os
import random
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, spark_env

CASES = ROOT / "target" / "frames-cases"
RUFF = Path(sys.executable).parent / "ruff"
ROWS = 12


def cases():
    return sorted(p.name for p in CASES.glob("case-*")) or ["missing"]


@pytest.fixture(scope="module")
def spark():
    # The session's environment is this module's only: later modules build
    # their jobs' environments from os.environ (test_jdbc adds its driver jar).
    saved = dict(os.environ)
    os.environ.update(spark_env())
    from pyspark.sql import SparkSession

    session = SparkSession.builder.appName("frames-property").getOrCreate()
    yield session
    session.stop()
    os.environ.clear()
    os.environ.update(saved)


def value(rng, ty):
    """A random value of a Hive type, or None one time in five."""
    if rng.random() < 0.2:
        return None
    if ty in ("int", "bigint"):
        return rng.randint(-3, 3)
    if ty == "double":
        return rng.choice([0.5, -1.25, 2.0, 3.75])
    if ty == "string":
        return rng.choice(["a", "B", "12", "x y", "ü"])
    if ty == "boolean":
        return rng.random() < 0.5
    if ty == "date":
        return datetime.date(2024, 1, 1) + datetime.timedelta(days=rng.randint(0, 9))
    if ty.startswith("decimal"):
        return decimal.Decimal(rng.randint(-999, 999)) / 100
    raise AssertionError(f"no synthetic values for {ty}")


def ddl(columns):
    return ", ".join(
        "`" + name.replace("`", "``") + "` " + ty for name, ty in columns.items()
    )


def hive(ty):
    return ty.replace(" ", "").lower()


@pytest.mark.parametrize("case", cases())
def test_frame_schemas_match_spark(spark, tmp_path, case):
    if case == "missing":
        pytest.fail(
            f"no cases in {CASES}: run `cargo test --test frames` first",
            pytrace=False,
        )
    d = CASES / case
    expected = json.loads((d / "expected.json").read_text())
    rng = random.Random(expected["seed"])
    argv = [str(d / "scripts" / "s.py"), "--JOB_NAME", "s"]
    for table, columns in expected["inputs"].items():
        rows = [tuple(value(rng, ty) for ty in columns.values()) for _ in range(ROWS)]
        path = tmp_path / table
        spark.createDataFrame(rows, schema=ddl(columns)).write.parquet(str(path))
        argv += [f"--pipec_input_{table}", str(path)]
    argv += ["--pipec_output_t_out", str(tmp_path / "t_out")]
    saved = sys.argv, sys.path[:]
    sys.argv = argv
    # The script imports its pipeline's runtime from beside itself, as
    # `python s.py` would; each case has its own runtime, so none is reused.
    sys.path.insert(0, str(d / "scripts"))
    sys.modules.pop("pipec_runtime", None)
    try:
        script_globals = runpy.run_path(argv[0], run_name="__main__")
    finally:
        sys.argv, sys.path[:] = saved[0], saved[1]
        sys.modules.pop("pipec_runtime", None)
    steps = ", ".join(expected["steps"])
    for frame, columns in expected["frames"].items():
        df = script_globals.get(frame)
        assert df is not None, f"{case}: no variable for frame {frame}"
        actual = [[f.name, hive(f.dataType.simpleString())] for f in df.schema.fields]
        want = [[name, hive(ty)] for name, ty in columns]
        assert actual == want, f"{case} ({steps}): frame {frame}"
    assert list((tmp_path / "t_out").glob("*.parquet")), f"{case}: nothing written"


def test_case_scripts_pass_ruff():
    """The generated scripts of the random cases are as clean as the examples'."""
    files = sorted(str(p) for p in CASES.glob("case-*/scripts/s.py"))
    assert len(files) >= 20, f"no cases in {CASES}: run `cargo test --test frames`"
    for argv in (
        [
            "check",
            "--no-cache",
            "--select",
            "E,F,W,I,B,UP",
            "--target-version",
            "py311",
        ],
        ["format", "--no-cache", "--check"],
    ):
        proc = subprocess.run(
            [RUFF, *argv, *files], check=False, capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
