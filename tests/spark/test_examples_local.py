"""`pipec run --local` on every example pipeline, from its bundled samples
only (no --input, no --jdbc), against tests/spark/expected.py.

Each example runs once, through the binary, into a temporary --local-dir.
Every table a stage writes is then read back, zone tables at
`<root>/<pipeline>/<zone>/<path>` and JDBC tables from their Parquet
stand-ins at `<root>/<pipeline>/jdbc/<connection>/<jdbc_table>`, and
compared row for row with the table expected.py computes from the samples
without Spark or pipec. The run must exit 0, its summary must note each
stand-in, and it must count the values the casts made null as expected.py
counts them.
"""

import re
import time

import pytest
from conftest import ROOT
from expected import EXPECTED, columns, declared_samples, pipeline
from run_local import run_local
from test_samples import same

STEMS = sorted(EXPECTED)


@pytest.fixture(scope="module")
def spark():
    """One local SparkSession in UTC that reads the runs' tables back."""
    import os
    import sys

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
        SparkSession.builder.master("local[1]")
        .appName("examples-local")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    yield session
    session.stop()


def stored_at(root, stem, table):
    """Where a local run keeps a table: its zone folder, or for a JDBC table
    its Parquet stand-in (LocalLayout in src/run/layout.rs)."""
    p = pipeline(stem)
    t = p["schemas"][table]
    base = root / p["pipeline"]
    if "connection" in t:
        return base / "jdbc" / t["connection"] / t.get("jdbc_table", table)
    return base / t["zone"] / (t.get("path") or table).strip("/")


def read_back(spark, root, stem, table):
    """A written table with its declared types, as pandas."""
    from pyspark.sql import functions as F

    cols = columns(stem, table)
    df = spark.read.parquet(str(stored_at(root, stem, table)))
    df = df.select([F.col(f"`{c}`").cast(t).alias(c) for c, t in cols.items()])
    return df.toPandas().astype(object)


@pytest.mark.parametrize("stem", STEMS)
def test_every_example_runs_locally_on_its_samples_as_computed(spark, tmp_path, stem):
    assert declared_samples(stem), f"{stem}.yaml declares no samples"
    proc = run_local(ROOT / "pipelines" / f"{stem}.yaml", tmp_path)
    assert proc.returncode == 0
    p = pipeline(stem)
    expected = EXPECTED[stem]()
    checked = []
    for name, stage in p["stages"].items():
        for o in stage.get("outputs", []):
            table = o["table"]
            what = f"{stem}.{name} -> {table}"
            assert table in expected, f"expected.py does not compute {what}"
            cols = list(columns(stem, table))
            same(read_back(spark, tmp_path, stem, table), expected[table], cols, what)
            checked.append(table)
            t = p["schemas"][table]
            if "connection" in t:
                note = (
                    f"stage {name}: wrote JDBC table {t.get('jdbc_table', table)} "
                    f"({table}) as a Parquet stand-in"
                )
                assert note in proc.stdout + proc.stderr, note
    assert checked, stem
    # The summary counts the values casts made null, as expected.py does.
    losses = {}
    EXPECTED[stem](losses=losses)
    assert losses, f"{stem}'s samples hold no value that a cast turns into null"
    counted = {}
    for m in re.finditer(
        r"^ +casts +[^.\n]+\.(.+): (\d+) value\(s\) became null$",
        proc.stdout,
        re.MULTILINE,
    ):
        counted[m[1]] = counted.get(m[1], 0) + int(m[2])
    assert counted == losses, proc.stdout
