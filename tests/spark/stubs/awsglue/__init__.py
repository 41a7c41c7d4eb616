"""Stand-in for AWS Glue's `awsglue` package (see ../README.md): it records
every call a job script makes, so a test can check them."""

import json
import os

# Calls made since the last reset(), as (name, details) pairs.
CALLS = []


def record(event, **details):
    CALLS.append((event, details))
    log = os.environ.get("PIPEC_GLUE_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as f:
            f.write(json.dumps([event, details], default=str) + "\n")


def reset():
    CALLS.clear()
