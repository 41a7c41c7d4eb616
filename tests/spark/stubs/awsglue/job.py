"""Job: `init(job_name, args)` at the start of a script, `commit()` at the
end (bookmarks do not work without both).
https://docs.aws.amazon.com/glue/latest/dg/programming-etl-connect-bookmarks.html
"""

from awsglue import record
from awsglue.context import GlueContext


class Job:
    def __init__(self, glue_context):
        if not isinstance(glue_context, GlueContext):
            raise TypeError("Job takes a GlueContext")
        self._initialized = False

    def init(self, job_name, args=None):
        if self._initialized:
            raise RuntimeError("Job.init called twice")
        if not isinstance(job_name, str) or not isinstance(args or {}, dict):
            raise TypeError("Job.init takes a name and a dict of arguments")
        self._initialized = True
        record("Job.init", name=job_name, args=dict(args or {}))

    def commit(self):
        if not self._initialized:
            raise RuntimeError("Job.commit before Job.init")
        record("Job.commit")
