"""The JDBC path of generated scripts, run for real against PostgreSQL.

The `survey_jdbc` fixture's stage `load` types a survey export and writes
three PostgreSQL tables through connection `survey-db`: two in overwrite mode
(which the scripts implement as truncate-and-load, keeping the table's
definition) and one in append mode. Stage `report` reads two of those tables
back over JDBC and writes a Parquet report. Stage `snapshot` copies a table
to a new one in error mode: once, and never over an existing table.

The test starts its own PostgreSQL server (initdb in a temporary directory,
password authentication over TCP on 127.0.0.1) and a moto server holding the
Secrets Manager secret with the database credentials; the scripts get the
credentials only from that secret. Spark gets the driver from Debian's
libpostgresql-jdbc-java. Every table is compared row for row with the same
computation done independently in DuckDB over the input CSV.

Nothing is skipped: without the server binaries or the driver jar the test
fails, because tests/run-all.sh installs them.
"""

import csv
import glob
import io
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import assert_same_rows, run_job, script, spark_env

JAR = Path("/usr/share/java/postgresql.jar")
INSTALL_HINT = (
    "tests/run-all.sh installs it (Debian packages postgresql and "
    "libpostgresql-jdbc-java)"
)
DATABASE = "survey"
USER = "survey_loader"
# Characters that would break naive quoting anywhere on the way.
PASSWORD = "p@ss w'rd;\"%&=?/\\"
SECRET_ID = "survey/db-credentials"
NULL = "<<null>>"

RAW_COLUMNS = [
    "ResponseId",
    "MainBranch",
    "Country",
    "EdLevel",
    "YearsCode",
    "LanguageHaveWorkedWith",
    "ConvertedCompYearly",
]
RESPONDENT_COLUMNS = [
    "response_id",
    "main_branch",
    "country",
    "ed_level",
    "years_code",
    "converted_comp_yearly",
]
LOG_COLUMNS = ["response_id", "country", "years_code", "converted_comp_yearly"]
BRIDGE_COLUMNS = ["response_id", "language"]
REPORT_COLUMNS = ["language", "respondents", "mean_comp", "max_years_code"]
TYPES = {
    "response_id": int,
    "years_code": int,
    "converted_comp_yearly": float,
    "oid": int,
}


# ---- Servers -----------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_bin():
    """The newest PostgreSQL server binaries; fails clearly when absent."""
    dirs = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda d: int(Path(d).parent.name) if Path(d).parent.name.isdigit() else 0,
    )
    for d in reversed(dirs):
        if all((Path(d) / b).is_file() for b in ("initdb", "pg_ctl", "psql")):
            return Path(d)
    pytest.fail(
        f"no PostgreSQL server under /usr/lib/postgresql/*/bin: {INSTALL_HINT}",
        pytrace=False,
    )


class Postgres:
    """A throwaway PostgreSQL server in a temporary directory."""

    def __init__(self):
        self.bin = pg_bin()
        self.root = Path(tempfile.mkdtemp(prefix="pipec-pg-"))
        self.data, self.sock = self.root / "data", self.root / "sock"
        self.sock.mkdir()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            # initdb refuses to run as root: the server runs as `postgres`.
            shutil.chown(self.root, "postgres", "postgres")
            shutil.chown(self.sock, "postgres", "postgres")
        self.port = None

    def run(self, *argv, check=True):
        cmd = [str(self.bin / argv[0]), *argv[1:]]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        proc = subprocess.run(
            cmd, capture_output=True, text=True, cwd=self.root, timeout=120
        )
        if check and proc.returncode != 0:
            log = self.root / "server.log"
            pytest.fail(
                f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n"
                f"{proc.stderr}\n{log.read_text() if log.exists() else ''}",
                pytrace=False,
            )
        return proc

    def start(self):
        self.run(
            "initdb", "-D", str(self.data), "-U", "postgres", "-E", "UTF8",
            "--no-locale", "--no-sync",
            "--auth-local=trust", "--auth-host=scram-sha-256",
        )  # fmt: skip
        for _ in range(5):  # another process may take the port in between
            self.port = free_port()
            options = (
                f"-k {self.sock} -p {self.port} -h 127.0.0.1 "
                "-c fsync=off -c full_page_writes=off -c synchronous_commit=off"
            )
            proc = self.run(
                "pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"),
                "-o", options, "-w", "-t", "60", "start",
                check=False,
            )  # fmt: skip
            if proc.returncode == 0:
                return
        pytest.fail(
            f"PostgreSQL did not start:\n{(self.root / 'server.log').read_text()}",
            pytrace=False,
        )

    def stop(self):
        if self.data.is_dir() and (self.data / "postmaster.pid").exists():
            self.run(
                "pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop", check=False
            )
        shutil.rmtree(self.root, ignore_errors=True)

    def psql(self, sql, database=DATABASE):
        """Runs SQL as the superuser over the socket; returns the CSV rows."""
        proc = subprocess.run(
            [
                str(self.bin / "psql"), "-X", "-q", "--csv", "-v", "ON_ERROR_STOP=1",
                "-P", f"null={NULL}", "-h", str(self.sock), "-p", str(self.port),
                "-U", "postgres", "-d", database, "-c", sql,
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )  # fmt: skip
        if proc.returncode != 0:
            pytest.fail(f"psql failed on {sql!r}:\n{proc.stderr}", pytrace=False)
        return list(csv.DictReader(io.StringIO(proc.stdout)))

    def frame(self, sql, columns):
        """The rows of a query as a pandas frame with Python-typed values."""
        out = []
        for r in self.psql(sql):
            out.append(
                {c: None if r[c] == NULL else TYPES.get(c, str)(r[c]) for c in columns}
            )
        return pd.DataFrame(out, columns=columns, dtype=object)

    @property
    def url(self):
        return f"jdbc:postgresql://127.0.0.1:{self.port}/{DATABASE}"


@pytest.fixture(scope="module")
def postgres():
    if not JAR.is_file():
        pytest.fail(
            f"{JAR} (the JDBC driver) is missing: {INSTALL_HINT}", pytrace=False
        )
    pg = Postgres()
    try:
        pg.start()
        password = PASSWORD.replace("'", "''")
        pg.psql(f"CREATE ROLE {USER} LOGIN PASSWORD '{password}'", database="postgres")
        pg.psql(f"CREATE DATABASE {DATABASE} OWNER {USER}", database="postgres")
        yield pg
    finally:
        pg.stop()


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    """moto's server on a free port, with the connection's secret in it."""
    d = tmp_path_factory.mktemp("moto")
    log = d / "moto.log"
    exe = Path(sys.executable).parent / "moto_server"
    env = aws_env()
    env.pop("AWS_ENDPOINT_URL", None)
    with open(log, "w") as err:
        proc = subprocess.Popen(
            [str(exe), "-H", "127.0.0.1", "-p", "0"],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=env,
            cwd=d,
        )
    try:
        endpoint = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            for line in log.read_text().splitlines():
                if line.startswith(" * Running on http://127.0.0.1:"):
                    endpoint = line.split("Running on ", 1)[1].strip()
            if endpoint:
                try:
                    with urllib.request.urlopen(
                        f"{endpoint}/moto-api/", timeout=5
                    ) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
            time.sleep(0.2)
        else:
            pytest.fail(f"moto_server did not start:\n{log.read_text()}", pytrace=False)
        secrets(endpoint).create_secret(
            Name=SECRET_ID,
            SecretString=json.dumps({"username": USER, "password": PASSWORD}),
        )
        yield endpoint
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def aws_env(endpoint=None):
    """Dummy credentials; nothing may reach beyond 127.0.0.1."""
    env = dict(os.environ)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_DEFAULT_PROFILE"):
        env.pop(name, None)
    env.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": "/nonexistent/aws-config",
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
        }
    )
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
    return env


def secrets(endpoint):
    """A Secrets Manager client of the moto server, with dummy credentials."""
    import boto3

    return boto3.client(
        "secretsmanager",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        aws_session_token="testing",
    )


# ---- Data --------------------------------------------------------------------

LANGUAGES = [
    "Python", "Rust", "Go", "C#", "C++", "SQL", "TypeScript",
    "Bash/Shell (all shells)", "Haskell", "Visual Basic (.Net)",
]  # fmt: skip
COUNTRIES = [
    "Germany", "Côte d'Ivoire", "Türkiye", "日本", "Brazil",
    "United Kingdom of Great Britain and Northern Ireland", None,
]  # fmt: skip
ED_LEVELS = [
    "Bachelor’s degree (B.A., B.S., B.Eng., etc.)",
    "Master's degree (M.A., M.S., M.Eng., MBA, etc.)",
    "Something else",
    None,
]
BRANCHES = [
    "I am a developer by profession",
    "I code primarily as a hobby",
    "I am not primarily a developer, but I write code sometimes as part of my work",
]


def survey_rows(seed, ids):
    """Survey-export rows: NA values, ids that are not numbers, duplicate
    responses (the higher or the only known salary must win), language lists
    with repeats and empty items, years that are not numbers."""
    rng = random.Random(seed)
    rows = []
    for i in ids:
        langs = rng.sample(LANGUAGES, rng.randint(1, 4))
        roll = rng.random()
        if roll < 0.1:
            langs_text = None
        elif roll < 0.2:
            langs_text = ";".join(langs + langs[:1]) + ";"
        elif roll < 0.3:
            langs_text = ";;".join(langs)
        else:
            langs_text = ";".join(langs)
        years = rng.choice(
            [str(rng.randint(0, 45))] * 6
            + ["Less than 1 year", "More than 50 years", None]
        )
        comp = rng.choice(
            [f"{rng.randint(1000, 400000)}.{rng.randint(0, 99):02d}"] * 6
            + [None, "n/a"]
        )
        row = [
            str(i),
            rng.choice(BRANCHES),
            rng.choice(COUNTRIES),
            rng.choice(ED_LEVELS),
            years,
            langs_text,
            comp,
        ]
        rows.append(row)
        if rng.random() < 0.1:  # the same response again, with another salary
            again = list(row)
            known = row[6] not in (None, "n/a")
            again[6] = f"{float(row[6]) + 1000.25:.2f}" if known else "55555.5"
            again[2] = rng.choice(COUNTRIES)
            again[5] = ";".join(rng.sample(LANGUAGES, 2))
            rows.insert(rng.randrange(len(rows) + 1), again)
    rows.append(["NA", BRANCHES[0], "Germany", None, "3", "Python", "1.0"])
    rows.append(["not-a-number", BRANCHES[1], "Brazil", None, "4", "Go", "2.0"])
    return rows


def write_csv(directory, rows):
    directory.mkdir(parents=True)
    with open(directory / "survey_results_public.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(RAW_COLUMNS)
        for row in rows:
            w.writerow(["NA" if v is None else v for v in row])


def expected(directory):
    """DuckDB over the CSV: the load stage's tables, computed independently."""
    con = duckdb.connect()
    # Text first: DuckDB 2.0 failed on TRY_CAST straight over read_csv (the
    # cast was applied inside the reader, strictly).
    con.execute(
        f"""CREATE TABLE raw AS SELECT * FROM read_csv(
            '{directory}/*.csv', header = true, nullstr = 'NA', delim = ',',
            quote = '"', all_varchar = true)"""
    )
    con.execute(
        """CREATE TABLE typed AS
        SELECT TRY_CAST(ResponseId AS BIGINT) AS response_id,
               MainBranch AS main_branch, Country AS country, EdLevel AS ed_level,
               TRY_CAST(YearsCode AS INTEGER) AS years_code,
               LanguageHaveWorkedWith AS languages,
               TRY_CAST(ConvertedCompYearly AS DOUBLE) AS converted_comp_yearly
        FROM raw"""
    )
    con.execute(
        """CREATE TABLE respondents AS SELECT * FROM typed
        WHERE response_id IS NOT NULL
        QUALIFY row_number() OVER (
            PARTITION BY response_id ORDER BY converted_comp_yearly DESC NULLS LAST
        ) = 1"""
    )
    con.execute(
        """CREATE TABLE bridge AS SELECT DISTINCT response_id, language FROM (
            SELECT response_id, unnest(string_split(languages, ';')) AS language
            FROM respondents)
        WHERE language IS NOT NULL AND language <> ''"""
    )
    return con


# ---- The test ----------------------------------------------------------------


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("survey")
    write_csv(root / "run1", survey_rows(1, range(1, 401)))
    write_csv(root / "run2", survey_rows(2, range(201, 551)))
    return root


def job_env(endpoint):
    env = aws_env(endpoint)
    env["SUBMIT_EXTRA"] = f"--jars {JAR}"
    return spark_env(env)


def connection_args(pg):
    return {
        "pipec_connection_survey_db": "survey-jdbc-survey-db",
        "pipec_secret_survey_db": SECRET_ID,
        "pipec_jdbc_url_survey_db": pg.url,
    }


# respondents exists beforehand, with a primary key, its own column types and
# a column the pipeline does not know; overwrite must keep all that.
RESPONDENTS_DDL = f"""SET ROLE {USER};
CREATE TABLE public.respondents (
    response_id bigint PRIMARY KEY,
    main_branch text,
    country varchar(100),
    ed_level text,
    years_code integer,
    converted_comp_yearly double precision,
    loaded_at timestamptz NOT NULL DEFAULT now()
)"""


def table_oid(pg, table):
    return pg.psql(f"SELECT '{table}'::regclass::oid AS oid")[0]["oid"]


def test_load_overwrite_append_and_read_back(postgres, moto, inputs, tmp_path):
    pg = postgres
    pg.psql(
        "DROP TABLE IF EXISTS public.respondents, public.respondents_log, "
        "public.respondent_languages"
    )
    pg.psql(RESPONDENTS_DDL)
    pg.psql(
        "INSERT INTO public.respondents (response_id, country) "
        "VALUES (-1, 'left over from before')"
    )
    respondents_oid = table_oid(pg, "public.respondents")
    env = job_env(moto)
    load = script("survey_jdbc", "load")

    def run_load(run):
        run_job(
            load,
            {
                "JOB_NAME": "load",
                "pipec_input_responses_raw": inputs / run,
                **connection_args(pg),
            },
            env=env,
        )

    def check_tables(run, log_runs):
        want = expected(inputs / run)
        assert_same_rows(
            pg.frame(
                f"SELECT {', '.join(RESPONDENT_COLUMNS)} FROM public.respondents",
                RESPONDENT_COLUMNS,
            ),
            want.execute("SELECT * FROM respondents").df(),
            RESPONDENT_COLUMNS,
            f"respondents after {run} (overwrite)",
        )
        assert_same_rows(
            pg.frame(
                f"SELECT {', '.join(BRIDGE_COLUMNS)} FROM public.respondent_languages",
                BRIDGE_COLUMNS,
            ),
            want.execute("SELECT * FROM bridge").df(),
            BRIDGE_COLUMNS,
            f"respondent_languages after {run} (overwrite)",
        )
        log = pd.concat(
            [
                expected(inputs / r).execute("SELECT * FROM respondents").df()
                for r in log_runs
            ]
        )
        assert_same_rows(
            pg.frame(
                f"SELECT {', '.join(LOG_COLUMNS)} FROM public.respondents_log",
                LOG_COLUMNS,
            ),
            log,
            LOG_COLUMNS,
            f"respondents_log after {run} (append)",
        )

    run_load("run1")
    check_tables("run1", ["run1"])
    bridge_oid = table_oid(pg, "public.respondent_languages")

    run_load("run2")
    check_tables("run2", ["run1", "run2"])

    # Overwrite truncated the tables instead of dropping them: same relations,
    # the primary key, the declared types and the default are all still there.
    assert table_oid(pg, "public.respondents") == respondents_oid
    assert table_oid(pg, "public.respondent_languages") == bridge_oid
    keys = pg.psql(
        "SELECT conname FROM pg_constraint "
        "WHERE conrelid = 'public.respondents'::regclass AND contype = 'p'"
    )
    assert len(keys) == 1, keys
    types = {
        r["column_name"]: (r["data_type"], r["character_maximum_length"])
        for r in pg.psql(
            "SELECT column_name, data_type, character_maximum_length "
            "FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name = 'respondents'"
        )
    }
    assert types["country"] == ("character varying", "100"), types
    assert types["loaded_at"][0] == "timestamp with time zone", types
    unset = "SELECT count(*) AS n FROM public.respondents WHERE loaded_at IS NULL"
    assert pg.psql(unset) == [{"n": "0"}]
    # The tables Spark created belong to the user of the secret.
    owners = pg.psql(
        "SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public' "
        "ORDER BY tablename"
    )
    assert owners == [
        {"tablename": t, "tableowner": USER}
        for t in ["respondent_languages", "respondents", "respondents_log"]
    ]

    # Stage report reads both tables over JDBC: rows added in PostgreSQL after
    # the load must show up in its output.
    pg.psql(
        "INSERT INTO public.respondents "
        "(response_id, country, years_code, converted_comp_yearly) "
        "VALUES (900001, 'Added', 61, 1000000.5)"
    )
    pg.psql(
        "INSERT INTO public.respondent_languages (response_id, language) "
        "VALUES (900001, 'COBOL'), (900001, 'Python')"
    )
    out = tmp_path / "language_report"
    run_job(
        script("survey_jdbc", "report"),
        {
            "JOB_NAME": "report",
            "pipec_output_language_report": out,
            **connection_args(pg),
        },
        env=env,
    )
    want = expected(inputs / "run2")
    want.execute(
        "INSERT INTO respondents (response_id, country, years_code, "
        "converted_comp_yearly) VALUES (900001, 'Added', 61, 1000000.5)"
    )
    want.execute("INSERT INTO bridge VALUES (900001, 'COBOL'), (900001, 'Python')")
    report = want.execute(
        """SELECT b.language, count(*) AS respondents,
                  avg(r.converted_comp_yearly) AS mean_comp,
                  max(r.years_code) AS max_years_code
        FROM bridge b JOIN respondents r USING (response_id)
        GROUP BY b.language"""
    ).df()
    table = pq.read_table(out)
    assert table.column_names == REPORT_COLUMNS
    assert_same_rows(table.to_pandas(), report, REPORT_COLUMNS, "language_report")
    assert "COBOL" in set(table.column("language").to_pylist())


def test_error_mode_writes_once(postgres, moto):
    """Stage snapshot copies respondents table to table in error mode: the
    first run creates and fills the copy, the second fails and changes nothing."""
    pg = postgres
    pg.psql("DROP TABLE IF EXISTS public.respondents_snapshot")
    pg.psql(RESPONDENTS_DDL.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS"))
    source = pg.frame(
        "SELECT response_id, country FROM public.respondents",
        ["response_id", "country"],
    )
    if source.empty:  # on its own, without the load test before it
        pg.psql(
            "INSERT INTO public.respondents (response_id, country) "
            "VALUES (1, 'Côte d''Ivoire'), (2, NULL), (3, '日本')"
        )
        source = pg.frame(
            "SELECT response_id, country FROM public.respondents",
            ["response_id", "country"],
        )
    args = {"JOB_NAME": "snapshot", **connection_args(pg)}
    env = job_env(moto)
    run_job(script("survey_jdbc", "snapshot"), args, env=env)

    def snapshot():
        return pg.frame(
            "SELECT response_id, country FROM public.respondents_snapshot",
            ["response_id", "country"],
        )

    assert_same_rows(
        snapshot(), source, ["response_id", "country"], "respondents_snapshot"
    )
    oid = table_oid(pg, "public.respondents_snapshot")
    pg.psql("UPDATE public.respondents SET country = 'changed'")
    proc = run_job(script("survey_jdbc", "snapshot"), args, env=env, ok=False)
    assert "already exists" in proc.stderr, proc.stderr[-4000:]
    assert table_oid(pg, "public.respondents_snapshot") == oid
    assert_same_rows(
        snapshot(), source, ["response_id", "country"], "respondents_snapshot"
    )


def test_wrong_password_is_refused(postgres, moto, inputs, tmp_path):
    """The credentials really come from the secret: with another password in
    it the load fails, and the tables are left as they were."""
    pg = postgres
    before = pg.psql("SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public'")
    secrets(moto).create_secret(
        Name="survey/wrong",
        SecretString=json.dumps({"username": USER, "password": "not the password"}),
    )
    args = {
        "JOB_NAME": "load",
        "pipec_input_responses_raw": inputs / "run1",
        **connection_args(pg),
        "pipec_secret_survey_db": "survey/wrong",
    }
    proc = run_job(script("survey_jdbc", "load"), args, env=job_env(moto), ok=False)
    assert "password authentication failed" in proc.stderr, proc.stderr[-4000:]
    after = pg.psql("SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public'")
    assert before == after
