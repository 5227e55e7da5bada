"""Read staged Parquet as Arrow batches and cast them to the table's exact Arrow schema.

Binary COPY needs exact types (int64 into an INTEGER column is rejected), so every batch is
cast first; a value that cannot convert (overflow, lost decimal digits, sub-microsecond
timestamps) stops the load with the table, column and file named. Memory is bounded by
the batch size, never by the file size.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pyarrow.types as t

from .errors import LoadFailed
from .storage import S3Location, s3_filesystem

BATCH_ROWS = 65_536


def open_parquet(uri: str) -> pq.ParquetFile:
    """A ParquetFile over a file:// path or an s3:// object, read lazily by row group."""
    if uri.startswith("s3://"):
        location = S3Location.parse(uri)
        return pq.ParquetFile(s3_filesystem().open_input_file(f"{location.bucket}/{location.key}"))
    return pq.ParquetFile(uri[len("file://"):] if uri.startswith("file://") else uri)


def _json_text(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=False, default=str)


def cast_column(column: pa.Array, target: pa.DataType) -> pa.Array:
    """Convert one column; raises pa.ArrowInvalid / ArrowNotImplementedError on lossy values."""
    if t.is_dictionary(column.type):
        column = column.dictionary_decode()
    if column.type == target:
        return column
    if t.is_nested(column.type) and t.is_string(target):
        return pa.array([_json_text(v) for v in column.to_pylist()], type=pa.string())
    if t.is_null(column.type):
        return pa.nulls(len(column), type=target)
    return column.cast(target, safe=True)


def cast_batch(batch: pa.RecordBatch, source_names: list[str], schema: pa.Schema) -> pa.RecordBatch:
    arrays = [cast_column(batch.column(name), field.type) for name, field in zip(source_names, schema, strict=True)]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def batches(uris: list[tuple[str, str]], source_names: list[str], schema: pa.Schema, table: str,
            on_file: Callable[[str], None] | None = None,
            on_rows: Callable[[int], None] | None = None) -> Iterator[pa.RecordBatch]:
    """Cast batches of every (uri, display) file in turn; errors name table, column and file."""
    total = 0
    for uri, display in uris:
        if on_file:
            on_file(display)
        try:
            parquet = open_parquet(uri)
        except (OSError, pa.ArrowException) as exc:
            raise LoadFailed(f"table {table}: cannot read {display}: {str(exc).splitlines()[0]}",
                             hint="regenerate the file or remove it from the source") from None
        try:
            iterator = parquet.iter_batches(batch_size=BATCH_ROWS, columns=source_names)
            for batch in iterator:
                yield _cast_or_explain(batch, source_names, schema, table, display)
                total += batch.num_rows
                if on_rows:
                    on_rows(total)
        except LoadFailed:
            raise
        except (OSError, pa.ArrowException) as exc:
            raise LoadFailed(f"table {table}: {display} is corrupt or truncated: {str(exc).splitlines()[0]}",
                             hint="regenerate the file") from None


def _cast_or_explain(batch: pa.RecordBatch, source_names: list[str], schema: pa.Schema, table: str,
                     display: str) -> pa.RecordBatch:
    try:
        return cast_batch(batch, source_names, schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        for name, field in zip(source_names, schema, strict=True):
            try:
                cast_column(batch.column(name), field.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise LoadFailed(f"table {table}, column {name}, file {display}: values do not fit "
                                 f"{field.type}: {str(exc).splitlines()[0]}",
                                 hint="fix the data or change the column's type override") from None
        raise
