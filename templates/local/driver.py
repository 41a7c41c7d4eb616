"""The driver of a local pipec run: one Python process, one JVM, one
SparkSession for every Spark stage of one Glue version.

pipec (src/run/driver.rs) writes this file under .pipec/ and starts it with
the run's scripts folder as its only argument. It speaks JSON lines: pipec
writes commands on stdin, the driver answers on its original stdout.

    {"op": "run", "id": "clean", "script": PATH, "argv": [...], "log": PATH,
     "jdbc_standins": {"CONNECTION": DIR}, "iceberg_warehouse": DIR}
    {"op": "cancel", "id": "clean"}
    {"op": "quit"}

    {"event": "ready"}
    {"event": "report", "id": "clean", "kind": "rows_read", ...}
    {"event": "done", "id": "clean", "ok": false, "error": "...",
     "traceback": ["..."]}

Each stage runs in its own thread on `spark.newSession()` (its own SQL
settings, the shared SparkContext) under a job group named after it, so a
cancel stops only its jobs. The stage's prints go to its log file.
"""

import json
import os
import runpy
import sys
import threading
import traceback

PROTOCOL = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
WRITE = threading.Lock()


def send(**message):
    """One protocol line on the original stdout."""
    with WRITE:
        PROTOCOL.write(json.dumps(message) + "\n")
        PROTOCOL.flush()


class PerThread:
    """sys.stdout and sys.stderr: each stage thread writes to its own log,
    every other thread to the driver's stderr (its log file)."""

    def __init__(self, fallback):
        self.fallback = fallback
        self.local = threading.local()

    def _target(self):
        return getattr(self.local, "file", None) or self.fallback

    def write(self, text):
        return self._target().write(text)

    def flush(self):
        self._target().flush()

    def isatty(self):
        return False


def main():
    scripts = sys.argv[1]
    sys.path.insert(0, scripts)
    # Fd 1 now goes to the driver's stderr: the JVM and any stray print
    # cannot corrupt the protocol.
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    out, err = PerThread(sys.stderr), PerThread(sys.stderr)
    sys.stdout, sys.stderr = out, err

    import pipec_runtime
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.appName("pipec-local")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
    )
    cache = os.environ.get("PIPEC_ICEBERG_CACHE")
    if cache:
        # Iceberg tables: the runtime jar and its Jackson classes (see
        # iceberg_jars.py beside this file), and Iceberg's SQL extensions,
        # which only a new session takes.
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import iceberg_jars

        builder = builder.config("spark.jars", ",".join(iceberg_jars.jars(cache)))
        builder = builder.config(
            "spark.sql.extensions",
            "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions",
        )
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    send(event="ready")

    def run(command):
        stage = command["id"]
        with open(command["log"], "a", buffering=1) as log:
            run_logged(command, stage, log)

    def run_logged(command, stage, log):
        out.local.file = log
        err.local.file = log
        session = spark.newSession()
        session.sparkContext.setJobGroup(stage, f"pipec stage {stage}", True)

        def report(kind, fields):
            send(event="report", id=stage, kind=kind, **fields)

        pipec_runtime.LOCAL.argv = command["argv"]
        pipec_runtime.LOCAL.spark = session
        pipec_runtime.LOCAL.report = report
        # Connections given no --jdbc: their tables are Parquet folders here.
        pipec_runtime.LOCAL.jdbc_standins = command.get("jdbc_standins") or {}
        # Iceberg tables: the Hadoop catalog's warehouse (the run's folder).
        pipec_runtime.LOCAL.iceberg_warehouse = command.get("iceberg_warehouse")
        try:
            runpy.run_path(command["script"], run_name="__main__")
            pipec_runtime.flush_reports()
            send(event="done", id=stage, ok=True)
        except BaseException as error:  # noqa: BLE001 - every failure is the stage's
            lines = traceback.format_exception(error)
            log.write("".join(lines))
            tail = "".join(lines).rstrip("\n").splitlines()[-12:]
            message = f"{type(error).__name__}: {error}".splitlines()
            send(
                event="done",
                id=stage,
                ok=False,
                error=message[0] if message else type(error).__name__,
                traceback=tail,
            )
        finally:
            out.local.file = err.local.file = None

    for line in sys.stdin:
        command = json.loads(line)
        op = command.get("op")
        if op == "run":
            threading.Thread(target=run, args=(command,), daemon=True).start()
        elif op == "cancel":
            spark.sparkContext.cancelJobGroup(command["id"])
        elif op == "quit":
            break
    spark.stop()


if __name__ == "__main__":
    main()
