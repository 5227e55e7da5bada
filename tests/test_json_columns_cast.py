"""Nested Parquet columns (STRUCT, MAP, LIST) cast to JSON text (casting.cast_column), without
importing pandas: pa.array() imports it whenever it is installed, 0.2 s the first time a load
meets such a column (arrow_values.py)."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.types as t
from pandas_spy import asks_for_pandas

from manifest_loader.casting import cast_column

NESTED = {
    "struct": pa.array([{"a": 1, "b": "é"}, None, {"a": None, "b": ""}],
                       pa.struct([("a", pa.int64()), ("b", pa.string())])),
    "map": pa.array([[("k", 1), ("k2", 2)], None, []], pa.map_(pa.string(), pa.int64())),
    "list": pa.array([[1, 2], [], None], pa.list_(pa.int64())),
    "all_null": pa.array([None, None], pa.list_(pa.int64())),
}


def test_nested_columns_become_json_text_with_their_nulls() -> None:
    assert cast_column(NESTED["struct"], pa.string()).to_pylist() == ['{"a":1,"b":"é"}', None, '{"a":null,"b":""}']
    assert cast_column(NESTED["map"], pa.string()).to_pylist() == ['{"k":1,"k2":2}', None, "{}"]
    assert cast_column(NESTED["list"], pa.string()).to_pylist() == ["[1,2]", "[]", None]
    cast = cast_column(NESTED["all_null"], pa.string())
    assert cast.type == pa.string() and cast.to_pylist() == [None, None]
    # What pa.array() made of the same text before (arrow_values.array_of replaced it).
    for column in NESTED.values():
        texts = [None if value is None else json.dumps(dict(value) if t.is_map(column.type) else value,
                                                        ensure_ascii=False, separators=(",", ":"))
                 for value in column.to_pylist()]
        assert cast_column(column, pa.string()).equals(pa.array(texts, type=pa.string()))


def test_casting_a_nested_column_never_asks_for_pandas() -> None:
    printed, asked = asks_for_pandas("""
import pyarrow as pa
from manifest_loader.casting import cast_column
# Built from buffers: pa.array() would ask for pandas itself.
child = pa.Array.from_buffers(pa.int64(), 2, [None, pa.py_buffer((1).to_bytes(8, "little") + bytes(8))])
column = pa.Array.from_buffers(pa.struct([("a", pa.int64())]), 2, [pa.py_buffer(bytes([1]))], children=[child])
print(cast_column(column, pa.string()).to_pylist())
""")
    assert printed == """['{"a":1}', None]""" and not asked
