"""GlueContext wraps a SparkContext and exposes its SparkSession as
`spark_session`.
https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-crawler-pyspark-extensions-glue-context.html
"""

from pyspark import SparkContext
from pyspark.sql import SparkSession

from awsglue import record


class GlueContext:
    def __init__(self, spark_context):
        if not isinstance(spark_context, SparkContext):
            raise TypeError("GlueContext takes a SparkContext")
        record("GlueContext")
        self._sc = spark_context
        self._session = SparkSession.builder.getOrCreate()

    @property
    def spark_session(self):
        return self._session
