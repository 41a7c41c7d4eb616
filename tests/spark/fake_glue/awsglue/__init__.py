"""A stand-in for AWS Glue's awsglue package, to run a script's Glue branch
locally: it records what the script does with it in $FAKE_GLUE_LOG."""

import json
import os


def log(event):
    with open(os.environ["FAKE_GLUE_LOG"], "a", encoding="utf-8") as f:
        f.write(json.dumps(event) + "\n")
