"""EvaluateDataQuality.apply(frame, ruleset, publishing_options) evaluates a
DQDL ruleset (`Rules = [rule, rule, ...]`) and returns a DynamicFrame with one
row per rule and the columns Rule, Outcome, FailureReason, EvaluatedMetrics.
https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-crawler-pyspark-transforms-EvaluateDataQuality.html
https://docs.aws.amazon.com/glue/latest/dg/dqdl.html

The stand-in does not evaluate the rules: every rule passes unless the test
names it in FAIL (or in $PIPEC_GLUE_DQ_FAIL, a JSON object), with a reason.
"""

import json
import os

from awsglue import record
from awsglue.dynamicframe import DynamicFrame

# Rule text -> failure reason, for the rules that fail.
FAIL = {}
# The documented publishing options.
OPTIONS = {
    "dataQualityEvaluationContext",
    "enableDataQualityCloudWatchMetrics",
    "enableDataQualityResultsPublishing",
    "resultsS3Prefix",
}


def split_rules(ruleset):
    """The top-level rules of `Rules = [ ... ]`: split at commas outside
    quotes and brackets, as DQDL's grammar does."""
    text = ruleset.strip()
    head, sep, body = text.partition("[")
    if head.strip() != "Rules =" or not sep or not body.endswith("]"):
        raise ValueError(f"not a DQDL ruleset: {ruleset!r}")
    body = body[:-1]
    rules, depth, quoted, start, i = [], 0, False, 0, 0
    while i < len(body):
        c = body[i]
        if quoted:
            if c == "\\":
                i += 1
            elif c == '"':
                quoted = False
        elif c == '"':
            quoted = True
        elif c in "[(":
            depth += 1
        elif c in "])":
            depth -= 1
        elif c == "," and depth == 0:
            rules.append(body[start:i].strip())
            start = i + 1
        i += 1
    if quoted or depth:
        raise ValueError(f"unbalanced DQDL ruleset: {ruleset!r}")
    rules.append(body[start:].strip())
    if not all(rules):
        raise ValueError(f"empty rule in {ruleset!r}")
    return rules


class EvaluateDataQuality:
    @staticmethod
    def apply(frame, ruleset, publishing_options=None):
        if not isinstance(frame, DynamicFrame):
            raise TypeError("EvaluateDataQuality.apply takes a DynamicFrame")
        options = dict(publishing_options or {})
        unknown = set(options) - OPTIONS
        if unknown:
            raise ValueError(f"unknown publishing options: {sorted(unknown)}")
        rules = split_rules(ruleset)
        record(
            "EvaluateDataQuality.apply",
            frame=frame.name,
            ruleset=ruleset,
            rules=rules,
            publishing_options=options,
        )
        fail = dict(FAIL)
        fail.update(json.loads(os.environ.get("PIPEC_GLUE_DQ_FAIL", "{}")))
        spark = frame.toDF().sparkSession
        rows = [
            (rule, "Failed", fail[rule], {"Dataset.*.RowCount": 0.0})
            if rule in fail
            else (rule, "Passed", None, {"Dataset.*.RowCount": 1.0})
            for rule in rules
        ]
        df = spark.createDataFrame(
            rows,
            "Rule string, Outcome string, FailureReason string, "
            "EvaluatedMetrics map<string, double>",
        )
        return DynamicFrame(df, frame.glue_ctx, "dq_results")
