"""Reads what `collectors run` wrote with other tools, as a data engineer would: the Parquet
(or CSV) files of one pipeline run, as one dataset, with DuckDB and pyarrow (locally) and
the Parquet objects with pyarrow's S3 file system (on moto). Exits non-zero, saying why,
when a reader fails or the rows differ from the input.

    read_outputs.py local OUT_DIR INPUT_CSV_GLOB [parquet|csv]
    read_outputs.py s3 ENDPOINT ACCESS_KEY SECRET BUCKET PREFIX ROWS VALUE_SUM
"""

import math
import sys


def fail(message):
    sys.exit(f"read_outputs: {message}")


def local(out_dir, csv_glob, file_format="parquet"):
    import duckdb
    import pyarrow.dataset as ds

    if file_format not in ("parquet", "csv"):
        fail(f"unknown format {file_format}")
    # The CSV files' hidden indexes (`.name.csv.index.json`) match neither reader.
    pattern = f"{out_dir}/**/*.{file_format}"
    reader = f"read_{file_format}('{pattern}')"
    con = duckdb.connect()
    expected = con.sql(
        f"SELECT count(*), sum(value), count(DISTINCT sensor_id) FROM read_csv('{csv_glob}') "
        "WHERE status = 'ok'"
    ).fetchone()
    duck = con.sql(
        f"SELECT count(*), sum(value), count(DISTINCT sensor_id), count(value_rolling_mean) "
        f"FROM {reader}"
    ).fetchone()
    if duck[0] != expected[0] or duck[2] != expected[2] or not math.isclose(duck[1], expected[1]):
        fail(f"DuckDB reads {duck[:3]} from {pattern}, the input holds {expected}")
    if duck[3] != duck[0]:
        fail(f"DuckDB: {duck[0] - duck[3]} rows without a rolling mean")
    # The columns as the pipeline made them, typed.
    described = con.sql(f"DESCRIBE SELECT * FROM {reader}").fetchall()
    types = {row[0]: row[1] for row in described}
    if not str(types.get("ts", "")).startswith("TIMESTAMP") or types.get("value") != "DOUBLE":
        fail(f"DuckDB sees the columns as {types}")

    table = ds.dataset(out_dir, format=file_format).to_table()
    if table.num_rows != expected[0]:
        fail(f"pyarrow reads {table.num_rows} rows from {out_dir}, the input holds {expected[0]}")
    if not math.isclose(sum(v for v in table.column("value").to_pylist()), expected[1]):
        fail("pyarrow: the values differ from the input's")
    print(f"DuckDB and pyarrow read {table.num_rows} {file_format} rows from {out_dir}")


def s3(endpoint, key, secret, bucket, prefix, rows, value_sum):
    import pyarrow.dataset as ds
    import pyarrow.fs as pafs
    from urllib.parse import urlsplit

    url = urlsplit(endpoint)
    fs = pafs.S3FileSystem(
        access_key=key,
        secret_key=secret,
        region="us-east-1",
        endpoint_override=url.netloc,
        scheme=url.scheme,
    )
    table = ds.dataset(f"{bucket}/{prefix}", format="parquet", filesystem=fs).to_table()
    if table.num_rows != int(rows):
        fail(f"pyarrow reads {table.num_rows} rows from s3://{bucket}/{prefix}, expected {rows}")
    if not math.isclose(sum(table.column("value").to_pylist()), float(value_sum)):
        fail(f"pyarrow: the values of s3://{bucket}/{prefix} differ from the input's")
    print(f"pyarrow reads {table.num_rows} rows from s3://{bucket}/{prefix}")


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    {"local": local, "s3": s3}[command](*args)
