"""Parquet that pyarrow reads and DuckDB (the Snowflake emulator's reader) does not: read it through pyarrow.

Real Snowflake reads these files; the emulator should too. What DuckDB 2.0 cannot decode is kept
here as data, each entry found on a parquet-testing file:

* BYTE_STREAM_SPLIT on other physical types than FLOAT, DOUBLE, INT32 and INT64 (the Parquet
  format allows it on FIXED_LEN_BYTE_ARRAY too: float16, decimals; byte_stream_split_extended):
  "BYTE_STREAM_SPLIT encoding is only supported for FLOAT, DOUBLE, INT32 or INT64 data".

Such a file is written again by pyarrow, row group by row group (memory stays at one row group),
with its default encodings, pages verified against their CRCs and INT96 read at microseconds as
the loader reads everything, into a scratch folder next to the stage's mirror; COPY INTO reads
that copy under the staged object's name, so its messages still map back to the source file.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from ..errors import LoadFailed

# Physical types DuckDB decodes for each encoding it decodes only partly.
DECODES: dict[str, frozenset[str]] = {
    "BYTE_STREAM_SPLIT": frozenset({"FLOAT", "DOUBLE", "INT32", "INT64"}),
}


def undecodable(path: str) -> str | None:
    """Why DuckDB cannot read the file (the first column and encoding), from its footer; None if it can."""
    import pyarrow.parquet as pq

    metadata = pq.read_metadata(path)
    for group in range(metadata.num_row_groups):
        row_group = metadata.row_group(group)
        for index in range(metadata.num_columns):
            chunk = row_group.column(index)
            for encoding in chunk.encodings:
                types = DECODES.get(encoding)
                if types is not None and chunk.physical_type not in types:
                    return f"column {chunk.path_in_schema}: {encoding} on {chunk.physical_type}"
    return None


def rewrite_plainly(path: str, destination: Path) -> None:
    """Write the file again with pyarrow's default encodings, one row group at a time."""
    import pyarrow.parquet as pq

    from ..parquet_checks import open_verified

    source = open_verified(path, pre_buffer=False)
    temporary = destination.with_suffix(".tmp")
    with pq.ParquetWriter(temporary, source.schema_arrow) as writer:
        for group in range(source.num_row_groups):
            writer.write_table(source.read_row_group(group))
    temporary.replace(destination)


def column_duckdb_cannot_read(table: str) -> Callable[[str, str], LoadFailed | None]:
    """A probe for copy_diagnosis: after pyarrow read a file cleanly that DuckDB's COPY failed on,
    read each column alone with DuckDB to name the one it fails on, and say whether the column
    written again by pyarrow reads (an encoding DuckDB lacks) or not (values it refuses)."""

    def probe(path: str, display: str) -> LoadFailed | None:
        import pyarrow.parquet as pq

        for name in pq.read_schema(path).names:
            reason = _duckdb_fails(path, name)
            if reason is None:
                continue
            reason = reason.replace(path, display).replace(Path(path).name, display)
            where = f"table {table}, column {name}, file {display}"
            with tempfile.TemporaryDirectory(prefix="ml-probe-") as scratch:
                rewritten = str(Path(scratch) / "column.parquet")
                pq.write_table(pq.read_table(path, columns=[name]), rewritten)
                if _duckdb_fails(rewritten, name) is None:
                    return LoadFailed(f"{where}: the Snowflake emulator's reader (DuckDB) cannot decode this column "
                                      f"as written: {reason}",
                                      hint=f"pyarrow reads it (the Redshift emulator loads it): write {display} again "
                                           "with pyarrow.parquet.write_table's default encodings, which both "
                                           "emulators read")
            return LoadFailed(f"{where}: the Snowflake emulator refuses its values: {reason}",
                              hint=f"correct the values of column {name} in {display} (DuckDB, like Snowflake, "
                                   "checks them as it loads)")
        return None

    return probe


def _duckdb_fails(path: str, name: str) -> str | None:
    """DuckDB's error reading every value of one column, or None."""
    import duckdb

    quoted = '"' + name.replace('"', '""') + '"'
    with duckdb.connect() as duck:
        try:
            # hash() of every value makes DuckDB decode every page of the column.
            duck.execute(f"SELECT bit_xor(hash({quoted})) FROM read_parquet(?)", [path]).fetchall()
        except duckdb.Error as exc:
            return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return None
