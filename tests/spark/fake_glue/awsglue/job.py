from awsglue import log


class Job:
    def __init__(self, glue_context):
        self.glue_context = glue_context

    def init(self, name, args):
        log(f"init {name}")

    def commit(self):
        log("commit")
