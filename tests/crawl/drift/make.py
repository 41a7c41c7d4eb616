"""Writes Parquet that drifted from the declaration under argv[1]."""

import os
import sys

import pyarrow as pa
import pyarrow.parquet as pq

root = os.path.join(sys.argv[1], "silver", "orders")
for country, region in [("FR", "eu"), ("US", "na")]:
    d = os.path.join(root, f"country={country}", f"region={region}")
    os.makedirs(d, exist_ok=True)
    t = pa.table(
        {
            "id": pa.array([1, 2], pa.int32()),
            "quantity": pa.array([3, 4], pa.int64()),
            "discount": pa.array([0.1, None], pa.float64()),
        }
    )
    pq.write_table(t, os.path.join(d, "part-0.parquet"))
