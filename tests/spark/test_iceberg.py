"""Iceberg tables on local PySpark 3.5 with the Iceberg runtime jar.

The generated scripts of tests/spark/fixtures/iceberg_modes.yaml and
pipelines/orders.yaml run in one SparkSession for the whole module (as a
local run's driver runs them), against a Hadoop catalog named like the Glue
one. Batches go through append, overwrite (by partition) and merge (updates,
inserts, deletes, duplicate keys with latest_by and with error). After each
batch the table is read by pyiceberg from its own metadata, independently of
Spark, and compared row for row with a pandas replay of the batches.
"""

import datetime as dt
import runpy
import sys

import pandas as pd
import pytest

from conftest import ICEBERG_JARS, ROOT, assert_same_rows, script

pytest.importorskip("pyiceberg")
pytest.importorskip("snowpark_connect_deps_iceberg")

COLUMNS = ["id", "day", "status", "amount"]


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("pipec-iceberg-tests")
        .config("spark.jars", ",".join(ICEBERG_JARS))
        .config(
            "spark.sql.extensions",
            "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions",
        )
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    yield session
    session.stop()


class Pipeline:
    """Runs a pipeline's generated scripts in the module's session."""

    def __init__(self, spark, name, root):
        self.spark = spark
        self.name = name
        self.root = root
        self.warehouse = root / "warehouse"
        folder = str(script(name, next(iter(self.stages()))).parent)
        # Each pipeline has its own runtime module; load this one's.
        sys.modules.pop("pipec_runtime", None)
        sys.path.insert(0, folder)
        import pipec_runtime

        sys.path.remove(folder)
        self.runtime = pipec_runtime

    def stages(self):
        return {
            "iceberg_modes": ["append", "overwrite", "merge_latest", "merge_strict"],
            "orders": ["upsert"],
        }[self.name]

    def run(self, stage, argv):
        rt = self.runtime
        rt.LOCAL.spark = self.spark.newSession()
        # Table optimizers are Glue's: a local run passes a placeholder role.
        rt.LOCAL.argv = ["--JOB_NAME", stage, *argv, "--pipec_optimizer_role", "local"]
        rt.LOCAL.iceberg_warehouse = str(self.warehouse)
        sys.modules["pipec_runtime"] = rt
        try:
            runpy.run_path(str(script(self.name, stage)), run_name="__main__")
        finally:
            rt.LOCAL.argv = rt.LOCAL.spark = rt.LOCAL.iceberg_warehouse = None

    def read(self, zone, table):
        """The table's current snapshot, read by pyiceberg alone."""
        from pyiceberg.table import StaticTable

        meta = self.warehouse / zone / table / "metadata"
        version = (meta / "version-hint.text").read_text().strip()
        t = StaticTable.from_metadata(str(meta / f"v{version}.metadata.json"))
        return t.scan().to_arrow().to_pandas()


def write_batch(folder, rows):
    folder.mkdir(parents=True)
    lines = ["id,day,status,amount,seq,gone"]
    for r in rows:
        lines.append(
            ",".join(
                "" if v is None else str(v).lower() if isinstance(v, bool) else str(v)
                for v in r
            )
        )
    (folder / "part.csv").write_text("\n".join(lines) + "\n")
    frame = pd.DataFrame(rows, columns=["id", "day", "status", "amount", "seq", "gone"])
    frame["day"] = frame["day"].map(dt.date.fromisoformat)
    return frame


# Three days of changes: updates, inserts, a delete, duplicate keys (batch 2
# has two rows for id 1) and a late correction of day 1 in batch 3.
BATCHES = [
    [
        (1, "2026-03-01", "placed", 10.0, 1, False),
        (2, "2026-03-01", "placed", 20.0, 1, False),
        (3, "2026-03-02", "placed", 30.0, 1, False),
    ],
    [
        (1, "2026-03-01", "paid", 10.0, 2, False),
        (1, "2026-03-01", "shipped", 10.0, 3, False),
        (3, "2026-03-02", "cancelled", 30.0, 2, True),
        (4, "2026-03-02", "placed", 40.0, 1, False),
        (5, "2026-03-02", "placed", 50.0, 1, True),
    ],
    [
        (2, "2026-03-01", "refunded", 15.5, 2, False),
        (6, "2026-03-03", "placed", 60.0, 1, False),
    ],
]


def replay_merge(state, batch):
    """The merge with latest_by seq and delete_when gone, in pandas terms."""
    latest = batch.sort_values("seq").groupby("id").tail(1)
    for r in latest.itertuples(index=False):
        if r.gone:
            state.pop(r.id, None)
        else:
            state[r.id] = (r.id, r.day, r.status, r.amount)
    return pd.DataFrame(list(state.values()), columns=COLUMNS)


def test_append_overwrite_and_merge_batches(spark, tmp_path):
    p = Pipeline(spark, "iceberg_modes", tmp_path)
    appended = None
    overwritten = None
    merged = {}
    for n, rows in enumerate(BATCHES, 1):
        batch = write_batch(tmp_path / f"batch{n}", rows)
        src = ["--pipec_input_batch", str(tmp_path / f"batch{n}")]

        p.run("append", [*src, "--pipec_output_appended", "unused"])
        appended = pd.concat([appended, batch[COLUMNS]]) if n > 1 else batch[COLUMNS]
        assert_same_rows(
            p.read("gold", "appended"), appended, COLUMNS, f"append, batch {n}"
        )

        p.run("overwrite", [*src, "--pipec_output_overwritten", "unused"])
        if overwritten is None:
            overwritten = batch[COLUMNS]
        else:
            kept = overwritten[~overwritten["day"].isin(set(batch["day"]))]
            overwritten = pd.concat([kept, batch[COLUMNS]])
        assert_same_rows(
            p.read("gold", "overwritten"), overwritten, COLUMNS, f"overwrite, batch {n}"
        )

        p.run("merge_latest", [*src, "--pipec_output_latest", "unused"])
        expected = replay_merge(merged, batch)
        actual = p.read("gold", "latest")
        assert_same_rows(actual, expected, COLUMNS, f"merge latest_by, batch {n}")
        assert actual["id"].is_unique, f"batch {n}: duplicate keys after a merge"


def test_merge_refuses_duplicate_keys_and_writes_nothing(spark, tmp_path):
    p = Pipeline(spark, "iceberg_modes", tmp_path)

    def strict(batch):
        p.run(
            "merge_strict",
            [
                "--pipec_input_batch",
                str(tmp_path / batch),
                "--pipec_output_strict",
                "x",
            ],
        )

    first = write_batch(tmp_path / "b1", BATCHES[0])
    strict("b1")
    assert_same_rows(
        p.read("gold", "strict"), first[COLUMNS], COLUMNS, "strict, batch 1"
    )
    # The message names the duplicate key; a null key is refused the same way.
    write_batch(tmp_path / "b2", BATCHES[1])
    duplicate = (
        r"several source rows share a key, for example \(1\);.*nothing was written"
    )
    with pytest.raises(RuntimeError, match=duplicate):
        strict("b2")
    assert_same_rows(
        p.read("gold", "strict"), first[COLUMNS], COLUMNS, "strict, unchanged"
    )
    write_batch(tmp_path / "b3", [(None, "2026-03-04", "placed", 1.0, 1, False)])
    with pytest.raises(RuntimeError, match="a source row has a null key"):
        strict("b3")
    assert_same_rows(
        p.read("gold", "strict"), first[COLUMNS], COLUMNS, "strict, still unchanged"
    )


def test_added_column_keeps_old_rows_and_breaking_change_is_refused(spark, tmp_path):
    p = Pipeline(spark, "iceberg_modes", tmp_path)
    rt = p.runtime
    rt.LOCAL.iceberg_warehouse = str(p.warehouse)
    session = spark.newSession()
    spec = {
        "table": "evolving",
        "database": "icemodes",
        "zone": "gold",
        "columns": {"id": "bigint", "status": "string"},
        "partition": [["bucket", "id", 4]],
        "properties": {"format-version": "2"},
    }
    old = session.createDataFrame([(1, "a"), (2, "b")], "id bigint, status string")
    rt.write_iceberg(session, old, spec, "unused", mode="append")
    wider = dict(spec, columns={"id": "bigint", "status": "string", "note": "string"})
    new = session.createDataFrame(
        [(3, "c", "late")], "id bigint, status string, note string"
    )
    rt.write_iceberg(session, new, wider, "unused", mode="append")
    expected = pd.DataFrame(
        [(1, "a", None), (2, "b", None), (3, "c", "late")],
        columns=["id", "status", "note"],
    )
    assert_same_rows(
        p.read("gold", "evolving"), expected, ["id", "status", "note"], "evolved"
    )

    for breaking, words in [
        (dict(spec, columns={"id": "bigint", "note": "string"}), "is not declared"),
        (
            dict(wider, columns={"id": "int", "status": "string", "note": "string"}),
            "bigint in the table",
        ),
        (dict(wider, partition=[["identity", "status", None]]), "partition spec"),
    ]:
        with pytest.raises(RuntimeError, match=words):
            rt.iceberg_table(session, breaking, "unused")
    assert_same_rows(
        p.read("gold", "evolving"), expected, ["id", "status", "note"], "unchanged"
    )
    rt.LOCAL.iceberg_warehouse = None


def test_orders_example_upserts_daily_corrections(spark, tmp_path):
    p = Pipeline(spark, "orders", tmp_path)
    sample = ROOT / "pipelines" / "samples" / "orders" / "status_changes.csv"
    days = tmp_path / "day1"
    days.mkdir()
    (days / "part.csv").write_text(sample.read_text())
    p.run(
        "upsert",
        ["--pipec_input_status_changes", str(days), "--pipec_output_orders", "x"],
    )
    source = pd.read_csv(sample)
    latest = source.sort_values("changed_at").groupby("order_id").tail(1)
    keep = latest[~(latest["test_order"] & (latest["status"] == "cancelled"))]
    cols = ["order_id", "status", "amount"]
    actual = p.read("gold", "orders")
    actual["amount"] = actual["amount"].astype(float)
    assert_same_rows(actual, keep, cols, "orders after day 1")
