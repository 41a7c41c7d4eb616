"""getResolvedOptions as AWS documents it: `args` is sys.argv, `options` the
names to retrieve; each is passed as `--name` (here also `--name=value`) and
returned without the dashes. Every listed name is required. Arguments that are
not asked for, such as Glue's own `--JOB_ID`, `--JOB_RUN_ID`, `--TempDir` or
`--job-bookmark-option`, are passed alongside and ignored.
https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-crawler-pyspark-extensions-get-resolved-options.html
"""

import sys

from awsglue import record


class GlueArgumentError(SystemExit):
    """A required job argument is missing (Glue fails the run)."""


def _pairs(argv):
    """The `--name value` and `--name=value` pairs of a command line."""
    out = {}
    i = 0
    while i < len(argv):
        token = argv[i]
        i += 1
        if not token.startswith("--"):
            continue
        name, eq, value = token[2:].partition("=")
        if not eq:
            if i < len(argv) and not argv[i].startswith("--"):
                value = argv[i]
                i += 1
            else:
                value = None
        out[name] = value
    return out


def getResolvedOptions(args, options):  # noqa: N802 - Glue's name
    if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
        raise TypeError("options must be a list of argument names")
    given = _pairs(list(args[1:]))
    missing = [o for o in options if given.get(o) is None]
    record("getResolvedOptions", options=list(options), missing=missing)
    if missing:
        message = "the following arguments are required: " + ", ".join(
            f"--{o}" for o in missing
        )
        print(f"error: {message}", file=sys.stderr)
        raise GlueArgumentError(message)
    return {o: given[o] for o in options}
