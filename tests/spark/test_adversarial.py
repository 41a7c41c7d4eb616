"""Adversarial names and literals: the script compiles, and treats them as data.

The `adversarial` fixture names columns, frames and literals with quotes,
backslashes, backticks, dots, tabs, U+00B7, non-ASCII text, Python keywords
and code-like text. Its script runs here through the AWS Glue branch (a
stand-in `awsglue` package records GlueContext, Job.init, the Data Quality
ruleset and Job.commit), and its output is compared row for row with pandas.
"""

import ast
import json
import os

import pandas as pd
import pyarrow.parquet as pq
from conftest import HERE, assert_same_rows, run_job, script, spark_env

IN_COLUMNS = [
    "Invoice No",
    'it\'s "quoted"',
    "back\\slash",
    "tick`name",
    "dotted.name",
    "Größe 日本",
    "class",
    "None",
    "__import__('os').system('echo pwned')",
    "tab\there",
    '"""; raise SystemExit #',
    "x\u00b7y",
]
OUT_COLUMNS = [
    "Invoice No",
    'it\'s "quoted"',
    "back\\slash",
    "renamed `tick`",
    "dotted.name",
    "Größe 日本",
    "class",
    "None",
    "__import__('os').system('echo pwned')",
    "tab\there",
    '"""; raise SystemExit #',
    "x\u00b7y",
    "derived \"col\" \\ 'x'",
    'label "x"',
    "p'\"_Größe 日本",
    "row number",
]
N = None
ROWS = [
    ["INV-1", N, 3, "a|.b|.c", "d.1", 1.5, "import", "n1", "p1", "t1", "q1", "u1"],
    ["INV-2", 'say "hi"', 7, "z", "d.2", 2.5, "def", "n2", "p2", "t2", "q2", "u2"],
    [N, "gone", 1, "m|.n", "d.3", 3.5, "def", "n3", "p3", "t3", "q3", "u3"],
    ["INV-4", "x", N, "k|.", "d.4", N, "lambda", "n4", "p4", "t4", "q4", "u4"],
]
LOOKUP = [
    {"class": "import", 'label "x"': "L1", "Größe 日本": 10.0},
    {"class": "def", 'label "x"': "L2", "Größe 日本": 20.0},
]
FILL = "line1\nline2 '\"\\"


def test_the_script_parses_and_keeps_names_as_string_literals():
    path = script("adversarial", "weird-stage")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    strings = {
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }
    for name in IN_COLUMNS + OUT_COLUMNS + [FILL]:
        assert name in strings, name
    # Nothing user-named became code: the only calls are PySpark's and the script's.
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert "__import__" not in names and "SystemExit" not in names


def test_weird_names_are_data(tmp_path):
    src = tmp_path / "weird_in"
    src.mkdir()
    with open(src / "part.csv", "w", encoding="utf-8") as f:
        f.write(";".join(f"h{i}" for i in range(len(IN_COLUMNS))) + "\n")
        for row in ROWS:
            f.write(";".join("<null>" if v is None else str(v) for v in row) + "\n")
    lookup = tmp_path / "weird_lookup"
    lookup.mkdir()
    with open(lookup / "part.json", "w", encoding="utf-8") as f:
        for row in LOOKUP:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    log = tmp_path / "glue.log"
    env = spark_env(
        {
            "PYTHONPATH": str(HERE / "stubs"),
            "PIPEC_GLUE_LOG": str(log),
        }
    )
    out, parts = tmp_path / "weird_out", tmp_path / "weird_parts"
    run_job(
        script("adversarial", "weird-stage"),
        {
            "JOB_NAME": "weird-stage",
            "pipec_input_weird_in": src,
            "pipec_input_weird_lookup": lookup,
            "pipec_output_weird_out": out,
            "pipec_output_weird_parts": parts,
        },
        env=env,
    )

    # The Glue branch ran: context, job, Data Quality with the table's rules, commit.
    events = [json.loads(line) for line in log.read_text().splitlines()]
    kinds = [name for name, _ in events]
    assert kinds[:3] == ["getResolvedOptions", "GlueContext", "Job.init"]
    assert events[2][1]["name"] == "weird-stage"
    dq = [d for name, d in events if name == "EvaluateDataQuality.apply"]
    assert [
        (d["ruleset"], d["publishing_options"]["dataQualityEvaluationContext"])
        for d in dq
    ] == [
        (
            'Rules = [\n    IsComplete "Invoice No",\n'
            '    ColumnValues "class" in ["import", "def", "lambda"]\n]',
            "weird_out",
        )
    ]
    assert kinds[-1] == "Job.commit"

    # Expected, computed with pandas.
    df = pd.DataFrame(ROWS, columns=IN_COLUMNS).astype(object)
    df = df[df["Invoice No"].notna()].copy()
    df = df.rename(columns={"tick`name": "renamed `tick`"})
    df["derived \"col\" \\ 'x'"] = df["Invoice No"] + "\\" + '"' + "\n"
    df['it\'s "quoted"'] = df['it\'s "quoted"'].where(
        df['it\'s "quoted"'].notna(), FILL
    )
    df["back\\slash"] = df["back\\slash"].where(df["back\\slash"].notna(), -1)
    lk = pd.DataFrame(LOOKUP).rename(columns={"Größe 日本": "p'\"_Größe 日本"})
    df = df.merge(lk, on="class", how="left")
    df = df.sort_values(["back\\slash", "Invoice No"], ascending=[False, True])
    df["row number"] = range(1, len(df) + 1)

    table = pq.read_table(out)
    assert table.column_names == OUT_COLUMNS
    assert_same_rows(table.to_pandas(), df, OUT_COLUMNS, "weird_out")

    expected_parts = pd.DataFrame(
        [(row[0], piece) for row in ROWS for piece in str(row[3]).split("|.")],
        columns=["Invoice No", 'part "of" it'],
    )
    files = [f for f in sorted(parts.glob("part-*.json")) if f.stat().st_size]
    written = pd.concat([pd.read_json(f, lines=True, dtype=False) for f in files])
    assert_same_rows(
        written, expected_parts, list(expected_parts.columns), "weird_parts"
    )
    assert os.path.getsize(log) > 0
