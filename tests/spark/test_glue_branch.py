"""The AWS Glue branch of every generated script of every example pipeline.

Each Spark stage of pipelines/*.yaml runs here with the stand-in `awsglue`
and `awsgluedq` packages of tests/spark/stubs (written from AWS's
documentation; see stubs/README.md), inside this one Python process on one
local SparkSession, so that the whole module costs one JVM start. Inputs are
a few synthetic rows per table, made from the table's declared columns and
written in its declared format. The checks:

- getResolvedOptions is asked for exactly the script's ARGUMENTS, with Glue's
  own arguments (--JOB_ID, --TempDir, --job-bookmark-option, ...) alongside,
  in both `--k v` and `--k=v` forms; a missing one stops the job before
  Job.init;
- GlueContext, Job.init(name, args) first and Job.commit() last;
- EvaluateDataQuality.apply gets each written table's rules as one DQDL
  ruleset (one list item, one rule) and the documented publishing options,
  and the script reads the Rule / Outcome / FailureReason columns: passing,
  failing under `fail` (nothing is written) and failing under `warn`;
- every output is written: files to its location, JDBC tables through the
  URL and the Secrets Manager credentials the arguments name (the JDBC write
  and Secrets Manager are recorded here, never contacted; tests/spark/test_jdbc.py
  runs JDBC for real).

The Python shell download stage runs through getResolvedOptions too, with
the optional URL given in either form.
"""

import ast
import contextlib
import io
import json
import os
import re
import runpy
import sys
import zipfile

import pytest
import yaml
from conftest import HERE, ROOT, script

STUBS = HERE / "stubs"
EXAMPLES = sorted((ROOT / "pipelines").glob("*.yaml"))
# Arguments Glue itself passes to every job run (AWS "Job parameters used by
# AWS Glue"); getResolvedOptions must tolerate them.
GLUE_OWN = [
    "--JOB_ID",
    "j_0123456789",
    "--JOB_RUN_ID",
    "jr_0123456789",
    "--job-bookmark-option",
    "job-bookmark-disable",
    "--TempDir",
    "s3://aws-glue-temporary-000000000000-us-east-1/tmp/",
    "--enable-metrics",
    "true",
    "--job-language",
    "python",
]
SECRET = {"username": "loader", "password": "p@ss w'rd;\"%"}


def examples():
    """(pipeline stem, stage name) of every generated stage of the examples."""
    out = []
    for f in EXAMPLES:
        p = yaml.safe_load(f.read_text(encoding="utf-8"))
        for name, stage in p["stages"].items():
            if not stage.get("script"):
                out.append((f.stem, name, stage.get("kind", "spark")))
    return out


SPARK_STAGES = [(p, s) for p, s, kind in examples() if kind == "spark"]
SHELL_STAGES = [(p, s) for p, s, kind in examples() if kind == "python-shell"]


def pipeline(stem):
    return yaml.safe_load((ROOT / "pipelines" / f"{stem}.yaml").read_text("utf-8"))


def script_arguments(path):
    """The ARGUMENTS constant of a generated script, read from its AST."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and [
            t.id for t in node.targets if isinstance(t, ast.Name)
        ] == ["ARGUMENTS"]:
            return ast.literal_eval(node.value)
    raise AssertionError(f"{path}: no ARGUMENTS")


@pytest.fixture(scope="module")
def glue():
    """One local SparkSession and the stand-in Glue packages, for this module."""
    os.environ.update(
        {
            "SPARK_LOCAL_IP": "127.0.0.1",
            "PYSPARK_PYTHON": sys.executable,
            "JDK_JAVA_OPTIONS": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC "
            "-Duser.timezone=UTC",
            "TZ": "UTC",
        }
    )
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("glue-branch")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    sys.path.insert(0, str(STUBS))
    import awsglue
    import awsgluedq.transforms

    yield spark, awsglue, awsgluedq.transforms
    sys.path.remove(str(STUBS))
    for name in list(sys.modules):
        if name.split(".")[0] in ("awsglue", "awsgluedq"):
            del sys.modules[name]
    spark.stop()


@pytest.fixture(autouse=True)
def cloudwatch(monkeypatch):
    """Records the CloudWatch metrics a script publishes instead of sending
    them; any other AWS client is an error here."""
    import boto3

    seen = []

    class CloudWatch:
        def put_metric_data(self, Namespace, MetricData):  # noqa: N803 - boto3's names
            seen.extend({"Namespace": Namespace} | d for d in MetricData)

    def client(service, *args, **kwargs):
        assert service == "cloudwatch", service
        return CloudWatch()

    monkeypatch.setattr(boto3, "client", client)
    return seen


@pytest.fixture
def jdbc(monkeypatch, cloudwatch):
    """Records JDBC writes and Secrets Manager look-ups instead of making them."""
    import boto3
    from pyspark.sql.readwriter import DataFrameWriter

    seen = {"writes": [], "secrets": []}
    metrics = boto3.client

    class Secrets:
        def get_secret_value(self, SecretId):  # noqa: N803 - boto3's name
            seen["secrets"].append(SecretId)
            return {"SecretString": json.dumps(SECRET)}

    def client(service, *args, **kwargs):
        if service == "cloudwatch":
            return metrics(service)
        assert service == "secretsmanager", service
        return Secrets()

    original = DataFrameWriter.save

    def save(self, path=None, format=None, mode=None, **options):  # noqa: A002
        if format != "jdbc":
            return original(self, path, format=format, mode=mode, **options)
        seen["writes"].append(
            {"mode": mode, "rows": self._df.count(), "columns": self._df.columns}
            | options
        )

    monkeypatch.setattr(boto3, "client", client)
    monkeypatch.setattr(DataFrameWriter, "save", save)
    return seen


def sample(name, ty, i):
    """Row i's value of a column, as text that casts to its type (raw text
    columns named like dates or times hold timestamps, to survive casts)."""
    lower = name.lower()
    if ty == "string" and any(w in lower for w in ("date", "time", "_at")):
        return f"2024-01-0{i} 12:34:56"
    if ty == "boolean":
        return "true" if i % 2 else "false"
    if ty == "date":
        return f"2024-01-0{i}"
    if ty == "timestamp":
        return f"2024-01-0{i} 12:34:56"
    if ty in ("float", "double") or ty.startswith("decimal"):
        return f"{i}.5"
    return str(i)


def write_input(spark, table, path):
    """Three synthetic rows of a table, in its format and CSV layout."""
    from pyspark.sql import functions as F

    columns = {
        n: (t if isinstance(t, str) else t["type"]) for n, t in table["columns"].items()
    }

    def q(n):
        return "`" + n.replace("`", "``") + "`"

    rows = [tuple(sample(n, t, i) for n, t in columns.items()) for i in (1, 2, 3)]
    df = spark.createDataFrame(rows, ", ".join(f"{q(n)} string" for n in columns))
    df = df.select(
        [
            (F.lit(None) if "<" in t else F.col(q(n))).cast(t).alias(n)
            for n, t in columns.items()
        ]
    )
    fmt = table.get("format", "parquet")
    if fmt == "csv":
        csv = table.get("csv") or {}
        df.write.csv(
            str(path),
            header=csv.get("header", True),
            sep=csv.get("delimiter", ","),
            quote=csv.get("quote", '"'),
            escape=csv.get("escape", "\\"),
            nullValue=csv.get("null_value", ""),
        )
    else:
        df.write.format(fmt).save(str(path))


def arguments_for(spark, stem, stage, tmp_path):
    """Every argument of a stage's script: inputs written, outputs to fill."""
    p = pipeline(stem)
    path = script(stem, stage)
    names = script_arguments(path)
    by_arg = {}
    for t in p["schemas"]:
        by_arg[f"pipec_input_{t}"] = ("input", t)
        by_arg[f"pipec_output_{t}"] = ("output", t)
    for c in p.get("connections", {}):
        key = c.replace("-", "_")
        by_arg[f"pipec_connection_{key}"] = ("connection", c)
        by_arg[f"pipec_secret_{key}"] = ("secret", c)
        by_arg[f"pipec_jdbc_url_{key}"] = ("url", c)
    args, outputs = {}, {}
    for name in names:
        if name == "JOB_NAME":
            args[name] = stage
            continue
        kind, what = by_arg[name]
        if kind == "input":
            args[name] = str(tmp_path / "in" / what)
            write_input(spark, p["schemas"][what], tmp_path / "in" / what)
        elif kind == "output":
            args[name] = str(tmp_path / "out" / what)
            outputs[what] = tmp_path / "out" / what
        elif kind == "connection":
            args[name] = f"{stem}-{what}"
        elif kind == "secret":
            args[name] = f"{stem}/{what}/credentials"
        else:
            args[name] = f"jdbc:postgresql://127.0.0.1:1/{what}"
    return path, names, args, outputs


def run_glue(glue, path, args, equals=False, fail=None, extra=GLUE_OWN):
    """Runs a script's Glue branch in this process; returns (calls, stdout)."""
    _, awsglue, dq = glue
    awsglue.reset()
    dq.FAIL.clear()
    dq.FAIL.update(fail or {})
    argv = [str(path)]
    for name, value in args.items():
        argv += [f"--{name}={value}"] if equals else [f"--{name}", str(value)]
    argv += extra
    saved = sys.argv
    sys.argv = argv
    # The pipeline's shared runtime, as --extra-py-files puts it on Glue's
    # Python path; imported afresh, since each pipeline has its own.
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
    return list(awsglue.CALLS), out.getvalue()


def ruleset(rules):
    return "Rules = [\n" + ",\n".join(f"    {r}" for r in rules) + "\n]"


def quality_outputs(stem, outputs):
    p = pipeline(stem)
    return {
        t: p["schemas"][t]["quality"] for t in outputs if p["schemas"][t].get("quality")
    }


def cast_columns(stem, stage):
    """The columns a stage casts under a policy other than `null`."""
    p = pipeline(stem)
    st = p["stages"][stage]
    default = st.get("cast_on_invalid") or p.get("defaults", {}).get(
        "cast_on_invalid", "warn"
    )
    steps = list(st.get("steps", []))
    for frame in st.get("frames", {}).values():
        steps += frame.get("steps", [])
    out = []
    for step in steps:
        for column, spec in (step.get("cast") or {}).items():
            policy = (
                spec.get("on_invalid", default) if isinstance(spec, dict) else default
            )
            if policy != "null":
                out.append(column)
    return out


@pytest.mark.parametrize(("stem", "stage"), SPARK_STAGES)
def test_glue_branch_of_every_example_stage(
    glue, jdbc, cloudwatch, tmp_path, stem, stage
):
    spark = glue[0]
    path, names, args, outputs = arguments_for(spark, stem, stage, tmp_path)
    calls, stdout = run_glue(glue, path, args)
    kinds = [name for name, _ in calls]

    # Arguments: asked for exactly ARGUMENTS, resolved to what was passed.
    assert calls[0] == ("getResolvedOptions", {"options": names, "missing": []})
    assert kinds[1:3] == ["GlueContext", "Job.init"]
    assert calls[2][1] == {"name": stage, "args": args}
    assert kinds[-1] == "Job.commit" and kinds.count("Job.commit") == 1

    # Data quality: one ruleset per written table with rules, as declared.
    dq = [d for name, d in calls if name == "EvaluateDataQuality.apply"]
    expected = quality_outputs(stem, outputs)
    assert [d["frame"] for d in dq] == list(expected)
    for d in dq:
        rules = [r.strip() for r in expected[d["frame"]]["rules"]]
        assert d["ruleset"] == ruleset(rules)
        assert d["rules"] == rules
        assert d["publishing_options"] == {
            "dataQualityEvaluationContext": d["frame"],
            "enableDataQualityCloudWatchMetrics": True,
            "enableDataQualityResultsPublishing": True,
        }
        for rule in rules:
            assert f"data quality of {d['frame']}: PASSED: {rule}" in stdout
    froms = [d["name"] for name, d in calls if name == "DynamicFrame.fromDF"]
    assert froms == list(expected)

    # Casts: on Glue, what each cast lost is a metric in namespace `pipec`,
    # the same count the job log shows (synthetic dates in another format
    # than a cast's are lost and counted).
    printed = {
        m.group(1): int(m.group(2))
        for m in re.finditer(r"column '([^']+)': (\d+) value\(s\) did not", stdout)
    }
    published = {}
    for d in cloudwatch:
        assert d["Namespace"] == "pipec" and d["MetricName"] == "CastInvalidValues"
        assert d["Unit"] == "Count"
        dims = {x["Name"]: x["Value"] for x in d["Dimensions"]}
        assert dims["Pipeline"] == pipeline(stem)["pipeline"]
        assert dims["Stage"] == stage
        published[dims["Column"]] = d["Value"]
    assert set(published) == set(cast_columns(stem, stage))
    assert {c: n for c, n in published.items() if n} == printed

    # Every output is written: files where the argument says, JDBC tables
    # through the named URL with the secret's credentials.
    p = pipeline(stem)
    jdbc_tables = [
        o["table"]
        for o in p["stages"][stage].get("outputs", [])
        if p["schemas"][o["table"]].get("connection")
    ]
    assert not set(jdbc_tables) & set(outputs)
    for table, location in outputs.items():
        decl = p["schemas"][table]
        assert list(location.rglob("part-*")), f"{table} not written"
        back = spark.read.format(decl.get("format", "parquet")).load(str(location))
        assert sorted(back.columns) == sorted(decl["columns"]), table
    for name, value in args.items():
        if name.startswith("pipec_secret_"):
            assert value in jdbc["secrets"]
    written = {w["dbtable"]: w for w in jdbc["writes"]}
    assert sorted(written) == sorted(p["schemas"][t]["jdbc_table"] for t in jdbc_tables)
    for table in jdbc_tables:
        decl = p["schemas"][table]
        w = written[decl["jdbc_table"]]
        key = decl["connection"].replace("-", "_")
        assert w["url"] == args[f"pipec_jdbc_url_{key}"]
        assert (w["user"], w["password"]) == (SECRET["username"], SECRET["password"])
        assert w["columns"] == list(decl["columns"])


def test_a_missing_argument_stops_the_job_before_it_starts(glue, tmp_path):
    path, names, args, outputs = arguments_for(glue[0], "etl", "clean", tmp_path)
    del args["pipec_output_orders_clean"]
    with pytest.raises(SystemExit, match="--pipec_output_orders_clean"):
        run_glue(glue, path, args)
    calls = glue[1].CALLS
    assert calls == [
        (
            "getResolvedOptions",
            {"options": names, "missing": ["pipec_output_orders_clean"]},
        )
    ]


def test_arguments_in_the_equals_form(glue, tmp_path):
    path, names, args, outputs = arguments_for(glue[0], "etl", "clean", tmp_path)
    calls, _ = run_glue(glue, path, args, equals=True, extra=[])
    assert calls[2] == ("Job.init", {"name": "clean", "args": args})
    assert list(outputs["orders_clean"].rglob("part-*"))


def test_a_failed_rule_under_fail_stops_before_writing(glue, tmp_path):
    path, _, args, outputs = arguments_for(glue[0], "etl", "clean", tmp_path)
    rule = pipeline("etl")["schemas"]["orders_clean"]["quality"]["rules"][1]
    with pytest.raises(RuntimeError, match="rules failed") as error:
        run_glue(
            glue, path, args, fail={rule: "Value: 0.5 does not meet the constraint"}
        )
    assert rule in str(error.value)
    kinds = [name for name, _ in glue[1].CALLS]
    assert "EvaluateDataQuality.apply" in kinds and "Job.commit" not in kinds
    assert not outputs["orders_clean"].exists()


def test_a_failed_rule_under_warn_is_reported_and_written(glue, jdbc, tmp_path):
    p = pipeline("leads")
    table, stage = next(
        (t, s)
        for s, st in p["stages"].items()
        for o in st.get("outputs", [])
        for t in [o["table"]]
        if (p["schemas"][t].get("quality") or {}).get("on_failure") == "warn"
    )
    path, _, args, outputs = arguments_for(glue[0], "leads", stage, tmp_path)
    rule = p["schemas"][table]["quality"]["rules"][0]
    reason = "Value: 0.25 does not meet the constraint requirement!"
    calls, stdout = run_glue(glue, path, args, fail={rule: reason})
    assert f"data quality of {table}: FAILED: {rule} {reason}" in stdout
    assert [n for n, _ in calls][-1] == "Job.commit"
    assert list(outputs[table].rglob("part-*"))


def test_glue_reporting_other_rules_than_listed_fails_the_stage(
    glue, tmp_path, monkeypatch
):
    # One list item is one rule: a ruleset that Glue reads as more rules than
    # the script listed is an error, never a silent pass.
    path, _, args, outputs = arguments_for(glue[0], "etl", "clean", tmp_path)
    dq = glue[2]
    original = dq.split_rules
    monkeypatch.setattr(dq, "split_rules", lambda r: [*original(r), "RowCount > 0"])
    with pytest.raises(RuntimeError, match="4 outcomes for 3 rules"):
        run_glue(glue, path, args)
    assert not outputs["orders_clean"].exists()


@pytest.mark.parametrize("form", ["absent", "separate", "equals"])
@pytest.mark.parametrize(("stem", "stage"), SHELL_STAGES)
def test_download_stage_glue_branch(glue, tmp_path, monkeypatch, stem, stage, form):
    import urllib.request

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("data.csv", "a,b\n1,2\n")
        z.writestr("README.txt", "not a csv\n")
    fetched = []

    def urlopen(url, timeout=None):
        fetched.append(url)
        return contextlib.closing(io.BytesIO(archive.getvalue()))

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    path = script(stem, stage)
    names = script_arguments(path)
    download = pipeline(stem)["stages"][stage]["download"]
    out = tmp_path / "out"
    args = {"JOB_NAME": stage, names[1]: str(out)}
    mirror = "https://mirror.example.com/copy.zip"
    if form != "absent":
        args["pipec_download_url"] = mirror
    calls, _ = run_glue(glue, path, args, equals=form == "equals")
    asked = names + (["pipec_download_url"] if form != "absent" else [])
    assert calls == [("getResolvedOptions", {"options": asked, "missing": []})]
    assert fetched == [mirror if form != "absent" else download["url"]]
    assert (out / "data.csv").read_text() == "a,b\n1,2\n"


def test_one_list_item_is_one_rule_in_both_evaluators(glue):
    # The runtime's guard (one_rule) and the ruleset grammar that the Glue
    # stand-in uses split DQDL text the same way, so a list item that Glue
    # would read as two rules is refused before either evaluator runs.
    runtime = script("etl", "clean").parent / "pipec_runtime.py"
    tree = ast.parse(runtime.read_text(encoding="utf-8"))
    (fn,) = [
        n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "one_rule"
    ]
    scope = {}
    exec(compile(ast.Module([fn], []), "one_rule", "exec"), scope)  # noqa: S102
    one_rule, split_rules = scope["one_rule"], glue[2].split_rules
    for text in [
        'IsComplete "id"',
        'ColumnValues "name" in ["a", "b,c"]',
        'ColumnValues "x" matches "a,b"',
        'ColumnValues "say \\"x, y\\"" = "z"',
        'CustomSql "select count(*) from primary where a in (1, 2)" > 0',
    ]:
        assert one_rule(text), text
        assert split_rules(f"Rules = [{text}]") == [text]
    for text in ['IsComplete "other", RowCount > 0', 'RowCount > 0, IsComplete "a"']:
        assert not one_rule(text), text
        assert len(split_rules(f"Rules = [{text}]")) == 2
