"""DynamicFrame.fromDF(dataframe, glue_ctx, name) and toDF(), over a Spark
DataFrame.
https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-crawler-pyspark-extensions-dynamic-frame.html
"""

from pyspark.sql import DataFrame

from awsglue import record
from awsglue.context import GlueContext


class DynamicFrame:
    def __init__(self, df, glue_ctx, name):
        self._df, self.glue_ctx, self.name = df, glue_ctx, name

    @classmethod
    def fromDF(cls, dataframe, glue_ctx, name):  # noqa: N802 - Glue's name
        if not isinstance(dataframe, DataFrame):
            raise TypeError("fromDF takes a Spark DataFrame")
        if not isinstance(glue_ctx, GlueContext):
            raise TypeError("fromDF takes a GlueContext")
        record("DynamicFrame.fromDF", name=name, columns=list(dataframe.columns))
        return cls(dataframe, glue_ctx, name)

    def toDF(self):  # noqa: N802 - Glue's name
        return self._df
