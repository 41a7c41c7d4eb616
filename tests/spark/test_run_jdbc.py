"""`pipec run --local --jdbc` against a real PostgreSQL (the server of
test_jdbc.py): `load` writes public.items through connection `db`, and
`report` reads it back over JDBC into Parquet. The credentials come from
$PIPEC_JDBC_USER and $PIPEC_JDBC_PASSWORD, never from AWS. Both tables are
compared row for row with the input CSV."""

from decimal import Decimal

import duckdb
from conftest import ROOT
from run_local import run_local
from test_jdbc import JAR, PASSWORD, USER, postgres  # noqa: F401 - the fixture

CSV = "id,price\na,1.50\nb,2.00\nc,3.25\n"
WANT = [("a", Decimal("1.50")), ("b", Decimal("2.00")), ("c", Decimal("3.25"))]


def test_jdbc_tables_go_to_the_given_database(postgres, tmp_path, monkeypatch):  # noqa: F811
    sample = tmp_path / "items.csv"
    sample.write_text(CSV)
    monkeypatch.setenv("PIPEC_JDBC_USER", USER)
    monkeypatch.setenv("PIPEC_JDBC_PASSWORD", PASSWORD)
    proc = run_local(
        ROOT / "tests" / "run" / "jdbc.yaml",
        tmp_path / "local",
        "--input",
        f"items_raw={sample}",
        "--jdbc",
        f"db={postgres.url}",
        extra_submit=f"--jars {JAR}",
    )
    assert "wrote   items: 3 rows" in proc.stdout
    assert "read    items: 3 rows" in proc.stdout
    got = postgres.psql("SELECT id, price FROM public.items ORDER BY id")
    assert [(r["id"], Decimal(r["price"])) for r in got] == WANT
    report = duckdb.execute(
        "SELECT id, price FROM read_parquet(?) ORDER BY id",
        [str(tmp_path / "local" / "runjdbc" / "gold" / "report" / "*.parquet")],
    ).fetchall()
    assert report == WANT


def test_without_jdbc_the_tables_are_parquet_stand_ins(tmp_path):
    """No --jdbc: `load` writes public.items as Parquet under
    jdbc/db/public.items, and `report` reads it back from there."""
    sample = tmp_path / "items.csv"
    sample.write_text(CSV)
    local = tmp_path / "local"
    proc = run_local(
        ROOT / "tests" / "run" / "jdbc.yaml", local, "--input", f"items_raw={sample}"
    )
    assert "wrote   items: 3 rows" in proc.stdout
    assert "read    items: 3 rows" in proc.stdout
    standin = local / "runjdbc" / "jdbc" / "db" / "public.items"
    for verb, prep in [("wrote", "as"), ("read", "from")]:
        note = (
            f"stage {'load' if verb == 'wrote' else 'report'}: {verb} JDBC table "
            f"public.items (items) {prep} a Parquet stand-in at {standin}"
        )
        assert note in proc.stdout, note
    for folder in [standin, local / "runjdbc" / "gold" / "report"]:
        got = duckdb.execute(
            "SELECT id, price FROM read_parquet(?) ORDER BY id",
            [str(folder / "*.parquet")],
        ).fetchall()
        assert got == WANT, folder


def test_reading_a_stand_in_no_stage_wrote_fails_clearly(tmp_path):
    """`--only report` without --jdbc: nothing wrote public.items's
    stand-in, so the stage fails and says why."""
    proc = run_local(
        ROOT / "tests" / "run" / "jdbc.yaml",
        tmp_path / "local",
        "--only",
        "report",
        ok=False,
    )
    assert proc.returncode == 1
    assert "JDBC table public.items of connection db: no stand-in" in (
        proc.stdout + proc.stderr
    )
