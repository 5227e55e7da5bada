"""Test data sets built in memory, and content fingerprints to compare loaded data with its source.

Importable without pytest, so it can also be used from scripts and benchmarks::

    import datasets
    table = datasets.type_matrix_table()
    datasets.write_parquet(table, tmp / "matrix.parquet")
    assert datasets.column_fingerprint(rows_from_db) == datasets.column_fingerprint(
        table.column("c_string").to_pylist())

Run it as a script to print the type matrix schema.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

N_ROWS = 20

# Strings that break naive CSV/TSV/COPY encoding or quoting, plus unicode edge cases. NUL
# (U+0000) is left out on purpose: PostgreSQL/Redshift text cannot hold it at all.
HARD_STRINGS: tuple[str, ...] = (
    "",
    "plain ascii",
    "comma, separated, values",
    'double "quoted" text',
    "single 'quoted' text",
    "line one\nline two",
    "line one\r\nline two",
    "back\\slash C:\\temp\\",
    "\\N",
    "NULL",
    "\\.",
    "tab\tseparated",
    "café",  # precomposed é (U+00E9)
    "cafe\u0301",  # e + combining acute accent: looks the same, different bytes
    "日本語のテキスト",
    "emoji 😀🎉 (4-byte UTF-8)",
    "  leading and trailing spaces  ",
)

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
DEC_18_2_MAX = Decimal("9999999999999999.99")
DEC_38_10_MAX = Decimal("9" * 28 + "." + "9" * 10)
FLOAT32_MAX = 3.4028234663852886e38
FLOAT32_MIN_NORMAL = 1.1754943508222875e-38

TYPE_MATRIX_SCHEMA = pa.schema([
    ("c_bool", pa.bool_()),
    ("c_int8", pa.int8()),
    ("c_int16", pa.int16()),
    ("c_int32", pa.int32()),
    ("c_int64", pa.int64()),
    ("c_uint8", pa.uint8()),
    ("c_uint16", pa.uint16()),
    ("c_uint32", pa.uint32()),
    ("c_uint64", pa.uint64()),
    ("c_float32", pa.float32()),
    ("c_float64", pa.float64()),
    ("c_dec_18_2", pa.decimal128(18, 2)),
    ("c_dec_38_10", pa.decimal128(38, 10)),
    ("c_string", pa.string()),
    ("c_large_string", pa.large_string()),
    ("c_dict", pa.dictionary(pa.int32(), pa.string())),
    ("c_binary", pa.binary()),
    ("c_date", pa.date32()),
    ("c_time", pa.time64("us")),
    ("c_ts", pa.timestamp("us")),
    ("c_ts_tz", pa.timestamp("us", tz="UTC")),
    ("c_ts_ms", pa.timestamp("ms")),
    ("c_ts_ns", pa.timestamp("ns")),
    ("c_struct", pa.struct([("a", pa.int64()), ("b", pa.string())])),
    ("c_list", pa.list_(pa.int64())),
])
TYPE_MATRIX_COLUMNS: tuple[str, ...] = tuple(TYPE_MATRIX_SCHEMA.names)


def _column(specials: list[Any], filler: Any) -> list[Any]:
    """The special values first, then filler(i) up to N_ROWS rows; callers put a None in specials."""
    assert len(specials) <= N_ROWS, "too many special values for the type matrix"
    return specials + [filler(i) for i in range(len(specials), N_ROWS)]


def _type_matrix_columns() -> dict[str, list[Any]]:
    """Python values for every type matrix column, N_ROWS each."""
    utc_minus_5 = timezone(timedelta(hours=-5))
    base = datetime(2024, 2, 29, 12, 34, 56, 123456)
    strings = list(HARD_STRINGS)
    return {
        "c_bool": _column([True, False, None], lambda i: i % 2 == 0),
        "c_int8": _column([-128, 127, 0, None, -1], lambda i: i),
        "c_int16": _column([-(2**15), 2**15 - 1, 0, None], lambda i: i * 100),
        "c_int32": _column([-(2**31), 2**31 - 1, 0, None], lambda i: -i * 1000),
        "c_int64": _column([INT64_MIN, -INT64_MAX, INT64_MAX, 0, None], lambda i: i * 10**12),
        "c_uint8": _column([0, 255, None], lambda i: i),
        "c_uint16": _column([0, 2**16 - 1, None], lambda i: i * 1000),
        "c_uint32": _column([0, 2**32 - 1, None], lambda i: i * 10**6),
        # 2**63 is the first value that no longer fits a signed BIGINT.
        "c_uint64": _column([0, 2**64 - 1, 2**63, None], lambda i: i * 10**15),
        # Only values a float32 holds exactly: Arrow hands them back unchanged as Python floats.
        "c_float32": _column([0.0, -0.0, FLOAT32_MAX, -FLOAT32_MAX, FLOAT32_MIN_NORMAL, None],
                             lambda i: i * 0.25),
        "c_float64": _column([1e308, -1e308, 1.7976931348623157e308, -0.0, 0.0, 5e-324,
                              2.2250738585072014e-308, 0.1, None], lambda i: i / 3),
        # copy_negate(), not unary minus: minus rounds to the 28-digit default context precision.
        "c_dec_18_2": _column([DEC_18_2_MAX, DEC_18_2_MAX.copy_negate(), Decimal("0.00"), Decimal("0.01"),
                               Decimal("-0.01"), None], lambda i: Decimal(i) * Decimal("1.25")),
        "c_dec_38_10": _column([DEC_38_10_MAX, DEC_38_10_MAX.copy_negate(), Decimal("0.0000000001"),
                                Decimal("0E-10"), None], lambda i: Decimal(i).scaleb(20) + Decimal("0.5")),
        "c_string": _column([*strings, None], lambda i: f"row {i}"),
        # Reversed so that the two string columns are not identical row by row.
        "c_large_string": _column([None, *reversed(strings)], lambda i: f"large row {i}"),
        "c_dict": _column(["red", "green", None, "ünïcödé", ""], lambda i: ("red", "green", "blue")[i % 3]),
        "c_binary": _column([b"", bytes(range(256)), b"\x00", b"\xff\xfe\xfd", None],
                            lambda i: i.to_bytes(2, "big")),
        "c_date": _column([date(1900, 1, 1), date(9999, 12, 31), date(1970, 1, 1), date(1969, 12, 31),
                           date(2000, 2, 29), None], lambda i: date(2020, 1, 1) + timedelta(days=i * 37)),
        "c_time": _column([time(0, 0), time(23, 59, 59, 999999), time(12, 0, 0, 1), None],
                          lambda i: time(i, i, i)),
        "c_ts": _column([datetime(1900, 1, 1), datetime(9999, 12, 31, 23, 59, 59, 999999),
                         datetime(1970, 1, 1), datetime(1969, 12, 31, 23, 59, 59, 999999), None],
                        lambda i: base + timedelta(hours=i)),
        # Non-UTC input offsets are converted to UTC on the way into Arrow.
        "c_ts_tz": _column([datetime(1900, 1, 1, tzinfo=UTC),
                            datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
                            datetime(2024, 3, 10, 2, 30, tzinfo=utc_minus_5), None],
                           lambda i: (base + timedelta(days=i)).replace(tzinfo=UTC)),
        "c_ts_ms": _column([datetime(1900, 1, 1), datetime(9999, 12, 31, 23, 59, 59, 999000), None],
                           lambda i: datetime(2024, 1, 1, 0, 0, 0, i * 1000)),
        # ns timestamps span only 1677..2262; whole microseconds, so the ns remainder is always 0.
        "c_ts_ns": _column([datetime(1900, 1, 1), datetime(2262, 4, 11, 23, 47, 16, 854775),
                            datetime(1970, 1, 1), None], lambda i: base + timedelta(microseconds=i)),
        "c_struct": _column([{"a": 1, "b": "x"}, {"a": None, "b": None}, None,
                             {"a": INT64_MAX, "b": "日本 😀"}], lambda i: {"a": i, "b": f"s{i}"}),
        "c_list": _column([[], [1, 2, 3], None, [None], [INT64_MIN, INT64_MAX]], lambda i: [i, i + 1]),
    }


def type_matrix_table() -> pa.Table:
    """N_ROWS rows, one column per accepted Arrow type, a NULL in every column and limit values."""
    return pa.Table.from_pydict(_type_matrix_columns(), schema=TYPE_MATRIX_SCHEMA)


def all_null_table() -> pa.Table:
    """Three rows: an int64 ``id`` and a column ``nothing`` of Arrow type null."""
    return pa.table({"id": pa.array([1, 2, 3], pa.int64()), "nothing": pa.nulls(3)})


def _has_ns_timestamp(arrow_type: pa.DataType) -> bool:
    """True if the type is, or (through struct/list/map/dictionary) contains, timestamp('ns')."""
    if pa.types.is_timestamp(arrow_type):
        return arrow_type.unit == "ns"
    if pa.types.is_dictionary(arrow_type):
        return _has_ns_timestamp(arrow_type.value_type)
    return any(_has_ns_timestamp(arrow_type.field(i).type) for i in range(arrow_type.num_fields))


def write_parquet(table: pa.Table, path: str | Path, **kw: Any) -> Path:
    """Write table to path, creating parent directories; extra keywords go to ``pq.write_table``.

    Timestamps are coerced to microseconds (what Redshift and Snowflake store), except when
    the table holds a nanosecond column: then nothing is coerced, so the ns data reaches the
    file as is. An explicit ``coerce_timestamps=`` keyword always wins.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if "coerce_timestamps" not in kw:
        kw["coerce_timestamps"] = None if any(_has_ns_timestamp(f.type) for f in table.schema) else "us"
    pq.write_table(table, path, **kw)
    return path


def _normalize(value: Any) -> Any:
    """A representation of value that is equal for equal content, whatever driver produced it."""
    if type(value).__module__ == "numpy":  # numpy scalars from pandas-based drivers
        value = value.item()
    if isinstance(value, Decimal):
        # Same number, same text: 1.50 and 1.5 match; 'f' avoids exponents such as 1E+2. The
        # local precision keeps normalize() from rounding 38-digit values to the default 28.
        with localcontext(prec=max(28, len(value.as_tuple().digits))):
            normalized = value.normalize()
        return "0" if normalized.is_zero() else format(normalized, "f")
    if isinstance(value, int) and not isinstance(value, bool):
        # Snowflake's NUMBER(p,0) comes back as Decimal: the same number must print the same.
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime):  # before date: datetime is a subclass of date
        return (value.astimezone(UTC) if value.tzinfo is not None else value).isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, dict | list | tuple):
        return json.dumps(_jsonable(value), sort_keys=True, ensure_ascii=False)
    return value


def _jsonable(value: Any) -> Any:
    """Nested values normalized recursively into something json.dumps accepts."""
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return None if value is None else _normalize(value)


def column_fingerprint(values: list[Any]) -> dict[str, Any]:
    """Count, NULL count and an order-independent sha256 of a column's non-NULL values.

    Two columns with the same content (in any row order) have equal fingerprints. '' is a
    value, not a NULL. Floats are compared by repr, so a float32 that a database returns
    through its shortest decimal text (3.4028235e+38 for the float32 maximum) must first be
    rounded back to float32, e.g. ``float(numpy.float32(x))``, on both sides.
    """
    non_null = [_normalize(value) for value in values if value is not None]
    digest = hashlib.sha256(repr(sorted(non_null, key=repr)).encode("utf-8")).hexdigest()
    return {"count": len(values), "null_count": len(values) - len(non_null), "checksum": digest}


def table_fingerprint(table: pa.Table) -> dict[str, dict[str, Any]]:
    """column_fingerprint of every column of an Arrow table, by column name."""
    return {name: column_fingerprint(table.column(name).to_pylist()) for name in table.column_names}


if __name__ == "__main__":
    matrix = type_matrix_table()
    print(f"type_matrix_table(): {matrix.num_rows} rows")
    print(matrix.schema)
    print("\nall_null_table():")
    print(all_null_table().schema)
