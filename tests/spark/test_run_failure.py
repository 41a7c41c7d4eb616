"""The failure path of `pipec run --local` (tests/run/failure.yaml): a
negative price breaks `load`'s `fail` quality rule, so `load` fails, nothing
of it is written, the on-failure trigger runs `reject`, and `audit` ran at
the same time as `load`. Exit 1 with the first error and its traceback."""

import duckdb
import pytest
from conftest import ROOT
from run_local import run_local

CSV = "id,price\na,1.50\nb,-2.00\nc,3.25\n"


@pytest.fixture(scope="module")
def failed_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("failure")
    sample = tmp / "items.csv"
    sample.write_text(CSV)
    proc = run_local(
        ROOT / "tests" / "run" / "failure.yaml",
        tmp / "local",
        "--input",
        f"items_raw={sample}",
        "--jobs",
        "2",
        ok=False,
    )
    return proc, tmp / "local" / "runfail"


def states(proc):
    return {
        line.split()[1]: line.split()[2]
        for line in proc.stdout.split("summary", 1)[1].splitlines()
        if line.startswith("  stage")
    }


def test_the_failed_rule_fails_the_stage_and_the_failure_branch_runs(failed_run):
    proc, out = failed_run
    assert proc.returncode == 1
    assert states(proc) == {
        "load": "failed",
        "audit": "succeeded",
        "reject": "succeeded",
    }
    assert 'quality items: ColumnValues "price" >= 0 FAILED' in proc.stdout
    assert (
        "error: stage load failed: RuntimeError: data quality of items" in proc.stdout
    )
    assert "raise RuntimeError" in proc.stdout  # the traceback's tail
    assert not (out / "silver" / "items").exists()
    rejected = duckdb.execute(
        "SELECT id, price FROM read_parquet(?) ORDER BY id",
        [str(out / "silver" / "rejected" / "*.parquet")],
    ).fetchall()
    assert rejected == [("a", "1.50"), ("b", "-2.00"), ("c", "3.25")]


def test_independent_branches_run_at_the_same_time(failed_run):
    proc, _ = failed_run
    live = [
        line.split()[1:3]
        for line in proc.stderr.splitlines()
        if line.startswith("  stage")
    ]
    first_end = next(i for i, l in enumerate(live) if l[1] in ("succeeded", "failed"))
    assert ["load", "running"] in live[:first_end]
    assert ["audit", "running"] in live[:first_end]
