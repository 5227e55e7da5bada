"""Writes large_string_map.parquet (74 KB): parquet-testing's large_string_map.brotli case, made here.

A MAP<STRING, INT32> column whose one row group holds 2.4 GB of key strings (three keys of 800 MB
of one repeated letter), compressed with zstd to a few kilobytes. Written without the Arrow
schema, as other writers do, so pyarrow reads the keys as 32-bit-offset strings and fails
("Nested data conversions not implemented for chunked array outputs"). Takes about 30 s and
6 GB of memory, which is why the file is kept instead of made in each test run:
`python tests/data/parquet/make_large_string_map.py`.
"""

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROWS, KEY_BYTES = 3, 800_000_000


def main() -> None:
    data = pa.py_buffer(b"k" * (ROWS * KEY_BYTES))
    offsets = pa.py_buffer(np.arange(0, (ROWS + 1) * KEY_BYTES, KEY_BYTES, dtype=np.int64).tobytes())
    keys = pa.Array.from_buffers(pa.large_string(), ROWS, [None, offsets, data])
    values = pa.MapArray.from_arrays(pa.array(range(ROWS + 1), pa.int32()), keys, pa.array(range(ROWS), pa.int32()))
    table = pa.table({"id": pa.array(range(ROWS), pa.int64()), "m": values})
    pq.write_table(table, Path(__file__).with_name("large_string_map.parquet"), compression="zstd",
                   use_dictionary=False, write_statistics=False, store_schema=False)


if __name__ == "__main__":
    main()
