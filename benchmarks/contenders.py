"""The contenders that are not `manifest-loader` itself, one per process.

`python -m benchmarks.contenders NAME CONFIG_JSON` loads the dataset the way NAME does and
prints one JSON line: rows loaded and the seconds spent inside the process after imports. The
harness times the whole process from outside (wall time, peak RSS) and checks the table's
content afterwards; nothing here checks anything, like the tools it stands for.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

BATCH_ROWS = 65_536
EXECUTEMANY_CHUNK = 10_000


def _files(config: dict[str, Any]) -> list[Path]:
    return [Path(f) for f in config["files"]]


def _sample_batches(config: dict[str, Any]) -> Iterator[Any]:
    """The first config['rows'] rows of the dataset's files, as record batches."""
    import pyarrow.parquet as pq

    left = config["rows"]
    for path in _files(config):
        for batch in pq.ParquetFile(path).iter_batches(batch_size=EXECUTEMANY_CHUNK):
            if left <= 0:
                return
            batch = batch.slice(0, left)
            left -= batch.num_rows
            yield batch


def adbc(config: dict[str, Any]) -> int:
    """Raw ADBC: Parquet batches cast to the table's types, adbc_ingest (binary COPY), commit."""
    import pyarrow as pa

    from benchmarks.dataset import SCHEMA

    schema = pa.schema([f.with_nullable(True) for f in SCHEMA])
    return _adbc_ingest(config, schema, _cast_batches(config, schema))


def _cast_batches(config: dict[str, Any], schema: Any) -> Iterator[Any]:
    """The dataset's files in BATCH_ROWS batches, cast to the table's types."""
    import pyarrow.parquet as pq

    for path in _files(config):
        for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS):
            yield batch.cast(schema)


def _adbc_ingest(config: dict[str, Any], schema: Any, batches: Iterator[Any]) -> int:
    """adbc_ingest (binary COPY) of the batches into config's table, in one transaction."""
    import adbc_driver_postgresql.dbapi as dbapi
    import pyarrow as pa

    with dbapi.connect(config["url"]) as conn, conn.cursor() as cur:
        reader = pa.RecordBatchReader.from_batches(schema, batches)
        rows = cur.adbc_ingest(config["table"], reader, mode="append", db_schema_name=config["schema"])
        conn.commit()
    return int(rows)


def adbc_s3(config: dict[str, Any]) -> int:
    """Raw ADBC from S3: the same files read from the S3 objects apply's S3 contender loads, through
    pyarrow's S3 filesystem (one object after another, each row group's column chunks fetched
    together: pre_buffer), cast, adbc_ingest, commit. The like-for-like baseline of an apply
    from S3: both pay for the same objects coming from the same S3."""
    import os

    import pyarrow as pa
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq

    from benchmarks.dataset import SCHEMA

    schema = pa.schema([f.with_nullable(True) for f in SCHEMA])
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    s3 = pafs.S3FileSystem(endpoint_override=endpoint.split("://", 1)[1], scheme=endpoint.split("://", 1)[0],
                           region=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))

    def batches() -> Iterator[pa.RecordBatch]:
        for key in config["objects"]:
            with s3.open_input_file(key) as handle:
                for batch in pq.ParquetFile(handle, pre_buffer=True).iter_batches(batch_size=BATCH_ROWS):
                    yield batch.cast(schema)

    return _adbc_ingest(config, schema, batches())


def pgpq_copy(config: dict[str, Any]) -> int:
    """The same batches as raw ADBC, cast the same way, encoded by pgpq (Arrow to PostgreSQL's
    binary COPY format, in Rust) and sent through psycopg's COPY FROM STDIN, in one transaction.
    Not a loader anyone runs: it measures how much of raw ADBC's time is its driver's encoder."""
    import psycopg
    import pyarrow as pa
    from pgpq import ArrowToPostgresBinaryEncoder
    from psycopg import sql

    from benchmarks.dataset import SCHEMA

    schema = pa.schema([f.with_nullable(True) for f in SCHEMA])
    encoder, rows = ArrowToPostgresBinaryEncoder(schema), 0
    statement = sql.SQL("COPY {} FROM STDIN WITH (FORMAT BINARY)").format(
        sql.Identifier(config["schema"], config["table"]))
    with psycopg.connect(config["url"]) as conn:
        with conn.cursor().copy(statement) as copy:
            copy.write(encoder.write_header())
            for batch in _cast_batches(config, schema):
                copy.write(encoder.write_batch(batch))
                rows += batch.num_rows
            copy.write(encoder.finish())
        conn.commit()
    return rows


def _sa_table(config: dict[str, Any]) -> Any:
    import sqlalchemy as sa

    types = {"id": sa.BigInteger, "qty": sa.Integer, "score": sa.Float(53), "amount": sa.Numeric(18, 2),
             "code": sa.String(16), "note": sa.String(128), "active": sa.Boolean, "day": sa.Date,
             "event_at": sa.DateTime(timezone=False), "created_at": sa.DateTime(timezone=True)}
    return sa.Table(config["table"], sa.MetaData(), *(sa.Column(n, t) for n, t in types.items()),
                    schema=config["schema"])


def _engine(config: dict[str, Any]) -> Any:
    import sqlalchemy as sa

    return sa.create_engine(config["url"].replace("postgresql://", "postgresql+psycopg://", 1))


def executemany(config: dict[str, Any]) -> int:
    """What the warehouse simulator does today: SQLAlchemy insert() executemany of to_pylist() batches."""
    table, engine, rows = _sa_table(config), _engine(config), 0
    with engine.begin() as conn:
        for batch in _sample_batches(config):
            conn.execute(table.insert(), batch.to_pylist())
            rows += batch.num_rows
    return rows


def pandas_to_sql(config: dict[str, Any]) -> int:
    """pandas DataFrame.to_sql(if_exists='append') of the sample, with the table's column types.

    Without `dtype`, pandas declares the Decimal column as text and PostgreSQL refuses it.
    """
    import pyarrow as pa

    table = pa.Table.from_batches(list(_sample_batches(config)))
    frame = table.to_pandas()
    engine = _engine(config)
    types = {c.name: c.type for c in _sa_table(config).columns}
    with engine.begin() as conn:
        frame.to_sql(config["table"], conn, schema=config["schema"], if_exists="append", index=False,
                     chunksize=EXECUTEMANY_CHUNK, dtype=types)
    return len(frame)


def dlt_load(config: dict[str, Any]) -> int:
    """dlt: a resource yielding the Parquet files' Arrow tables into postgres (its loader file format)."""
    import dlt
    import pyarrow.parquet as pq

    files, left = _files(config), config.get("rows")

    @dlt.resource(name=config["table"], write_disposition="append")
    def events() -> Iterator[Any]:
        remaining = left
        for path in files:
            parquet = pq.ParquetFile(path)
            for i in range(parquet.num_row_groups):
                group = parquet.read_row_group(i)
                if remaining is not None:
                    group = group.slice(0, remaining)
                    remaining -= group.num_rows
                yield group
                if remaining is not None and remaining <= 0:
                    return

    pipeline = dlt.pipeline(pipeline_name=config["pipeline"], pipelines_dir=config["workdir"],
                            destination=dlt.destinations.postgres(credentials=config["url"]),
                            dataset_name=config["schema"], progress=None)
    kwargs = {"loader_file_format": config["format"]} if config.get("format") else {}
    info = pipeline.run(events(), **kwargs)
    info.raise_on_failed_jobs()
    row_counts = pipeline.last_trace.last_normalize_info.row_counts
    return int(row_counts.get(config["table"], 0))


def duckdb_ctas(config: dict[str, Any]) -> int:
    """Raw DuckDB: CREATE TABLE AS SELECT * FROM read_parquet(local files)."""
    import duckdb

    listing = ", ".join("'" + str(f).replace("'", "''") + "'" for f in _files(config))
    with duckdb.connect(config["database"]) as con:
        con.execute(f"CREATE TABLE {config['table']} AS SELECT * FROM read_parquet([{listing}])")
        return int(con.execute(f"SELECT count(*) FROM {config['table']}").fetchone()[0])


def fakesnow_write_pandas(config: dict[str, Any]) -> int:
    """fakesnow's write_pandas, one DataFrame per Parquet file, into a table created like apply's."""
    import fakesnow
    import pyarrow.parquet as pq
    import snowflake.connector
    import snowflake.connector.pandas_tools

    rows = 0
    with fakesnow.patch(db_path=config["db_path"]):
        conn = snowflake.connector.connect(database=config["database"])
        cur = conn.cursor()
        cur.execute(f"CREATE SCHEMA IF NOT EXISTS {config['schema']}")
        cur.execute(f"USE SCHEMA {config['schema']}")
        cur.execute(config["ddl"])
        for path in _files(config):
            frame = pq.read_table(path).to_pandas()
            ok, _, loaded, _ = snowflake.connector.pandas_tools.write_pandas(
                conn, frame, config["table"], quote_identifiers=False, use_logical_type=True)
            rows += loaded
        conn.close()
    return rows


CONTENDERS: dict[str, Callable[[dict[str, Any]], int]] = {
    "adbc": adbc, "adbc_s3": adbc_s3, "pgpq": pgpq_copy, "executemany": executemany, "pandas_to_sql": pandas_to_sql,
    "dlt": dlt_load, "duckdb_ctas": duckdb_ctas, "fakesnow_write_pandas": fakesnow_write_pandas,
}


def main(argv: list[str]) -> int:
    name, config = argv[0], json.loads(argv[1])
    started = time.perf_counter()
    rows = CONTENDERS[name](config)
    print(json.dumps({"rows": rows, "seconds": round(time.perf_counter() - started, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
