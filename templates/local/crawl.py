"""pipec's local crawler: what a Glue crawler over catalog tables finds.

In: a JSON request on stdin, {"tables": [{"name", "location", "format",
"csv": {"delimiter", "quote", "escape", "header", "null_value"} | null,
"partition_keys": [...]}]}. Out: a JSON result on stdout, {"tables": [{"name",
"files", "columns": [[name, type]], "partition_keys": [...], "partitions":
[...], "error"}]}, with Hive/Glue type text. No Spark: pyarrow reads the file
schemas, and CSV is classified by Glue's documented CSV rules.
"""

import csv
import json
import os
import re
import sys

import pyarrow as pa
import pyarrow.json as pajson
import pyarrow.orc as paorc
import pyarrow.parquet as pq

# Athena (and Glue's readers) skip files whose names start with `_` or `.`,
# such as Spark's `_SUCCESS`:
# https://docs.aws.amazon.com/athena/latest/ug/tables-location-format.html
HIDDEN = ("_", ".")

# How many CSV data rows are classified. Glue reads a sample of each file
# (the first megabyte) rather than the whole file.
CSV_SAMPLE_ROWS = 1000


def hive_type(t):
    """The Hive/Glue type text of an Arrow type, as Glue's Parquet, ORC and
    JSON classifiers map file types to catalog types."""
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_int8(t):
        return "tinyint"
    if pa.types.is_int16(t) or pa.types.is_uint8(t):
        return "smallint"
    if pa.types.is_int32(t) or pa.types.is_uint16(t):
        return "int"
    if pa.types.is_integer(t):
        return "bigint"
    if pa.types.is_float32(t) or pa.types.is_float16(t):
        return "float"
    if pa.types.is_float64(t):
        return "double"
    if pa.types.is_decimal(t):
        return f"decimal({t.precision},{t.scale})"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t):
        return "string"
    if (
        pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
        or pa.types.is_fixed_size_binary(t)
    ):
        return "binary"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_timestamp(t):
        return "timestamp"
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return f"array<{hive_type(t.value_type)}>"
    if pa.types.is_map(t):
        return f"map<{hive_type(t.key_type)},{hive_type(t.item_type)}>"
    if pa.types.is_struct(t):
        fields = ",".join(f"{f.name}:{hive_type(f.type)}" for f in t)
        return f"struct<{fields}>"
    if pa.types.is_dictionary(t):
        return hive_type(t.value_type)
    return "string"


def json_type(t):
    """Glue's JSON classifier keeps text as string: pyarrow would read ISO
    dates as timestamps, Glue does not."""
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return "string"
    if pa.types.is_list(t):
        return f"array<{json_type(t.value_type)}>"
    if pa.types.is_struct(t):
        return "struct<" + ",".join(f"{f.name}:{json_type(f.type)}" for f in t) + ">"
    return hive_type(t)


BOOLEAN = re.compile(r"^(true|false)$", re.IGNORECASE)
BIGINT = re.compile(r"^[+-]?\d+$")
DOUBLE = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$")
# The order in which one CSV column's types widen: a column whose values are
# all integers is bigint, integers and decimals together double, and anything
# else string (Glue's built-in CSV classifier, which types columns as
# boolean, bigint, double or string:
# https://docs.aws.amazon.com/glue/latest/dg/add-classifier.html).
RANK = {"boolean": 0, "bigint": 1, "double": 2, "string": 3}


def csv_value_type(v):
    if BOOLEAN.match(v):
        return "boolean"
    if BIGINT.match(v):
        return "bigint" if -(2**63) <= int(v) < 2**63 else "double"
    if DOUBLE.match(v):
        return "double"
    return "string"


def widen(a, b):
    if a is None:
        return b
    if a == b:
        return a
    if "boolean" in (a, b):
        return "string"
    return a if RANK[a] > RANK[b] else b


def csv_schema(path, opts):
    """Classifies one CSV file's columns. The declared options say the
    delimiter, quote and header, as a custom CSV classifier would; values are
    trimmed before they are typed (Glue's default, DisableValueTrimming
    false:
    https://docs.aws.amazon.com/glue/latest/webapi/API_CsvClassifier.html),
    and empty or null_value fields say nothing about a type."""
    null = opts.get("null_value", "")
    escape = opts.get("escape") or None
    doublequote = opts.get("preset") == "rfc4180" or escape == opts.get("quote")
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        reader = csv.reader(
            f,
            delimiter=opts.get("delimiter", ","),
            quotechar=opts.get("quote", '"'),
            escapechar=None if doublequote else escape,
            doublequote=doublequote,
        )
        header = None
        types = []
        for i, row in enumerate(reader):
            if i == 0 and opts.get("header", True):
                header = row
                continue
            if i > CSV_SAMPLE_ROWS:
                break
            while len(types) < len(row):
                types.append(None)
            for j, raw in enumerate(row):
                v = raw.strip()
                if v == "" or v == null:
                    continue
                types[j] = widen(types[j], csv_value_type(v))
    width = max(len(types), len(header or []))
    names = []
    for j in range(width):
        # Glue names headerless columns col0, col1, ...; header names are
        # lower-cased as the Data Catalog stores them.
        if header is not None and j < len(header) and header[j].strip():
            names.append(header[j].strip().lower())
        else:
            names.append(f"col{j}")
    return [
        (n, (types[j] if j < len(types) else None) or "string")
        for j, n in enumerate(names)
    ]


def file_schema(path, fmt, opts):
    if fmt == "parquet":
        return [(f.name, hive_type(f.type)) for f in pq.read_schema(path)]
    if fmt == "orc":
        return [(f.name, hive_type(f.type)) for f in paorc.ORCFile(path).schema]
    if fmt == "json":
        table = pajson.read_json(path)
        return [(f.name, json_type(f.type)) for f in table.schema]
    return csv_schema(path, opts)


def merge(columns, found):
    """Adds one file's columns to the table's, in first-seen order. A column
    typed differently by two files widens as CSV values do, else becomes
    string, the one type that holds both."""
    for name, ty in found:
        if name not in columns:
            columns[name] = ty
        elif columns[name] != ty:
            a, b = columns[name], ty
            columns[name] = widen(a, b) if a in RANK and b in RANK else "string"


def crawl_table(req):
    location = req["location"]
    fmt = req.get("format", "parquet")
    opts = req.get("csv") or {}
    declared_keys = req.get("partition_keys", [])
    result = {
        "name": req["name"],
        "files": 0,
        "columns": [],
        "partition_keys": [],
        "partitions": [],
        "error": None,
    }
    if not os.path.isdir(location):
        # An empty prefix is a crawl that finds nothing, not a failure.
        return result
    files = []
    for root, dirs, names in os.walk(location):
        dirs[:] = sorted(d for d in dirs if not d.startswith(HIDDEN))
        for n in sorted(names):
            if not n.startswith(HIDDEN):
                files.append(os.path.join(root, n))
    columns = {}
    partitions = set()
    keys = []
    for path in files:
        rel = os.path.relpath(os.path.dirname(path), location)
        parts = [] if rel == "." else rel.split(os.sep)
        # A folder named `key=value` is a Hive-style partition; other folders
        # become keys partition_0, partition_1, ... as Glue names them:
        # https://docs.aws.amazon.com/glue/latest/dg/crawler-s3-folder-table-partition.html
        these = []
        for i, seg in enumerate(parts):
            key, sep, _ = seg.partition("=")
            these.append(key if sep else f"partition_{i}")
        if len(these) > len(keys):
            keys = these
        if parts:
            partitions.add("/".join(parts))
        try:
            merge(columns, file_schema(path, fmt, opts))
        except Exception as e:  # one unreadable file names itself, not the table
            result["error"] = (
                f"{os.path.relpath(path, location)}: cannot read as {fmt}: {e}"
            )
            return result
        result["files"] += 1
    part_names = set(keys) | set(declared_keys)
    result["columns"] = [[n, t] for n, t in columns.items() if n not in part_names]
    result["partition_keys"] = keys
    result["partitions"] = sorted(partitions)
    return result


def main():
    request = json.load(sys.stdin)
    out = {"tables": [crawl_table(t) for t in request["tables"]]}
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
