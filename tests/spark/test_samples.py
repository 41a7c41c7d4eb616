"""Every example pipeline on its own sample files, against expected.py.

Each example's Spark stages run in workflow order, inside this one Python
process on one local SparkSession (one JVM start for the module), as a local
run lays the data out: each table at `<zone>/<path>` under a temporary root,
and each table's declared `samples:` copied there as the first run's input
(the etl example's download stage is left out: its sample stands in for the
download). Every table a stage writes is read back and compared row for row
with tests/spark/expected.py, which computes it from the samples without
Spark or pipec.

A second test is the failure path: the etl export's "Adjust bad debt"
lines (tests/spark/fixtures/samples/) break a `fail` quality rule, and the
clean stage stops before writing anything.

The JDBC load stages (survey's and trips' `load`) are not run here: their
outputs are the tables they copy, which are compared, and
tests/spark/test_jdbc.py runs JDBC writes against a real PostgreSQL.
"""

import contextlib
import io
import os
import re
import runpy
import shutil
import sys
import time
from decimal import Decimal

import pandas as pd
import pytest
from conftest import HERE, assert_same_rows, script
from expected import EXPECTED, columns, declared_samples, pipeline

# Stages in workflow order, with the stages a local run on samples leaves out.
ORDER = {
    "etl": ["clean", "repartition"],
    "leads": ["enrich"],
    "survey": ["structure", "normalize"],
    "trips": ["stage", "aggregate"],
}
NOT_RUN = {"etl": ["extract"], "survey": ["load"], "trips": ["load"]}


@pytest.fixture(scope="module")
def spark():
    """One local SparkSession for the module, in UTC."""
    os.environ.update(
        {
            "SPARK_LOCAL_IP": "127.0.0.1",
            "PYSPARK_PYTHON": sys.executable,
            "JDK_JAVA_OPTIONS": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC "
            "-Duser.timezone=UTC",
            "TZ": "UTC",
        }
    )
    time.tzset()
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("samples")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    yield session
    session.stop()


def location(root, stem, table):
    """A zone table's local location: `<root>/<zone>/<path>`, as LocalLayout."""
    t = pipeline(stem)["schemas"][table]
    return root / t["zone"] / (t.get("path") or table).strip("/")


def run_stage(stem, stage, root):
    """Runs a generated stage script in this process with its tables' locations."""
    path = script(stem, stage)
    s = pipeline(stem)["stages"][stage]
    argv = [str(path), "--JOB_NAME", stage]
    for i in s.get("inputs", []):
        name = i if isinstance(i, str) else i["table"]
        argv += [f"--pipec_input_{name}", str(location(root, stem, name))]
    for o in s.get("outputs", []):
        argv += [f"--pipec_output_{o['table']}", str(location(root, stem, o["table"]))]
    saved = sys.argv
    sys.argv = argv
    # Each pipeline has its own shared runtime beside its scripts.
    sys.path.insert(0, str(path.parent))
    sys.modules.pop("pipec_runtime", None)
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            runpy.run_path(str(path), run_name="__main__")
    finally:
        sys.argv = saved
        sys.path.remove(str(path.parent))
        sys.modules.pop("pipec_runtime", None)
        print(out.getvalue())
    return out.getvalue()


def canon(value):
    """One comparable form for Spark's and expected.py's values."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def written(spark, root, stem, table):
    """A written table read back with its declared types, as pandas."""
    from pyspark.sql import functions as F

    cols = columns(stem, table)
    df = spark.read.parquet(str(location(root, stem, table)))
    df = df.select([F.col(f"`{c}`").cast(t).alias(c) for c, t in cols.items()])
    return df.toPandas().astype(object)


def same(actual, expected, cols, what):
    a = actual.map(canon) if hasattr(actual, "map") else actual.applymap(canon)
    e = expected.map(canon) if hasattr(expected, "map") else expected.applymap(canon)
    assert_same_rows(a, e, cols, what)


@pytest.mark.parametrize("stem", sorted(ORDER))
def test_example_on_its_samples_matches_the_independent_computation(
    spark, tmp_path, stem
):
    samples = declared_samples(stem)
    assert samples, f"{stem}.yaml declares no samples"
    for table, files in samples.items():
        dest = location(tmp_path, stem, table)
        dest.mkdir(parents=True)
        for f in files:
            shutil.copy(f, dest / f.name)
    logs = {stage: run_stage(stem, stage, tmp_path) for stage in ORDER[stem]}
    # Every stage of the pipeline is either run or left out on purpose.
    assert sorted(ORDER[stem] + NOT_RUN.get(stem, [])) == sorted(
        pipeline(stem)["stages"]
    )
    expected = EXPECTED[stem]()
    p = pipeline(stem)
    checked = []
    for stage in ORDER[stem]:
        for o in p["stages"][stage]["outputs"]:
            table = o["table"]
            cols = list(columns(stem, table))
            same(
                written(spark, tmp_path, stem, table),
                expected[table],
                cols,
                f"{stem}.{table}",
            )
            checked.append(table)
    assert checked, stem
    # The samples exercise the casts: the first stage logs, per column, the
    # values its casts made null, as counted independently.
    losses = {}
    EXPECTED[stem](losses=losses)
    assert losses, f"{stem}'s samples hold no value that a cast turns into null"
    logged = {
        m[1]: int(m[2])
        for m in re.finditer(
            r"column '([^']+)': (\d+) value\(s\) did not convert", logs[ORDER[stem][0]]
        )
    }
    assert logged == losses, logs[ORDER[stem][0]]


BAD_DEBT = HERE / "fixtures" / "samples" / "online_retail_bad_debt.csv"


def test_a_negative_price_breaks_a_fail_rule_and_the_stage_writes_nothing(
    spark, tmp_path
):
    """The failure path of a local run: the export's "Adjust bad debt" lines
    have negative prices, which break `ColumnValues "unit_price" >= 0` of
    orders_clean (`on_failure: fail`), so clean fails before writing."""
    expected = EXPECTED["etl"](samples={"orders_raw": [BAD_DEBT]})
    prices = expected["orders_clean"]["unit_price"]
    assert any(p is not None and p < 0 for p in prices)
    dest = location(tmp_path, "etl", "orders_raw")
    dest.mkdir(parents=True)
    shutil.copy(BAD_DEBT, dest / BAD_DEBT.name)
    with pytest.raises(
        RuntimeError, match=r'rules failed: .*ColumnValues "unit_price"'
    ):
        run_stage("etl", "clean", tmp_path)
    assert not location(tmp_path, "etl", "orders_clean").exists()
