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

Iceberg stages run on pyspark 3.5 with the Iceberg runtime jar. Iceberg's
in-memory catalog stands in for the Glue Data Catalog under the catalog name
the job's --conf gives it, with the table at the location the job names, as
on Glue; the stack's database is created first, as the stack would. The Glue
table optimizer requests are recorded and checked against botocore's model of
the Glue API (AWS's own service definition), not sent.
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

from conftest import HERE, ICEBERG_JARS, ROOT, script

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


def pipeline_of(stem):
    return yaml.safe_load((ROOT / "pipelines" / f"{stem}.yaml").read_text("utf-8"))


def iceberg_tables(stem, stage):
    """The Iceberg tables a stage reads or writes."""
    p = pipeline_of(stem)
    st = p["stages"][stage]
    tables = [i if isinstance(i, str) else i["table"] for i in st.get("inputs", [])]
    tables += [o["table"] for o in st.get("outputs", [])]
    return [t for t in tables if p["schemas"][t].get("format") == "iceberg"]


ICEBERG = bool(ICEBERG_JARS)
NO_ICEBERG = pytest.mark.skipif(
    not ICEBERG,
    reason="the Iceberg Spark runtime on PyPI (snowpark-connect-deps-iceberg) "
    "is built for Spark 3.5 only",
)
OPTIMIZER_ROLE = "arn:aws:iam::123456789012:role/pipec-optimizer"
SPARK_STAGES = [
    pytest.param(p, s, marks=[NO_ICEBERG] if iceberg_tables(p, s) else [])
    for p, s, kind in examples()
    if kind == "spark"
]
SHELL_STAGES = [(p, s) for p, s, kind in examples() if kind == "python-shell"]


def pipeline(stem):
    return pipeline_of(stem)


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
def glue(tmp_path_factory):
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

    builder = (
        SparkSession.builder.master("local[2]")
        .appName("glue-branch")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
    )
    if ICEBERG:
        builder = builder.config("spark.jars", ",".join(ICEBERG_JARS)).config(
            "spark.sql.extensions", ICEBERG_EXTENSIONS
        )
    spark = builder.getOrCreate()
    if ICEBERG:
        iceberg_catalog(spark, tmp_path_factory.mktemp("catalog"))
    sys.path.insert(0, str(STUBS))
    import awsglue
    import awsgluedq.transforms

    yield spark, awsglue, awsgluedq.transforms
    sys.path.remove(str(STUBS))
    for name in list(sys.modules):
        if name.split(".")[0] in ("awsglue", "awsgluedq"):
            del sys.modules[name]
    spark.stop()


ICEBERG_EXTENSIONS = "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions"


def iceberg_catalog(spark, warehouse):
    """Catalog `glue_catalog` (the name the jobs' --conf gives the Glue Data
    Catalog) as Iceberg's in-memory catalog, set on the session rather than
    the builder: PySpark's builder options are shared by every later builder
    of the process, and another module's catalog of that name is a Hadoop one."""
    catalog = "spark.sql.catalog.glue_catalog"
    settings = {
        catalog: "org.apache.iceberg.spark.SparkCatalog",
        f"{catalog}.catalog-impl": "org.apache.iceberg.inmemory.InMemoryCatalog",
        f"{catalog}.io-impl": "org.apache.iceberg.hadoop.HadoopFileIO",
        f"{catalog}.warehouse": str(warehouse),
    }
    for k, v in settings.items():
        spark.conf.set(k, v)


def iceberg_specs(path):
    """The TABLE_ICEBERG constants of a generated script, read from its AST."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = {}
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id.endswith("_ICEBERG")
        ):
            value = node.value
            columns = None
            if isinstance(value, ast.Dict):
                # "columns" refers to the TABLE_COLUMNS constant by name.
                for k, v in zip(value.keys, value.values):
                    if isinstance(v, ast.Name):
                        columns = v.id
                value = ast.Dict(
                    keys=value.keys,
                    values=[
                        ast.Constant(None) if isinstance(v, ast.Name) else v
                        for v in value.values
                    ],
                )
            spec = ast.literal_eval(value)
            spec["columns"] = columns
            out[spec["table"]] = spec
    return out


class AlreadyExistsError(Exception):
    """Glue's AlreadyExistsException."""


class GlueApi:
    """Records Glue table optimizer requests after checking each against
    botocore's model of the Glue API; a second create of one optimizer
    fails as Glue's does."""

    def __init__(self):
        import botocore.session

        self.model = botocore.session.get_session().get_service_model("glue")
        self.calls = []
        self.existing = set()
        self.exceptions = type(
            "Exceptions", (), {"AlreadyExistsException": AlreadyExistsError}
        )

    def _check(self, operation, params):
        from botocore.validate import validate_parameters

        shape = self.model.operation_model(operation).input_shape
        validate_parameters(params, shape)
        self.calls.append((operation, params))

    def create_table_optimizer(self, **params):
        self._check("CreateTableOptimizer", params)
        key = (
            params["CatalogId"],
            params["DatabaseName"],
            params["TableName"],
            params["Type"],
        )
        if key in self.existing:
            raise AlreadyExistsError(str(key))
        self.existing.add(key)

    def update_table_optimizer(self, **params):
        self._check("UpdateTableOptimizer", params)


@pytest.fixture
def glue_api(monkeypatch, jdbc):
    """The Glue API of the job's optimizer calls (the other clients as `jdbc`'s)."""
    import boto3

    api = GlueApi()
    others = boto3.client

    def client(service, *args, **kwargs):
        return api if service == "glue" else others(service, *args, **kwargs)

    monkeypatch.setattr(boto3, "client", client)
    return api


@pytest.fixture(autouse=True)
def cloudwatch(monkeypatch):
    """Records the CloudWatch metrics a script publishes instead of sending
    them; any other AWS client is an error here."""
    import boto3

    seen = []

    class CloudWatch:
        def put_metric_data(self, Namespace, MetricData):
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
        def get_secret_value(self, SecretId):
            seen["secrets"].append(SecretId)
            return {"SecretString": json.dumps(SECRET)}

    def client(service, *args, **kwargs):
        if service == "cloudwatch":
            return metrics(service)
        assert service == "secretsmanager", service
        return Secrets()

    original = DataFrameWriter.save

    def save(self, path=None, format=None, mode=None, **options):
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
        if name == "pipec_optimizer_role":
            args[name] = OPTIMIZER_ROLE
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
    glue, jdbc, glue_api, cloudwatch, tmp_path, stem, stage
):
    spark = glue[0]
    path, names, args, outputs = arguments_for(spark, stem, stage, tmp_path)
    icebergs = iceberg_specs(path)
    for spec in icebergs.values():
        # The stack's AWS::Glue::Database; the job creates the table.
        spark.sql(f"CREATE NAMESPACE IF NOT EXISTS glue_catalog.`{spec['database']}`")
        spark.sql(
            f"DROP TABLE IF EXISTS glue_catalog.`{spec['database']}`.`{spec['table']}`"
        )
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
        if table in icebergs:
            check_iceberg(spark, glue, glue_api, path, args, icebergs[table], decl)
            continue
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


def check_iceberg(spark, glue, glue_api, path, args, spec, decl):
    """An Iceberg output: the table in the catalog with the declared columns,
    its data and metadata under the job's location, the three optimizers
    created as declared; a second run merges the same rows again (no
    duplicates) and updates the optimizers instead."""
    ident = f"glue_catalog.`{spec['database']}`.`{spec['table']}`"
    location = args[f"pipec_output_{spec['table']}"]
    table = spark.table(ident)
    assert table.columns == list(decl["columns"])
    rows = table.count()
    assert rows == 3, f"{spec['table']}: {rows} rows from 3 distinct source rows"
    # Iceberg's in-memory catalog keeps its files in memory, so the paths
    # come from the table's metadata: the location the job named, and every
    # data file under it.
    described = {
        r.col_name: r.data_type
        for r in spark.sql(f"DESCRIBE TABLE EXTENDED {ident}").collect()
    }
    assert described["Location"] in (location, f"file:{location}")
    paths = [
        r.file_path for r in spark.sql(f"SELECT file_path FROM {ident}.files").collect()
    ]
    assert paths and all(
        p.removeprefix("file:").startswith(f"{location}/data/") for p in paths
    ), paths

    def optimizers(operation):
        return {
            c["Type"]: c
            for op, c in glue_api.calls
            if op == operation and c["TableName"] == spec["table"]
        }

    created = optimizers("CreateTableOptimizer")
    assert sorted(created) == ["compaction", "orphan_file_deletion", "retention"]
    m = spec["maintenance"]
    for kind, c in created.items():
        assert (
            c["CatalogId"] == "123456789012" and c["DatabaseName"] == spec["database"]
        )
        config = c["TableOptimizerConfiguration"]
        assert config["roleArn"] == OPTIMIZER_ROLE
        want = {
            "compaction": m["compaction"],
            "retention": m["snapshot_retention"],
            "orphan_file_deletion": m["orphan_file_deletion"],
        }[kind]
        assert config["enabled"] is want, kind
    retention = created["retention"]["TableOptimizerConfiguration"]
    iceberg = retention["retentionConfiguration"]["icebergConfiguration"]
    assert iceberg["snapshotRetentionPeriodInDays"] == m["snapshot_retention_days"]
    assert iceberg["numberOfSnapshotsToRetain"] == m["snapshots_to_keep"]
    orphans = created["orphan_file_deletion"]["TableOptimizerConfiguration"]
    assert orphans["orphanFileDeletionConfiguration"]["icebergConfiguration"] == {
        "orphanFileRetentionPeriodInDays": m["orphan_file_retention_days"],
        "location": location,
    }

    glue_api.calls.clear()
    run_glue(glue, path, args)
    assert spark.table(ident).count() == rows
    assert sorted(optimizers("UpdateTableOptimizer")) == sorted(created)


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
