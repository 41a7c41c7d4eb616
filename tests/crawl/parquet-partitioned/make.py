"""Writes the case's Parquet files under argv[1] (the pipeline's local dir)."""

import datetime
import decimal
import os
import sys

import pyarrow as pa
import pyarrow.parquet as pq

schema = pa.schema(
    [
        ("id", pa.int32()),
        ("amount", pa.decimal128(10, 2)),
        ("sold_at", pa.timestamp("us")),
        ("tags", pa.list_(pa.string())),
        ("buyer", pa.struct([("name", pa.string()), ("age", pa.int32())])),
    ]
)
root = os.path.join(sys.argv[1], "silver", "sales")
for country, year, ids in [
    ("FR", 2023, [1, 2]),
    ("FR", 2024, [3]),
    ("UK", 2024, [4, 5]),
]:
    d = os.path.join(root, f"country={country}", f"year={year}")
    os.makedirs(d, exist_ok=True)
    rows = {
        "id": ids,
        "amount": [decimal.Decimal(f"{i}.50") for i in ids],
        "sold_at": [datetime.datetime(year, 1, i) for i in ids],
        "tags": [["a", str(i)] for i in ids],
        "buyer": [{"name": f"b{i}", "age": 20 + i} for i in ids],
    }
    pq.write_table(
        pa.table(rows, schema=schema), os.path.join(d, "part-00000.snappy.parquet")
    )
    open(os.path.join(root, "_SUCCESS"), "w").close()
