from pyspark.sql import SparkSession

from awsglue import log


class GlueContext:
    def __init__(self, sc):
        log("GlueContext")
        self.spark_session = SparkSession(sc)
