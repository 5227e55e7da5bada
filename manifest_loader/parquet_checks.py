"""Checks on a Parquet file's pages that both emulators make before (or while) loading it.

* Page checksums: a writer may store a CRC-32 of each page (parquet-mr does by default). A page
  whose bytes changed after writing can still decode to plausible values; pyarrow verifies the
  CRC when asked (`page_checksum_verification=True`), DuckDB never does. The Redshift emulator
  reads every file with verification on; the Snowflake emulator, whose COPY INTO reads the files
  itself, first verifies the files whose first page carries a CRC (a few bytes read to know).
* INT96 timestamps (Impala/Spark's legacy encoding) are read at microsecond precision, as the
  warehouses hold them, instead of nanoseconds, whose range ends in 2262 and would wrap a later
  date silently; a value outside the years 1-9999, which no target returns, is refused by column.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .errors import LoadFailed

# What every target can store and give back (Python's datetime, Snowflake: years 1-9999).
_EARLIEST, _LATEST = -62135596800_000000, 253402300799_999999   # microseconds since 1970
# The Thrift compact encoding of a PageHeader starts with three i32 fields (type, sizes): each a
# field header byte 0x15 and a varint; a fourth 0x15 is the optional crc field.
_I32_FIELD = 0x15


def open_verified(path: str, **options: object) -> pq.ParquetFile:
    """A ParquetFile that checks page CRCs and reads INT96 at microseconds."""
    return pq.ParquetFile(path, page_checksum_verification=True, coerce_int96_timestamp_unit="us",
                          **options)


def has_page_checksums(path: str) -> bool:
    """Whether the file's first page carries a CRC (writers store them for every page or none)."""
    metadata = pq.ParquetFile(path).metadata
    if metadata.num_row_groups == 0 or metadata.num_columns == 0:
        return False
    chunk = metadata.row_group(0).column(0)
    offset = chunk.dictionary_page_offset if chunk.has_dictionary_page else chunk.data_page_offset
    with open(path, "rb") as handle:
        handle.seek(offset)
        header = handle.read(32)
    position = 0
    for _ in range(3):
        if position >= len(header) or header[position] != _I32_FIELD:
            return True   # not what a page header looks like: verify rather than guess
        position += 1
        while position < len(header) and header[position] & 0x80:
            position += 1
        position += 1
    return position < len(header) and header[position] == _I32_FIELD


def verify_page_checksums(path: str, display: str, table: str) -> None:
    """Read every page with its CRC checked; raise naming the column whose page is damaged."""
    parquet = open_verified(path, pre_buffer=False)
    for group in range(parquet.num_row_groups):
        for name in parquet.schema_arrow.names:
            try:
                parquet.read_row_group(group, columns=[name])
            except (OSError, pa.ArrowException) as exc:
                if "checksum" not in str(exc).lower() and "crc" not in str(exc).lower():
                    raise
                raise LoadFailed(f"table {table}, column {name}, file {display}: a page fails its checksum "
                                 f"(row group {group}), so its values are not the ones written",
                                 hint=f"{display} was damaged after it was written; copy it again from where it "
                                      "was made, or write it again") from None


def checksum_failure(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "checksum" in text or "crc" in text


def refuse_unreturnable_int96(path: str, display: str, table: str,
                              before_reading: Callable[[], None] | None = None) -> None:
    """Refuse INT96 timestamps (also inside structs) outside the years 1-9999, naming the column.
    `before_reading`: called before any page is read (only the footer is, when there is no INT96)."""
    parquet = pq.ParquetFile(path, coerce_int96_timestamp_unit="us")
    leaves = [parquet.schema.column(i).path for i in range(len(parquet.schema))
              if parquet.schema.column(i).physical_type == "INT96"]
    if not leaves:
        return
    if before_reading is not None:
        before_reading()
    tops = sorted({leaf.split(".")[0] for leaf in leaves})
    for group in range(parquet.num_row_groups):
        data = parquet.read_row_group(group, columns=tops)
        for name, column in _timestamp_leaves(data):
            values = pc.cast(column, pa.int64())
            low, high = pc.min(values).as_py(), pc.max(values).as_py()
            if low is None:
                continue
            if low < _EARLIEST or high > _LATEST:
                bad = low if low < _EARLIEST else high
                raise LoadFailed(f"table {table}, column {name}, file {display}: INT96 timestamp "
                                 f"{_describe(bad)} is outside the years 1-9999 that every target can return",
                                 hint=f"write column {name} again with dates in range (or NULL where the value is "
                                      "unknown); these are not a precision problem")


def _timestamp_leaves(data: pa.Table) -> Iterator[tuple[str, pa.ChunkedArray]]:
    for name in data.column_names:
        yield from _leaves(name, data.column(name))


def _leaves(name: str, column: pa.ChunkedArray) -> Iterator[tuple[str, pa.ChunkedArray]]:
    if pa.types.is_timestamp(column.type):
        yield name, column
    elif pa.types.is_struct(column.type):
        for index, field in enumerate(column.type):
            child = pa.chunked_array([chunk.field(index) for chunk in column.chunks], type=field.type)
            yield from _leaves(f"{name}.{field.name}", child)


def _describe(micros: int) -> str:
    years = micros / 1_000_000 / 86_400 / 365.2425 + 1970
    return f"near year {years:,.0f}"
