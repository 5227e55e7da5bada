"""What a Parquet footer alone tells about a file no reader can be trusted with, before any page is read.

* Row counts that disagree. The file's `num_rows` is a summary of its row groups' counts, which
  are what every reader follows (pyarrow and DuckDB both return the row groups' rows when the
  two disagree; parquet-testing's repeated_no_annotation says 0 rows over row groups of 6): the
  loader counts the row groups. A row group whose count disagrees with its own columns (a
  non-repeated column holds exactly one value or NULL per row) is refused: pyarrow then returns
  fewer rows than were written and DuckDB calls the file corrupt, so no count is right.
* String data past 2 GB in one column chunk inside a list or map (parquet-testing's
  large_string_map.brotli). Arrow's string arrays hold at most 2 GB, and pyarrow cannot split
  nested data across arrays ("Nested data conversions not implemented for chunked array
  outputs"); both emulators read through Arrow (the Snowflake emulator's DuckDB exhausted 18 GiB
  on it). A top-level string column is read in pieces and loads; the warehouses hold such values
  in SUPER (at most 16 MB each) or VARIANT (128 MB).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow.parquet as pq

# Arrow's 32-bit offsets: a string or binary array holds at most this many bytes.
ARROW_STRING_BYTES = 2**31 - 1


class FooterProblem(ValueError):
    """A footer that no reader can be trusted with; the message names the file."""


def footer_rows(metadata: pq.FileMetaData, display: str) -> int:
    """The file's row count, from its row groups; raises FooterProblem for a file that cannot load."""
    for group in range(metadata.num_row_groups):
        _check_row_group(metadata, group, display)
    return sum(metadata.row_group(g).num_rows for g in range(metadata.num_row_groups))


def _check_row_group(metadata: pq.FileMetaData, group: int, display: str) -> None:
    row_group = metadata.row_group(group)
    for index in range(metadata.num_columns):
        leaf = metadata.schema.column(index)
        chunk = row_group.column(index)
        flat = leaf.max_repetition_level == 0
        if (chunk.num_values != row_group.num_rows) if flat else (chunk.num_values < row_group.num_rows):
            raise FooterProblem(
                f"{display}: row group {group} says it has {row_group.num_rows} rows but column {leaf.path} "
                f"holds {chunk.num_values} values, so readers disagree on its rows (pyarrow returns "
                f"{row_group.num_rows}, DuckDB refuses the file); write the file again with a current Parquet "
                "writer (e.g. pyarrow.parquet.write_table), or remove it from the source")
        if not flat and leaf.physical_type == "BYTE_ARRAY" and chunk.total_uncompressed_size > ARROW_STRING_BYTES:
            raise FooterProblem(
                f"{display}: column {leaf.path.split('.')[0]} ({leaf.path}) holds "
                f"{chunk.total_uncompressed_size / 1e9:.1f} GB of string data in row group {group}, inside a "
                "list or map: past the 2 GB that one Arrow array holds, and pyarrow cannot split nested data, "
                "so neither emulator can read it (and the warehouses hold at most 16 MB per SUPER value, 128 MB "
                "per VARIANT); write the file again with smaller row groups, each under 2 GB of this column's data "
                "(pyarrow: row_group_size; Spark: parquet.block.size), or write it without this column")
