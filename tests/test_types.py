"""Portable types: inference from Arrow, parsing, override compatibility, Arrow and SQL mappings.

Every table here is written out in full on purpose: a change to any mapping must show up as a
reviewed change to this file, not slip through a loop that recomputes the answer.
"""

from __future__ import annotations

import datasets
import pyarrow as pa
import pytest

from manifest_loader.dialects import DIALECTS
from manifest_loader.sources import describe_source
from manifest_loader.types import (
    MAX_CHAR_LENGTH,
    MAX_DECIMAL_PRECISION,
    MAX_VARCHAR_LENGTH,
    PORTABLE_TYPE_NAMES,
    PortableType,
    TypeProblem,
    accepts,
    compatible_types,
    infer_from_arrow,
    parse_type,
)

# -- Arrow -> portable ---------------------------------------------------------------------------

ARROW_TO_PORTABLE: list[tuple[pa.DataType, str | None]] = [
    (pa.bool_(), "boolean"),
    (pa.int8(), "smallint"),
    (pa.int16(), "smallint"),
    (pa.int32(), "integer"),
    (pa.int64(), "bigint"),
    # An unsigned type needs one more bit than its signed twin; uint64 fits no integer at all.
    (pa.uint8(), "smallint"),
    (pa.uint16(), "integer"),
    (pa.uint32(), "bigint"),
    (pa.uint64(), "decimal(20,0)"),
    (pa.float16(), "real"),
    (pa.float32(), "real"),
    (pa.float64(), "double"),
    (pa.decimal128(1, 0), "decimal(1,0)"),
    (pa.decimal128(12, 2), "decimal(12,2)"),
    (pa.decimal128(38, 0), "decimal(38,0)"),
    (pa.decimal128(38, 10), "decimal(38,10)"),
    (pa.decimal128(38, 38), "decimal(38,38)"),
    (pa.decimal256(20, 2), "decimal(20,2)"),
    (pa.decimal256(38, 4), "decimal(38,4)"),
    (pa.string(), "varchar"),
    (pa.large_string(), "varchar"),
    (pa.string_view(), "varchar"),
    (pa.binary(), "binary"),
    (pa.large_binary(), "binary"),
    (pa.binary(16), "binary"),
    (pa.binary_view(), "binary"),
    (pa.date32(), "date"),
    (pa.date64(), "date"),
    (pa.time32("s"), "time"),
    (pa.time32("ms"), "time"),
    (pa.time64("us"), "time"),
    (pa.time64("ns"), "time"),
    (pa.timestamp("s"), "timestamp"),
    (pa.timestamp("ms"), "timestamp"),
    (pa.timestamp("us"), "timestamp"),
    (pa.timestamp("ns"), "timestamp"),
    (pa.timestamp("s", tz="UTC"), "timestamptz"),
    (pa.timestamp("ms", tz="+05:30"), "timestamptz"),
    (pa.timestamp("us", tz="UTC"), "timestamptz"),
    (pa.timestamp("ns", tz="America/New_York"), "timestamptz"),
    (pa.dictionary(pa.int32(), pa.string()), "varchar"),
    (pa.dictionary(pa.int8(), pa.int16()), "smallint"),
    (pa.dictionary(pa.int16(), pa.date32()), "date"),
    (pa.struct([("a", pa.int64()), ("b", pa.string())]), "json"),
    (pa.list_(pa.int64()), "json"),
    (pa.large_list(pa.string()), "json"),
    (pa.list_(pa.int8(), 3), "json"),
    (pa.map_(pa.string(), pa.int64()), "json"),
    (pa.null(), None),
]


@pytest.mark.parametrize(("arrow_type", "portable"), ARROW_TO_PORTABLE, ids=lambda v: str(v))
def test_infer_from_arrow(arrow_type: pa.DataType, portable: str | None) -> None:
    inferred = infer_from_arrow(arrow_type)
    if portable is None:
        assert inferred is None
    else:
        assert inferred == parse_type(portable)
        assert str(inferred) == portable


@pytest.mark.parametrize("width", ["decimal32", "decimal64"])
def test_infer_small_decimals(width: str) -> None:
    make = getattr(pa, width, None)
    if make is None:
        pytest.skip(f"pyarrow {pa.__version__} has no {width}")
    assert infer_from_arrow(make(9, 2)) == PortableType("decimal", precision=9, scale=2)


@pytest.mark.parametrize(("precision", "scale"), [(39, 0), (40, 2), (76, 10)])
def test_decimal_wider_than_38_digits_is_refused(precision: int, scale: int) -> None:
    with pytest.raises(TypeProblem) as caught:
        infer_from_arrow(pa.decimal256(precision, scale))
    assert str(caught.value) == (f"decimal({precision},{scale}) has more than 38 digits, which neither warehouse "
                                 "can hold; rewrite the column with a smaller precision")


@pytest.mark.parametrize("arrow_type", [pa.duration("s"), pa.month_day_nano_interval(), pa.duration("ns")],
                         ids=str)
def test_arrow_types_without_a_portable_type(arrow_type: pa.DataType) -> None:
    with pytest.raises(TypeProblem) as caught:
        infer_from_arrow(arrow_type)
    assert str(caught.value) == f"Arrow type {arrow_type} has no portable type; convert the column or drop it"


# -- a real Parquet file: the type matrix -------------------------------------------------------

MATRIX_EXPECTED = {
    "c_bool": "boolean", "c_int8": "smallint", "c_int16": "smallint", "c_int32": "integer",
    "c_int64": "bigint", "c_uint8": "smallint", "c_uint16": "integer", "c_uint32": "bigint",
    "c_uint64": "decimal(20,0)", "c_float32": "real", "c_float64": "double",
    "c_dec_18_2": "decimal(18,2)", "c_dec_38_10": "decimal(38,10)", "c_string": "varchar",
    "c_large_string": "varchar", "c_dict": "varchar", "c_binary": "binary", "c_date": "date",
    "c_time": "time", "c_ts": "timestamp", "c_ts_tz": "timestamptz", "c_ts_ms": "timestamp",
    "c_ts_ns": "timestamp", "c_struct": "json", "c_list": "json",
}


def test_type_matrix_parquet_file_infers_every_column(tmp_path) -> None:
    table = datasets.type_matrix_table()
    path = datasets.write_parquet(table, tmp_path / "matrix.parquet")
    described = describe_source(path.as_uri(), "matrix.parquet")
    assert described.rows == datasets.N_ROWS
    assert described.size == path.stat().st_size
    assert described.content_hash.startswith("sha256:") and len(described.digest) == 64
    assert described.schema.names == list(datasets.TYPE_MATRIX_COLUMNS)
    inferred = {f.name: str(f.portable) for f in described.schema}
    assert inferred == MATRIX_EXPECTED


def test_all_null_parquet_column_infers_none(tmp_path) -> None:
    path = datasets.write_parquet(datasets.all_null_table(), tmp_path / "nulls.parquet")
    described = describe_source(path.as_uri(), "nulls.parquet", hash_content=False)
    assert described.content_hash == "sha256:not-computed"
    assert {f.name: f.portable for f in described.schema} == \
        {"id": PortableType("bigint"), "nothing": None}


# -- parsing ------------------------------------------------------------------------------------

PARSED: list[tuple[str, PortableType]] = [
    ("boolean", PortableType("boolean")),
    ("smallint", PortableType("smallint")),
    ("integer", PortableType("integer")),
    ("bigint", PortableType("bigint")),
    ("real", PortableType("real")),
    ("double", PortableType("double")),
    ("varchar", PortableType("varchar")),
    ("date", PortableType("date")),
    ("time", PortableType("time")),
    ("timestamp", PortableType("timestamp")),
    ("timestamptz", PortableType("timestamptz")),
    ("json", PortableType("json")),
    ("binary", PortableType("binary")),
    ("decimal(12,2)", PortableType("decimal", precision=12, scale=2)),
    ("decimal(12, 2)", PortableType("decimal", precision=12, scale=2)),
    ("decimal(1,0)", PortableType("decimal", precision=1, scale=0)),
    ("decimal(38,38)", PortableType("decimal", precision=38, scale=38)),
    ("decimal(10)", PortableType("decimal", precision=10, scale=0)),
    ("decimal", PortableType("decimal", precision=18, scale=0)),
    ("varchar(1)", PortableType("varchar", length=1)),
    ("varchar(65535)", PortableType("varchar", length=MAX_VARCHAR_LENGTH)),
    ("char(1)", PortableType("char", length=1)),
    ("char(4096)", PortableType("char", length=MAX_CHAR_LENGTH)),
    ("  integer  ", PortableType("integer")),
]


@pytest.mark.parametrize(("text", "expected"), PARSED, ids=[t for t, _ in PARSED])
def test_parse_type(text: str, expected: PortableType) -> None:
    assert parse_type(text) == expected


_ALL = ("boolean, smallint, integer, bigint, decimal(p,s), real, double, varchar, varchar(n), char(n), date, "
        "time, timestamp, timestamptz, json, binary")

INVALID_TEXTS: list[tuple[str, str]] = [
    ("varchar2(10)", f"'varchar2(10)' is not a portable type; use one of: {_ALL}"),
    ("int", f"'int' is not a portable type; use one of: {_ALL}"),
    ("INTEGER", f"'INTEGER' is not a portable type; use one of: {_ALL}"),
    ("string", f"'string' is not a portable type; use one of: {_ALL}"),
    ("char", f"'char' is not a portable type; use one of: {_ALL}"),
    ("boolean(1)", f"'boolean(1)' is not a portable type; use one of: {_ALL}"),
    ("timestamp(6)", f"'timestamp(6)' is not a portable type; use one of: {_ALL}"),
    ("decimal(12,2", f"'decimal(12,2' is not a portable type; use one of: {_ALL}"),
    ("decimal(-1,0)", f"'decimal(-1,0)' is not a portable type; use one of: {_ALL}"),
    ("", f"'' is not a portable type; use one of: {_ALL}"),
    ("decimal(39,2)", "decimal precision 39 is out of range 1..38; Redshift and Snowflake hold at most 38 digits"),
    ("decimal(0,0)", "decimal precision 0 is out of range 1..38; Redshift and Snowflake hold at most 38 digits"),
    ("decimal(5,6)", "decimal scale 6 is larger than its precision 5; the scale counts the digits after the "
                     "point, out of the precision's total"),
    ("varchar(70000)", "varchar length 70000 is out of range 1..65535; use plain varchar for the longest strings "
                       "the warehouse takes"),
    ("varchar(0)", "varchar length 0 is out of range 1..65535; use plain varchar for the longest strings the "
                   "warehouse takes"),
    ("char(4097)", "char length 4097 is out of range 1..4096; use varchar(n) or varchar for longer strings"),
    ("varchar(1,2)", "'varchar(1,2)' takes one length"),
]


@pytest.mark.parametrize(("text", "message"), INVALID_TEXTS, ids=[t or "empty" for t, _ in INVALID_TEXTS])
def test_parse_type_refuses(text: str, message: str) -> None:
    with pytest.raises(TypeProblem) as caught:
        parse_type(text)
    assert str(caught.value) == message


def test_type_text_round_trips() -> None:
    for text in ("boolean", "decimal(12,2)", "varchar(64)", "char(2)", "timestamptz", "json"):
        assert str(parse_type(text)) == text
    assert MAX_DECIMAL_PRECISION == 38


# -- override compatibility --------------------------------------------------------------------

EVERY_TYPE = ["boolean", "smallint", "integer", "bigint", "decimal(12,2)", "real", "double", "varchar",
              "varchar(10)", "char(2)", "date", "time", "timestamp", "timestamptz", "json", "binary"]
NUMBERS = {"smallint", "integer", "bigint", "decimal(12,2)", "real", "double"}
FRACTIONS = NUMBERS - {"smallint", "integer", "bigint"}   # no fraction loads into an integer column
STRINGS = {"varchar", "varchar(10)", "char(2)", "json"}
TIMESTAMPS = {"timestamp", "timestamptz"}
# inferred type -> the override types its data may load as
ACCEPTS = {
    "boolean": {"boolean"},
    "smallint": NUMBERS,
    "integer": NUMBERS,
    "bigint": NUMBERS,
    "decimal(12,2)": FRACTIONS,
    "real": FRACTIONS,
    "double": FRACTIONS,
    "varchar": STRINGS,
    "varchar(10)": STRINGS,
    "char(2)": STRINGS,
    "json": {"json"},
    "date": {"date"} | TIMESTAMPS,
    "time": {"time"},
    "timestamp": TIMESTAMPS,
    "timestamptz": TIMESTAMPS,
    "binary": {"binary"},
}


@pytest.mark.parametrize("inferred", EVERY_TYPE)
def test_accepts_table(inferred: str) -> None:
    accepted = {override for override in EVERY_TYPE if accepts(parse_type(inferred), parse_type(override))}
    assert accepted == ACCEPTS[inferred]


def test_all_null_column_accepts_any_override() -> None:
    assert all(accepts(None, parse_type(override)) for override in EVERY_TYPE)


def test_compatible_types_names_what_accepts_allows() -> None:
    assert compatible_types(parse_type("varchar")) == ["varchar", "varchar(n)", "char(n)", "json"]
    assert compatible_types(parse_type("date")) == ["date", "timestamp", "timestamptz"]
    assert compatible_types(parse_type("json")) == ["json"]
    for inferred in EVERY_TYPE:
        names = compatible_types(parse_type(inferred))
        assert set(names) <= set(PORTABLE_TYPE_NAMES)
        for override in EVERY_TYPE:
            generic = override.split("(")[0] + ("(n)" if override.startswith(("varchar(", "char(")) else "")
            generic = "decimal(p,s)" if override.startswith("decimal") else generic
            assert (generic in names) == accepts(parse_type(inferred), parse_type(override)), (inferred, override)


# -- portable -> Arrow -----------------------------------------------------------------------------

ARROW_OF = {
    "boolean": pa.bool_(), "smallint": pa.int16(), "integer": pa.int32(), "bigint": pa.int64(),
    "decimal(12,2)": pa.decimal128(12, 2), "decimal(38,0)": pa.decimal128(38, 0), "real": pa.float32(),
    "double": pa.float64(), "varchar": pa.string(), "varchar(10)": pa.string(), "char(2)": pa.string(),
    "date": pa.date32(), "time": pa.time64("us"), "timestamp": pa.timestamp("us"),
    "timestamptz": pa.timestamp("us", tz="UTC"), "json": pa.string(), "binary": pa.binary(),
}


@pytest.mark.parametrize("text", sorted(ARROW_OF))
def test_arrow_type(text: str) -> None:
    assert parse_type(text).arrow_type() == ARROW_OF[text]


def test_every_portable_type_has_an_arrow_type() -> None:
    covered = {t.split("(")[0] for t in ARROW_OF}
    assert covered == {n.split("(")[0] for n in PORTABLE_TYPE_NAMES}


# -- portable -> SQL, per dialect ----------------------------------------------------------------

_POSTGRES = {
    "boolean": "BOOLEAN", "smallint": "SMALLINT", "integer": "INTEGER", "bigint": "BIGINT",
    "decimal(12,2)": "NUMERIC(12,2)", "decimal(38,0)": "NUMERIC(38,0)", "real": "REAL",
    "double": "DOUBLE PRECISION", "varchar": "VARCHAR(65535)", "varchar(10)": "VARCHAR(10)",
    "char(2)": "CHAR(2)", "date": "DATE", "time": "TIME", "timestamp": "TIMESTAMP", "timestamptz": "TIMESTAMPTZ",
    "json": "JSON", "binary": "BYTEA",
}
_SNOWFLAKE = {
    "boolean": "BOOLEAN", "smallint": "NUMBER(5,0)", "integer": "NUMBER(10,0)", "bigint": "NUMBER(19,0)",
    "decimal(12,2)": "NUMBER(12,2)", "decimal(38,0)": "NUMBER(38,0)", "real": "FLOAT", "double": "FLOAT",
    "varchar": "VARCHAR", "varchar(10)": "VARCHAR(10)", "char(2)": "CHAR(2)", "date": "DATE", "time": "TIME",
    "timestamp": "TIMESTAMP_NTZ", "timestamptz": "TIMESTAMP_TZ", "json": "VARIANT", "binary": "BINARY",
}
TYPE_SQL = {
    "postgres": _POSTGRES,
    "redshift": {**_POSTGRES, "json": "SUPER", "binary": "VARBYTE"},
    "snowflake": _SNOWFLAKE,
    "fakesnow": _SNOWFLAKE,
}


def test_every_dialect_is_covered() -> None:
    assert set(TYPE_SQL) == set(DIALECTS)


@pytest.mark.parametrize("dialect", sorted(TYPE_SQL))
@pytest.mark.parametrize("text", sorted(ARROW_OF))
def test_type_sql(dialect: str, text: str) -> None:
    assert DIALECTS[dialect].type_sql(parse_type(text)) == TYPE_SQL[dialect][text]
