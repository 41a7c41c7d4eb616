"""`pipec run --local` on the etl example, end to end in one driver: a small
Online Retail CSV given with --input goes through extract (copied instead
of downloaded), clean and repartition, and both written tables are compared
row for row with DuckDB's own computation from the CSV."""

import duckdb
import pytest
from conftest import ROOT, assert_same_rows
from run_local import run_local

CSV = """\
Invoice No,Stock Code,Description,Quantity,Invoice Date,Unit Price,Customer ID,Country
536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom
536365,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,17850,United Kingdom
536365,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,17850,United Kingdom
536367,84879,ASSORTED COLOUR BIRD ORNAMENT,32,12/1/2010 8:34,1.69,13047,United Kingdom
536370,22728,ALARM CLOCK BAKELIKE PINK,24,12/1/2010 8:45,3.75,12583,France
536370,22727,ALARM CLOCK BAKELIKE RED,24,12/1/2010 8:45,3.75,12583,France
536389,22941,CHRISTMAS LIGHTS 10 REINDEER,6,12/1/2010 10:03,8.50,12431,Australia
C536391,21980,PACK OF 12 RED RETROSPOT TISSUES,-24,12/1/2010 10:24,0.29,17548,United Kingdom
536392,22150,BAD QUANTITY,x,12/1/2010 10:29,1.00,,Germany
536393,22151,NO CUSTOMER,2,12/1/2010 10:30,1.25,,Germany
"""

# The clean stage, computed independently: the same casts (a value that
# does not convert is null), the filter and the distinct rows.
CLEAN = """
SELECT DISTINCT
    "Invoice No" AS invoice_no,
    "Stock Code" AS stock_code,
    "Description" AS description,
    TRY_CAST("Quantity" AS INTEGER) AS quantity,
    TRY_STRPTIME("Invoice Date", '%m/%d/%Y %H:%M') AS invoice_date,
    TRY_CAST("Unit Price" AS DECIMAL(10,2)) AS unit_price,
    TRY_CAST("Customer ID" AS BIGINT) AS customer_id,
    "Country" AS country
FROM read_csv(?, header = true, all_varchar = true)
WHERE "Invoice No" IS NOT NULL AND TRY_CAST("Quantity" AS INTEGER) IS NOT NULL
"""

COLUMNS = [
    "invoice_no",
    "stock_code",
    "description",
    "quantity",
    "invoice_date",
    "unit_price",
    "customer_id",
    "country",
]


@pytest.fixture(scope="module")
def etl_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("etl")
    sample = tmp / "online_retail.csv"
    sample.write_text(CSV)
    local = tmp / "local"
    proc = run_local(
        ROOT / "pipelines" / "etl.yaml", local, "--input", f"orders_raw={sample}"
    )
    return proc, sample, local / "etl"


def parquet(path, hive=False):
    return duckdb.execute(
        "SELECT * FROM read_parquet(?, hive_partitioning = ?)",
        [str(path / "**" / "*.parquet"), hive],
    ).df()


def test_every_node_succeeds_and_the_summary_counts_rows(etl_run):
    proc, _, _ = etl_run
    for node in ["extract", "clean", "repartition", "raw", "silver", "gold"]:
        assert any(
            line.split()[1:3] == [node, "succeeded"]
            for line in proc.stdout.splitlines()
        ), node
    assert "read    orders_raw: 10 rows" in proc.stdout
    assert "wrote   orders_clean: 8 rows" in proc.stdout
    assert "wrote   orders_by_country: 8 rows" in proc.stdout
    assert "instead of downloading" in proc.stdout
    # Spark stays quiet: no INFO log lines and no progress bars on the terminal.
    assert " INFO " not in proc.stderr and "[Stage " not in proc.stderr


def test_silver_matches_an_independent_computation(etl_run):
    _, sample, out = etl_run
    want = duckdb.execute(CLEAN, [str(sample)]).df()
    got = parquet(out / "silver" / "orders")
    assert_same_rows(got, want, COLUMNS, "orders_clean")


def test_gold_matches_an_independent_computation(etl_run):
    _, sample, out = etl_run
    want = duckdb.execute(
        f"SELECT *, CAST(quantity * unit_price AS DECIMAL(18,2)) AS amount FROM ({CLEAN})",
        [str(sample)],
    ).df()
    got = parquet(out / "gold" / "orders_by_country", hive=True)
    assert sorted(
        p.name for p in (out / "gold" / "orders_by_country").iterdir() if p.is_dir()
    ) == [
        "country=Australia",
        "country=France",
        "country=Germany",
        "country=United Kingdom",
    ]
    assert_same_rows(got, want, [*COLUMNS, "amount"], "orders_by_country")
