"""Read staged Parquet as Arrow batches and cast them to the table's exact Arrow schema.

Binary COPY needs exact types (int64 into an INTEGER column is rejected), so every batch is
cast first; a value that cannot convert (overflow, lost decimal digits, sub-microsecond
timestamps) stops the load with the table, column and file named. Memory is bounded by
the row group, never by the file size.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq
import pyarrow.types as t

from .arrow_values import array_of
from .errors import LoadFailed
from .fetch import local_copies
from .fileuri import file_path
from .parquet_checks import checksum_failure, open_verified, refuse_unreturnable_int96, verify_page_checksums
from .storage import S3Location, s3_filesystem

if TYPE_CHECKING:
    from .footer_cache import FooterSchema

# Smaller batches keep each batch's COPY data small: peak RSS of a 1M-row load fell from 284 to
# 246 MB going from 65,536 to 16,384 rows, at the same speed (measured when ADBC's driver encoded
# the COPY; docs/benchmarks.md).
BATCH_ROWS = 16_384
READ_BUFFER_BYTES = 1024 * 1024


def open_parquet(uri: str) -> pq.ParquetFile:
    """A ParquetFile over a file:// path or an s3:// object, read lazily by row group."""
    if uri.startswith("s3://"):
        location = S3Location.parse(uri)
        return pq.ParquetFile(s3_filesystem().open_input_file(f"{location.bucket}/{location.key}"))
    return pq.ParquetFile(str(file_path(uri)))


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
        # A MAP is an object with string keys, as Redshift's SUPER and Snowflake's VARIANT hold it
        # (README, "MAP columns"); pyarrow keeps the last value of a repeated key, and warns.
        texts = [_json_text(v) for v in column.to_pylist(maps_as_pydicts="lossy")]
        if all(text is None for text in texts):
            return pa.nulls(len(texts), type=pa.string())
        built = array_of(texts)   # not pa.array(): it imports pandas (arrow_values.py)
        return built if built.type == pa.string() else pa.array(texts, type=pa.string())
    if t.is_null(column.type):
        return pa.nulls(len(column), type=target)
    return column.cast(target, safe=True)


def cast_batch(batch: pa.RecordBatch, source_names: list[str], schema: pa.Schema) -> pa.RecordBatch:
    arrays = [cast_column(batch.column(name), field.type) for name, field in zip(source_names, schema, strict=True)]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def batches(uris: list[tuple[str, str]], source_names: list[str], schema: pa.Schema, table: str,
            on_file: Callable[[str], None] | None = None) -> Iterator[pa.RecordBatch]:
    """Cast batches of every (uri, display) file in turn; errors name table, column and file.

    s3:// objects are downloaded (fetch.py): each row group is read as soon as its bytes are in.
    """
    for uri, display, copy in local_copies(uris, table):
        if on_file:
            on_file(display)
        try:
            copy.wait_for(0)   # the footer
            # A file:// object being staged is renamed once copied (stage.py): not while it is opened.
            with copy.pinned() as path:
                # A local file (s3:// objects are downloaded first): read pages through a small buffer
                # instead of pre-buffering whole column chunks (8 MB less at the peak, as fast).
                parquet = open_verified(path, pre_buffer=False, buffer_size=READ_BUFFER_BYTES)
                refuse_unreturnable_int96(path, display, table, before_reading=copy.wait_all)
        except (OSError, pa.ArrowException) as exc:
            raise _storage_failure(exc, table, uri, display) or LoadFailed(
                f"table {table}: cannot read {display}: {str(exc).splitlines()[0]}",
                hint="regenerate the file or remove it from the source") from None
        try:
            # One row group at a time, so memory stays at one row group, never the whole file.
            for group in range(parquet.num_row_groups):
                copy.wait_for(_row_group_end(parquet.metadata.row_group(group)))
                # One thread: this one runs beside the driver's encoder and the server on their own
                # cores, and keeps ahead of them alone (0.3 s of CPU per million rows); pyarrow's pool
                # spent a third more CPU on the same pages, taken from those two (docs/benchmarks.md).
                iterator = parquet.iter_batches(batch_size=BATCH_ROWS, row_groups=[group], columns=source_names,
                                                use_threads=False)
                for batch in iterator:
                    yield _cast_or_explain(batch, source_names, schema, table, display)
        except LoadFailed:
            raise
        except (OSError, pa.ArrowException) as exc:
            if checksum_failure(exc):
                copy.wait_all()
                verify_page_checksums(copy.path, display, table)   # names the column whose page is damaged
            raise _storage_failure(exc, table, uri, display) or LoadFailed(
                f"table {table}: {display} is corrupt or truncated: {str(exc).splitlines()[0]}",
                hint="regenerate the file") from None


def _row_group_end(group: pq.RowGroupMetaData) -> int:
    """Where the row group's last column chunk ends in the file (its pages are all before)."""
    end = 0
    for i in range(group.num_columns):
        chunk = group.column(i)
        starts = [chunk.data_page_offset]
        if chunk.has_dictionary_page and chunk.dictionary_page_offset:
            starts.append(chunk.dictionary_page_offset)
        end = max(end, min(starts) + chunk.total_compressed_size)
    return end


def refuse_sub_microsecond(files: Iterable[tuple[str, str, FooterSchema]], table: str, target: str) -> None:
    """Stop a load whose nanosecond timestamps a microsecond target would cut without a word.

    For targets that read the files themselves (the Snowflake emulator's COPY INTO on DuckDB),
    the cast the Redshift emulator makes on every batch is made here on the timestamp columns
    only, one row group at a time, before the COPY. (path, display, footer schema) per file.
    """
    for path, display, schema in files:
        names = [f.name for f in schema if f.nanoseconds]
        if not names:
            continue
        # INT96 (Spark's legacy timestamps) at microseconds, as the warehouses read it: at
        # nanoseconds a date past 2262 wraps around and looks like lost precision.
        parquet = pq.ParquetFile(path, pre_buffer=False, buffer_size=READ_BUFFER_BYTES,
                                 coerce_int96_timestamp_unit="us")
        for group in range(parquet.num_row_groups):
            for batch in parquet.iter_batches(batch_size=BATCH_ROWS, row_groups=[group], columns=names):
                for name in names:
                    column = batch.column(name)
                    try:
                        column.cast(pa.timestamp("us", tz=column.type.tz), safe=True)
                    except pa.ArrowInvalid as exc:
                        raise LoadFailed(f"table {table}, column {name}, file {display}: values do not fit the "
                                         f"microsecond timestamps of {target}: {str(exc).splitlines()[0]}",
                                         hint="round the values to microseconds in the files; real Snowflake "
                                              "keeps nanoseconds (TIMESTAMP_NTZ(9))") from None


def _storage_failure(exc: Exception, table: str, uri: str, display: str) -> LoadFailed | None:
    """S3 kept failing (pyarrow already retried): say so, not that the file is broken."""
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if not uri.startswith("s3://") or "AWS Error" not in first:
        return None
    return LoadFailed(f"table {table}: cannot read the staged object {uri} ({display}) from S3: {first}",
                      hint="S3 kept failing after retries: check the endpoint (AWS_ENDPOINT_URL) and apply again")


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
                                 hint=_type_hint(name, batch.column(name).type, field.type, display)) from None
        raise


def _type_hint(name: str, held: pa.DataType, target: pa.DataType, display: str) -> str:
    """The override that takes the file's values as they are, when the declared type is narrower."""
    from .types import TypeProblem, infer_from_arrow

    try:
        fits = infer_from_arrow(held)
    except TypeProblem:
        fits = None
    if fits is None or fits.arrow_type() == target:
        # The column already has the type the file's values imply: no override would hold them.
        if pa.types.is_timestamp(held) and held.unit == "ns":
            return f"round the values of column {name} in {display} to microseconds (the target keeps microseconds)"
        return f"fix the values of column {name} in {display}: no column type of this target holds them"
    return (f"fix the data in {display}, or declare the column as wide as its values: "
            f"columns: {{{name}: {{type: {fits}}}}}")
