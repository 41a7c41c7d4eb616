from awsglue import log


class DynamicFrame:
    def __init__(self, df, name):
        self.df, self.name = df, name

    @classmethod
    def fromDF(cls, df, glue_context, name):  # noqa: N802 - Glue's name
        log(f"fromDF {name}")
        return cls(df, name)

    def toDF(self):  # noqa: N802 - Glue's name
        return self.df
