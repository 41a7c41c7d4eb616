"""Hand-written, idiomatic PySpark doing the work of the generated
`carrier-routes` stage of tests/spark/fixtures/bench.yaml (the baseline of
benches/spark_vs_handwritten.py)."""

import sys

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

flights_path, airlines_path, airports_path, out_path = sys.argv[1:5]
spark = SparkSession.builder.appName("handwritten").getOrCreate()
spark.conf.set("spark.sql.sources.partitionOverwriteMode", "dynamic")

flights = spark.read.csv(
    flights_path,
    header=True,
    nullValue="NA",
    schema="year int, month int, day int, dep_time int, sched_dep_time int, "
    "dep_delay double, arr_time int, sched_arr_time int, arr_delay double, "
    "carrier string, flight int, tailnum string, origin string, dest string, "
    "air_time double, distance double, hour int, minute int, time_hour string",
)
airlines = spark.read.csv(
    airlines_path, header=True, schema="carrier string, name string"
)
airports = spark.read.csv(
    airports_path,
    header=True,
    schema="faa string, name string, lat double, lon double, alt int, tz double, "
    "dst string, tzone string",
)

result = (
    flights.join(F.broadcast(airlines.withColumnRenamed("name", "airline")), "carrier")
    .join(
        F.broadcast(airports.withColumnRenamed("name", "dest_name")),
        F.col("dest") == F.col("faa"),
    )
    .groupBy("origin", "airline", "dest_name")
    .agg(
        F.count("*").alias("flights"),
        F.avg("arr_delay").alias("mean_arr_delay"),
        F.sum("distance").alias("total_distance"),
    )
)
result.write.mode("overwrite").partitionBy("origin").parquet(out_path)
