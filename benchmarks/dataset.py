"""The benchmark dataset: deterministic, 10 columns, hard strings, ~5% NULLs, ~1M rows per file.

File `part-NNNNN.parquet` depends only on its index and the seed, so the first 1M rows of the
10M dataset are the 1M dataset. Content statistics (`column_stats`) are computed by the same
code for the generated files and for what each contender's table holds afterwards.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

SEED = 20261125
FILE_ROWS = 1_000_000
ROW_GROUP_ROWS = 131_072
NULL_SHARE = 0.05
HARD_SHARE = 0.01
CODE_BYTES = 16      # varchar(16): the short string column, byte length (Redshift semantics)
NOTE_BYTES = 128     # varchar(128): the ~60-character column

SCHEMA = pa.schema([
    pa.field("id", pa.int64(), nullable=False),
    pa.field("qty", pa.int32()),
    pa.field("score", pa.float64()),
    pa.field("amount", pa.decimal128(18, 2)),
    pa.field("code", pa.string()),
    pa.field("note", pa.string()),
    pa.field("active", pa.bool_()),
    pa.field("day", pa.date32()),
    pa.field("event_at", pa.timestamp("us")),
    pa.field("created_at", pa.timestamp("us", tz="UTC")),
])

#: Column types as PostgreSQL DDL (what the loader creates from the manifest, too).
PG_TYPES = {
    "id": "BIGINT NOT NULL", "qty": "INTEGER", "score": "DOUBLE PRECISION", "amount": "NUMERIC(18,2)",
    "code": f"VARCHAR({CODE_BYTES})", "note": f"VARCHAR({NOTE_BYTES})", "active": "BOOLEAN", "day": "DATE",
    "event_at": "TIMESTAMP", "created_at": "TIMESTAMPTZ",
}

# Strings that break naive loaders: separators, quotes, line ends, backslashes, the text-format
# NULL marker, multi-byte characters, empty strings. (A line that is exactly `\.` is left out:
# psql's \copy ends its input there even inside a quoted CSV field, so psql could not take part.)
HARD_SHORT = ["", " ", "a,b", '"q"', "it's", "x\r\ny", "l1\nl2", "cr\rx", "back\\slash", "\\N", "NULL",
              "\\", '"', ",", "tab\tx", "😀🎉", "é ü ß", "\\.x", "'';--"]
HARD_LONG = ["", 'He said "hi, there"\r\nand left \\ with 🚀 at 5 o\'clock',
             "comma,separated,values,\"quoted\",and\nnew lines\r\nand \\N markers",
             "\\N", "NULL", "null", "  leading and trailing spaces  ", "emoji 👩‍💻🧪 and accents: ñ ç ø å",
             "backslash at end \\", "tab\tseparated\tvalues\there", "\r\n", "\n", "'single' and \"double\"",
             "日本語のテキストと English mixed, with a comma", "\\x41\\101 not escapes"]

_ALPHABET = np.frombuffer(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789     .-_", dtype=np.uint8)
_EPOCH_2000_US = 946_684_800 * 1_000_000
_DAY_US = 86_400 * 1_000_000


def _strings(rng: np.random.Generator, n: int, low: int, high: int) -> pa.Array:
    """n random ASCII strings of low..high characters, built straight into Arrow buffers."""
    lengths = rng.integers(low, high + 1, size=n, dtype=np.int32)
    chars = _ALPHABET[rng.integers(0, len(_ALPHABET), size=int(lengths.sum()), dtype=np.int32)]
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(chars.tobytes())])


def _harden(rng: np.random.Generator, array: pa.Array, pool: list[str]) -> pa.Array:
    mask = rng.random(len(array)) < HARD_SHARE
    picks = pa.array([pool[i] for i in rng.integers(0, len(pool), size=int(mask.sum()))], type=pa.string())
    return pc.replace_with_mask(array, pa.array(mask), picks)


def _nullify(rng: np.random.Generator, array: pa.Array) -> pa.Array:
    mask = rng.random(len(array)) < NULL_SHARE
    return pc.if_else(pa.array(mask), pa.scalar(None, array.type), array)


def _decimal(cents: np.ndarray) -> pa.Array:
    """decimal128(18,2) from int64 cents: the unscaled value, sign-extended to 128 bits."""
    words = np.empty((len(cents), 2), dtype=np.int64)
    words[:, 0] = cents
    words[:, 1] = np.where(cents < 0, -1, 0)
    return pa.Array.from_buffers(pa.decimal128(18, 2), len(cents), [None, pa.py_buffer(words.tobytes())])


def make_table(index: int, rows: int, seed: int = SEED) -> pa.Table:
    """File `index` of the dataset: ids index*FILE_ROWS+1 …, the same for every dataset size."""
    rng = np.random.default_rng([seed, index])
    first = index * FILE_ROWS + 1
    columns: dict[str, pa.Array] = {
        "id": pa.array(np.arange(first, first + rows, dtype=np.int64)),
        "qty": pa.array(rng.integers(-1_000_000, 1_000_000, size=rows, dtype=np.int32)),
        "score": pa.array(np.round(rng.normal(0, 1000, size=rows), 6)),
        "amount": _decimal(rng.integers(-10**11, 10**11, size=rows, dtype=np.int64)),
        "code": _harden(rng, _strings(rng, rows, 1, 12), HARD_SHORT),
        "note": _harden(rng, _strings(rng, rows, 40, 80), HARD_LONG),
        "active": pa.array(rng.random(rows) < 0.5),
        "day": pa.array(rng.integers(0, 365 * 30, size=rows, dtype=np.int32) + 10_957, type=pa.int32())
                 .cast(pa.date32()),
        "event_at": pa.array(_EPOCH_2000_US + rng.integers(0, 30 * 365 * _DAY_US, size=rows, dtype=np.int64),
                             type=pa.int64()).cast(pa.timestamp("us")),
        "created_at": pa.array(_EPOCH_2000_US + rng.integers(0, 30 * 365 * _DAY_US, size=rows, dtype=np.int64),
                               type=pa.int64()).cast(pa.timestamp("us", tz="UTC")),
    }
    for name in SCHEMA.names[1:]:
        columns[name] = _nullify(rng, columns[name])
    return pa.Table.from_arrays([columns[n] for n in SCHEMA.names], schema=SCHEMA)


def file_sizes(rows: int) -> list[int]:
    """Rows per file: full files of FILE_ROWS, then the remainder."""
    sizes = [FILE_ROWS] * (rows // FILE_ROWS)
    if rows % FILE_ROWS:
        sizes.append(rows % FILE_ROWS)
    return sizes


@dataclass(frozen=True)
class Dataset:
    folder: Path
    rows: int
    files: tuple[Path, ...]
    stats: dict[str, Any]

    @property
    def parquet_bytes(self) -> int:
        return sum(f.stat().st_size for f in self.files)

    def csv_files(self) -> list[Path]:
        """The same rows as CSV (for psql \\copy); written once, never timed."""
        out = []
        for path in self.files:
            csv_path = path.with_suffix(".csv")
            if not csv_path.exists():
                write_csv(path, csv_path)
            out.append(csv_path)
        return out


def generate(folder: Path, rows: int, seed: int = SEED) -> Dataset:
    """Write (or reuse) the dataset of `rows` rows under folder/rows-N; stats in stats.json."""
    target = folder / f"rows-{rows}"
    done = target / "stats.json"
    names = [f"part-{i:05d}.parquet" for i in range(len(file_sizes(rows)))]
    if done.exists():
        saved = json.loads(done.read_text())
        if saved.get("seed") == seed and saved.get("files") == names:
            return Dataset(target, rows, tuple(target / n for n in names), saved["stats"])
    target.mkdir(parents=True, exist_ok=True)
    for i, (name, size) in enumerate(zip(names, file_sizes(rows), strict=True)):
        table = make_table(i, size, seed)
        temp = target / f".{name}.partial"
        pq.write_table(table, temp, row_group_size=ROW_GROUP_ROWS, compression="snappy")
        os.replace(temp, target / name)
    stats = parquet_stats(target / n for n in names)
    done.write_text(json.dumps({"seed": seed, "files": names, "stats": stats}, indent=1))
    return Dataset(target, rows, tuple(target / n for n in names), stats)


def write_csv(parquet_path: Path, csv_path: Path) -> None:
    """CSV as PostgreSQL reads it: NULL is an empty unquoted field, strings always quoted."""
    import pyarrow.csv as pacsv

    options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    temp = csv_path.with_name(f".{csv_path.name}.partial")
    parquet = pq.ParquetFile(parquet_path)
    with pacsv.CSVWriter(str(temp), parquet.schema_arrow, write_options=options) as writer:
        for batch in parquet.iter_batches(batch_size=ROW_GROUP_ROWS):
            writer.write_batch(batch)
    os.replace(temp, csv_path)


# -- content statistics ---------------------------------------------------------------------------

# One aggregate per property, written so a type change that keeps the values (bigint for
# integer, timestamptz for a UTC timestamp, text for varchar) compares equal, and any changed
# value does not. Strings: count of NULLs and of empty strings, total UTF-8 bytes, and the sum
# of each value's MD5 (so a changed byte, a dropped CR or "\N" read as NULL shows).
_STATS = {
    "id": ["sum(id)"],
    "qty": ["sum(qty)"],
    "score": ["sum(round(score * 1e6)::BIGINT)"],
    "amount": ["sum(amount::DECIMAL(38,2) * 100)::HUGEINT"],
    "code": ["sum(strlen(code))", "count_if(code = '')", "sum(md5_number_lower(code))"],
    "note": ["sum(strlen(note))", "count_if(note = '')", "sum(md5_number_lower(note))"],
    "active": ["count_if(active)"],
    "day": ["sum(day::DATE - DATE '1970-01-01')"],
    "event_at": ["sum(epoch_us(event_at))"],
    "created_at": ["sum(epoch_us(created_at))"],
}
_STRING_KEYS = ("bytes", "empty", "md5")


def stats_query(relation: str) -> str:
    """DuckDB SQL giving one row of content statistics of `relation` (a table, view or read_parquet)."""
    parts = ["count(*)"]
    for name, aggregates in _STATS.items():
        parts.append(f"count(*) - count({name})")
        parts += aggregates
    return f"SELECT {', '.join(parts)} FROM {relation}"


def stats_from_row(row: tuple[Any, ...]) -> dict[str, Any]:
    values = iter(row)
    out: dict[str, Any] = {"rows": int(next(values)), "columns": {}}
    for name, aggregates in _STATS.items():
        column = {"nulls": int(next(values))}
        keys = _STRING_KEYS if len(aggregates) == 3 else ("sum",)
        for key in keys:
            value = next(values)
            column[key] = None if value is None else int(value)
        out["columns"][name] = column
    return out


def duckdb_stats(con: Any, relation: str) -> dict[str, Any]:
    """Content statistics of a relation visible to a DuckDB connection."""
    con.execute("SET enable_progress_bar = false")
    return stats_from_row(con.execute(stats_query(relation)).fetchone())


def parquet_stats(files: Iterable[Path]) -> dict[str, Any]:
    import duckdb

    listing = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
    with duckdb.connect() as con:
        return duckdb_stats(con, f"read_parquet([{listing}])")


def arrow_stats(data: pa.Table | pa.RecordBatchReader) -> dict[str, Any]:
    """Statistics of Arrow data (a table, or a reader streamed once)."""
    import duckdb

    with duckdb.connect() as con:
        con.register("loaded", data)
        return duckdb_stats(con, "loaded")


def compare(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    """What differs between two statistics (empty: the same content)."""
    problems = []
    if expected["rows"] != actual["rows"]:
        problems.append(f"rows: {actual['rows']} loaded, {expected['rows']} expected")
    for name, want in expected["columns"].items():
        got = actual["columns"].get(name)
        if got is None:
            problems.append(f"{name}: missing")
            continue
        for key, value in want.items():
            if got.get(key) != value:
                problems.append(f"{name}.{key}: {got.get(key)!r} loaded, {value!r} expected")
    return problems


def sample_table(dataset: Dataset, rows: int) -> pa.Table:
    """The first `rows` rows of the dataset (for the contenders run on a sample)."""
    parts, need = [], rows
    for path in dataset.files:
        table = pq.read_table(path)
        parts.append(table.slice(0, need))
        need -= parts[-1].num_rows
        if need <= 0:
            break
    return pa.concat_tables(parts)


def iter_file_batches(files: Iterable[Path], batch_rows: int = 65_536) -> Iterator[pa.RecordBatch]:
    for path in files:
        yield from pq.ParquetFile(path).iter_batches(batch_size=batch_rows)
