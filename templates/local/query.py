"""pipec's local Athena: SQL over the local Glue Data Catalog with DuckDB.

In: a JSON request on stdin, {"catalog": <the catalog file's object>,
"sql": "..."}. Out: a JSON result on stdout, {"columns": [...], "types":
[...], "rows": [[...]]}, or {"error": "..."} when DuckDB refuses the
query (exit status 0 either way: a non-zero status is a crash). Each table
is a view by its name and by `database.table`, with its partition keys as
columns, read the way Athena reads it through the table's SerDe. An Iceberg
table is read as Athena reads it: its current snapshot, through its metadata
(pyiceberg), so rows that later snapshots deleted or replaced are not seen.
"""

import datetime
import decimal
import json
import os
import sys

import duckdb
import pyarrow as pa
import pyarrow.orc as paorc

HIDDEN = ("_", ".")

SIMPLE = {
    "string": "VARCHAR",
    "varchar": "VARCHAR",
    "char": "VARCHAR",
    "tinyint": "TINYINT",
    "smallint": "SMALLINT",
    "int": "INTEGER",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "float": "FLOAT",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "binary": "BLOB",
}


def duck_type(hive):
    """The DuckDB type of a Hive type; None for nested types, which are
    read as the files hold them."""
    t = hive.strip().lower()
    base = t.split("(", 1)[0]
    if base == "decimal":
        return t.upper()
    return SIMPLE.get(base)


def q(name):
    return '"' + name.replace('"', '""') + '"'


def lit(text):
    return "'" + text.replace("'", "''") + "'"


def files_of(table):
    """The files Athena reads: every visible file under the location, or
    for a partitioned table only those under registered partitions (Athena
    reads the partitions the catalog lists, nothing else)."""
    root = table["location"]
    if table["partition_keys"]:
        roots = [os.path.join(root, *p.split("/")) for p in table["partitions"]]
    else:
        roots = [root]
    out = []
    for r in roots:
        for base, dirs, names in os.walk(r):
            dirs[:] = sorted(d for d in dirs if not d.startswith(HIDDEN))
            out.extend(
                os.path.join(base, n) for n in sorted(names) if not n.startswith(HIDDEN)
            )
    return out


def partition_values(table, path):
    rel = os.path.relpath(os.path.dirname(path), table["location"])
    values = {}
    for seg in [] if rel == "." else rel.split(os.sep):
        k, sep, v = seg.partition("=")
        if sep:
            values[k.lower()] = v
    return values


def iceberg_snapshot(table):
    """The current snapshot of a local (Hadoop catalog) Iceberg table as an
    Arrow table, or None before its first commit."""
    meta = os.path.join(table["location"], "metadata")
    hint = os.path.join(meta, "version-hint.text")
    if not os.path.isfile(hint):
        return None
    from pyiceberg.table import StaticTable

    with open(hint, encoding="utf-8") as f:
        version = f.read().strip()
    path = os.path.join(meta, f"v{version}.metadata.json")
    return StaticTable.from_metadata(path).scan().to_arrow()


def source(con, name, table):
    """A SELECT that reads one table as Athena would, or None when the
    table has no files (an empty result of the declared columns)."""
    snapshot = None
    if table["format"] == "iceberg":
        snapshot = iceberg_snapshot(table)
        files = [] if snapshot is None else [table["location"]]
    else:
        files = files_of(table)
    cols = table["columns"]
    keys = table["partition_keys"]
    if not files:
        parts = [
            f"CAST(NULL AS {duck_type(c['type']) or 'VARCHAR'}) AS {q(c['name'])}"
            for c in cols + keys
        ]
        return "SELECT " + ", ".join(parts) + " WHERE false"
    fmt = table["format"]
    hive_types = "{" + ", ".join(f"{lit(k['name'])}: 'VARCHAR'" for k in keys) + "}"
    hive = f", hive_partitioning = true, hive_types = {hive_types}" if keys else ""
    file_list = "[" + ", ".join(lit(f) for f in files) + "]"
    if fmt == "csv":
        c = table["csv"]
        # Every field is read as text first; the SerDe then gives it its
        # type. OpenCSVSerde keeps strings as they are (an empty field is an
        # empty string); LazySimpleSerDe makes `null_value` NULL and values
        # that do not parse NULL:
        # https://docs.aws.amazon.com/athena/latest/ug/csv-serde.html
        # https://docs.aws.amazon.com/athena/latest/ug/lazy-simple-serde.html
        columns = (
            "{"
            + ", ".join(f"{lit(f'c{i}')}: 'VARCHAR'" for i in range(len(cols)))
            + "}"
        )
        escape = c["quote"] if c["escape"] == c["quote"] else c["escape"]
        reader = (
            f"read_csv({file_list}, delim = {lit(c['delimiter'])}, "
            f"quote = {lit(c['quote'])}, "
            f"escape = {lit(escape)}, header = {'true' if c['header'] else 'false'}, "
            f"columns = {columns}, nullstr = {lit(chr(0))}, auto_detect = false, "
            f"null_padding = true, strict_mode = false{hive})"
        )
        parts = []
        for i, col in enumerate(cols):
            raw = q(f"c{i}")
            ty = duck_type(col["type"]) or "VARCHAR"
            if c["serde"] == "OpenCSVSerde":
                expr = raw
            else:
                null = lit(c["null_value"])
                cast = f"TRY_CAST({raw} AS {ty})"
                expr = f"CASE WHEN {raw} = {null} THEN NULL ELSE {cast} END"
            parts.append(f"{expr} AS {q(col['name'])}")
    else:
        if fmt == "iceberg":
            view = f"__iceberg_{len(con.execute('SHOW TABLES').fetchall())}"
            con.register(view, snapshot)
            reader = q(view)
        elif fmt == "parquet":
            reader = f"read_parquet({file_list}, union_by_name = true{hive})"
        elif fmt == "json":
            reader = (
                f"read_json_auto({file_list}, union_by_name = true, "
                f"format = 'newline_delimited'{hive})"
            )
        else:
            pieces = []
            for f in files:
                t = paorc.ORCFile(f).read()
                for k, v in partition_values(table, f).items():
                    t = t.append_column(k, pa.array([v] * t.num_rows, pa.string()))
                pieces.append(t)
            view = f"__orc_{len(con.execute('SHOW TABLES').fetchall())}"
            con.register(view, pa.concat_tables(pieces, promote_options="default"))
            reader = q(view)
        present = {
            r[0].lower(): r[0]
            for r in con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
        }
        parts = []
        for col in cols:
            ty = duck_type(col["type"])
            actual = present.get(col["name"].lower())
            # Athena reads Parquet by column name; a catalog column the files
            # lack reads as NULL.
            if actual is None:
                parts.append(f"CAST(NULL AS {ty or 'VARCHAR'}) AS {q(col['name'])}")
            elif ty is None:
                parts.append(f"{q(actual)} AS {q(col['name'])}")
            else:
                parts.append(f"TRY_CAST({q(actual)} AS {ty}) AS {q(col['name'])}")
    for k in keys:
        ty = duck_type(k["type"]) or "VARCHAR"
        parts.append(f"TRY_CAST({q(k['name'])} AS {ty}) AS {q(k['name'])}")
    return f"SELECT {', '.join(parts)} FROM {reader}"


def plain(v):
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, (datetime.datetime, datetime.date, datetime.time)):
        return (
            v.isoformat(sep=" ") if isinstance(v, datetime.datetime) else v.isoformat()
        )
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    return str(v)


def main():
    request = json.load(sys.stdin)
    catalog = request["catalog"]
    con = duckdb.connect()
    db = catalog["database"]
    try:
        con.execute(f"CREATE SCHEMA {q(db)}")
        for name, table in sorted(catalog["tables"].items()):
            select = source(con, name, table)
            con.execute(f"CREATE VIEW {q(db)}.{q(name)} AS {select}")
            con.execute(
                f"CREATE VIEW main.{q(name)} AS SELECT * FROM {q(db)}.{q(name)}"
            )
    except Exception as e:  # a file DuckDB or pyarrow cannot read names its table
        json.dump({"error": f"cannot open table `{name}`: {e}"}, sys.stdout)
        return
    try:
        cur = con.execute(request["sql"])
        if cur.description is None:
            out = {"columns": [], "types": [], "rows": []}
        else:
            out = {
                "columns": [d[0] for d in cur.description],
                "types": [str(d[1]) for d in cur.description],
                "rows": [[plain(v) for v in row] for row in cur.fetchall()],
            }
    except duckdb.Error as e:
        json.dump({"error": str(e)}, sys.stdout)
        return
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
