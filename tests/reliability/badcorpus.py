"""The bad-input corpus (tests/bad_inputs/): read a case, build its files in a folder, check the outcome.

A case is ``tests/bad_inputs/<name>.yaml`` (the manifest, as a user or an attacker wrote it) and
``<name>.json``::

    {
      "about": "what is wrong with it, and what the loader must do",
      "data": {"data/t.parquet": {"x": ["decimal128(10,2)", ["12345678.90"]]}},
      "env": {"ML_BAD_SCHEMA": "{{ 7*7 }}"},
      "warehouses": ["redshift", "snowflake"],
      "exit": 2,                      or {"redshift": 1, "snowflake": 0}
      "messages": ["m.yaml:5:12: $.tables[0].name: ", "..."],   or per warehouse
      "tables": {"probe.victim": 3}   (exit 0 only) tables that must hold these row counts
    }

Each data file is a Parquet table given as ``{column: [arrow type, [values]]}``, or a special
file: ``{"special": "text", "text": "..."}``, ``"corrupt_data_page"``, ``"corrupt_checksum"``,
``"int96_beyond_9999"``, ``"footer_says_zero_rows"``, ``"row_group_count_disagrees"``,
``"large_string_map"`` (tests/data/parquet/), ``"byte_stream_split_float16"``, ``"map_int_keys"``,
``"encodings"``, ``"nested"``, ``"decimals"`` (parquet-testing's kinds that load),
``"duplicate_columns"``,
``"no_columns"``, ``"invalid_utf8"``, ``"fifo"``, or ``"symlink"`` (with ``"to"``, relative to the
case folder, whose target is written as ``{"target": {...}}``). The manifest itself may instead be
generated: ``"manifest": "ten_megabytes"`` or ``"utf16"`` (its .yaml then says what it stands for).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

CORPUS = Path(__file__).resolve().parents[1] / "bad_inputs"
VENDORED = Path(__file__).resolve().parents[1] / "data" / "parquet"
WAREHOUSES = ("redshift", "snowflake")
_TYPES: dict[str, pa.DataType] = {
    "bool": pa.bool_(), "int8": pa.int8(), "int16": pa.int16(), "int32": pa.int32(), "int64": pa.int64(),
    "uint64": pa.uint64(), "float32": pa.float32(), "float64": pa.float64(), "string": pa.string(),
    "large_string": pa.large_string(), "binary": pa.binary(), "date32": pa.date32(),
    "time64[ns]": pa.time64("ns"), "timestamp[s]": pa.timestamp("s"), "timestamp[us]": pa.timestamp("us"),
    "timestamp[ns]": pa.timestamp("ns"),
}


@dataclass
class Case:
    name: str
    manifest: Path
    spec: dict[str, Any]
    warehouses: tuple[str, ...] = WAREHOUSES
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, manifest: Path) -> Case:
        spec = json.loads(manifest.with_suffix(".json").read_text(encoding="utf-8"))
        unknown = set(spec) - {"about", "data", "env", "warehouses", "exit", "messages", "tables", "manifest"}
        assert not unknown, f"{manifest.with_suffix('.json')}: unknown keys {sorted(unknown)}"
        assert spec.get("about"), f"{manifest.stem}: say what the case is about"
        return cls(manifest.stem, manifest, spec, tuple(spec.get("warehouses", WAREHOUSES)), spec.get("env", {}))

    def expected_exit(self, warehouse: str) -> int:
        value = self.spec["exit"]
        return value[warehouse] if isinstance(value, dict) else value

    def expected_messages(self, warehouse: str) -> list[str]:
        value = self.spec.get("messages", [])
        return value.get(warehouse, []) if isinstance(value, dict) else value

    def build(self, folder: Path) -> Path:
        """Write the manifest as m.yaml and its data files into folder; return the manifest path."""
        target = folder / "m.yaml"
        generated = self.spec.get("manifest")
        text = self.manifest.read_text(encoding="utf-8")
        if generated == "ten_megabytes":
            target.write_text(text + "description: '" + "x" * (10 * 1024 * 1024) + "'\n", encoding="utf-8")
        elif generated == "utf16":
            target.write_bytes(text.encode("utf-16"))
        else:
            assert generated is None, generated
            target.write_text(text, encoding="utf-8")
        for relative, content in self.spec.get("data", {}).items():
            write_file(folder, folder / relative, content)
        return target


def write_file(folder: Path, path: Path, content: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    special = content.get("special")
    if special is None:
        pq.write_table(arrow_table(content), path)
    elif special == "text":
        path.write_text(content["text"], encoding="utf-8")
    elif special == "fifo":
        os.mkfifo(path)
    elif special == "symlink":
        target = (folder / content["to"]).resolve()
        write_file(folder, target, content["target"])
        path.symlink_to(target)
    elif special == "no_columns":
        pq.write_table(pa.table({}), path)
    elif special == "duplicate_columns":
        pq.write_table(pa.Table.from_arrays([pa.array([1, 2]), pa.array([3, 4])], names=["id", "id"]), path)
    elif special == "invalid_utf8":
        # A string column whose bytes are not UTF-8 (0xff 0xfe): Arrow does not check when built from buffers.
        strings = pa.Array.from_buffers(pa.string(), 1, [None, pa.py_buffer(b"\0\0\0\0\2\0\0\0"),
                                                         pa.py_buffer(b"\xff\xfe")])
        pq.write_table(pa.Table.from_arrays([pa.array([1], pa.int64()), strings], names=["id", "note"]), path)
    elif special == "corrupt_data_page":
        # A valid footer (so validation passes) over a data page whose compressed bytes are garbage.
        ids = pa.array(range(100_000), pa.int64())
        pq.write_table(pa.table({"id": ids}), path, compression="snappy", row_group_size=100_000)
        raw = bytearray(path.read_bytes())
        middle = len(raw) // 3
        raw[middle:middle + 4096] = os.urandom(4096)
        path.write_bytes(bytes(raw))
    elif special == "corrupt_checksum":
        # A page whose bytes changed after writing (one bit), behind its CRC: it still decodes.
        values = pa.array([f"value {i:04d}" for i in range(1000)])
        pq.write_table(pa.table({"id": pa.array(range(1000), pa.int64()), "v": values}), path,
                       write_page_checksum=True, compression="none", use_dictionary=False)
        chunk = pq.ParquetFile(path).metadata.row_group(0).column(1)
        raw = bytearray(path.read_bytes())
        raw[chunk.data_page_offset + chunk.total_compressed_size // 2] ^= 0x01
        path.write_bytes(bytes(raw))
    elif special == "int96_beyond_9999":
        # Spark's legacy INT96 timestamps, one inside a struct, near year 75,000 (read as
        # nanoseconds they wrap to 1852 without a word).
        far = pa.array([0, 73_000 * 365 * 86_400 * 1_000_000], pa.timestamp("us"))
        table = pa.table({"id": pa.array([1, 2], pa.int64()),
                          "event": pa.StructArray.from_arrays([far], ["at"])})
        pq.write_table(table, path, use_deprecated_int96_timestamps=True)
    elif special in ("footer_says_zero_rows", "row_group_count_disagrees"):
        # parquet-testing's repeated_no_annotation: 6 rows (a repeated group of phone numbers) under
        # a file footer saying 0; or a row group whose own count disagrees with its columns.
        from parquet_footer import set_row_counts

        phones = pa.array([None, None, [], [(5555555555, None)], [(1111111111, "home")],
                           [(1111111111, "home"), (2222222222, None), (3333333333, "mobile")]],
                          pa.list_(pa.struct([("number", pa.int64()), ("kind", pa.string())])))
        pq.write_table(pa.table({"id": pa.array(range(1, 7), pa.int32()), "phones": phones}), path)
        if special == "footer_says_zero_rows":
            set_row_counts(path, file_rows=0)
        else:
            set_row_counts(path, group_rows=0)
    elif special == "large_string_map":
        path.write_bytes((VENDORED / "large_string_map.parquet").read_bytes())
    elif special == "byte_stream_split_float16":
        # parquet-testing's byte_stream_split_extended: BYTE_STREAM_SPLIT on FIXED_LEN_BYTE_ARRAY
        # (float16, decimal), which DuckDB cannot decode and pyarrow can.
        table = pa.table({"id": pa.array([1, 2, 3], pa.int64()),
                          "f16": pa.array([1.5, None, -0.25], pa.float16()),
                          "amount": pa.array([Decimal("1.25"), Decimal("-7.50"), None], pa.decimal128(7, 2))})
        pq.write_table(table, path, use_dictionary=False,
                       column_encoding={"f16": "BYTE_STREAM_SPLIT", "amount": "BYTE_STREAM_SPLIT"})
    elif special == "map_int_keys":
        values = pa.array([[("k1", 1), ("k2", 100)], [], None], pa.map_(pa.string(), pa.int64()))
        by_number = pa.array([[(1, "one"), (20, "twenty")], None, [(3, None)]], pa.map_(pa.int32(), pa.string()))
        pq.write_table(pa.table({"id": pa.array([1, 2, 3], pa.int64()), "tags": values, "names": by_number}), path)
    elif special == "encodings":
        # parquet-testing's delta_*, datapage_v2.snappy, rle_boolean_encoding, *.brotli / lz4_raw /
        # zstd, data page v2: one column per encoding.
        count = 300
        table = pa.table({
            "id": pa.array(range(count), pa.int64()),
            "delta_int": pa.array([i * 7 - 1000 if i % 5 else None for i in range(count)], pa.int32()),
            "delta_big": pa.array([2**40 + i * i for i in range(count)], pa.int64()),
            "delta_len": pa.array([f"string {i}" * (i % 4) for i in range(count)], pa.string()),
            "delta_prefix": pa.array([f"prefix-common-{i // 10:04d}-{i}" for i in range(count)], pa.string()),
            "flag": pa.array([None if i % 7 == 0 else i % 3 == 0 for i in range(count)], pa.bool_()),
            "colour": pa.array([["red", "green", "blue"][i % 3] for i in range(count)], pa.string())})
        pq.write_table(table, path, data_page_version="2.0", compression="brotli", write_page_checksum=True,
                       use_dictionary=["colour"],
                       column_encoding={"delta_int": "DELTA_BINARY_PACKED", "delta_big": "DELTA_BINARY_PACKED",
                                        "delta_len": "DELTA_LENGTH_BYTE_ARRAY", "delta_prefix": "DELTA_BYTE_ARRAY",
                                        "flag": "RLE"}, row_group_size=128)
    elif special == "nested":
        # parquet-testing's nested_maps.snappy, nested_lists.snappy, nulls.snappy, nonnullable.impala.
        inner = pa.map_(pa.int32(), pa.bool_())
        table = pa.table({
            "id": pa.array([1, 2, 3], pa.int64()),
            "nested_map": pa.array([[("a", [(1, True), (2, False)])], [("b", [])], None], pa.map_(pa.string(), inner)),
            "list_of_lists": pa.array([[["a", "b"], ["c"]], [[], None], None], pa.list_(pa.list_(pa.string()))),
            "b_struct": pa.array([None, {"b_c_int": None}, None], pa.struct([("b_c_int", pa.int32())])),
            "rec": pa.array([{"x": 1, "tags": ["p", "q"]}, {"x": None, "tags": []}, {"x": 3, "tags": None}],
                               pa.struct([("x", pa.int64()), ("tags", pa.list_(pa.string()))]))})
        pq.write_table(table, path, compression="lz4")
    elif special == "decimals":
        # parquet-testing's int32_decimal, int64_decimal, fixed_length_decimal, byte_array_decimal,
        # binary, fixed_length_byte_array, plus dates and times.
        values = [Decimal("1.00"), Decimal("-24.50"), None, Decimal("99999.99")]
        table = pa.table({
            "id": pa.array(range(4), pa.int64()),
            "narrow": pa.array(values, pa.decimal128(7, 2)),
            "mid": pa.array(values, pa.decimal128(18, 2)),
            "wide": pa.array(values, pa.decimal128(30, 2)),
            "payload": pa.array([b"\x00\x01", b"", None, b"\xff" * 40], pa.binary()),
            "code4": pa.array([b"abcd", b"\x00\x00\x00\x00", None, b"wxyz"], pa.binary(4)),
            "born": pa.array([0, 19_000, None, -1], pa.date32())})
        pq.write_table(table, path, compression="zstd", store_decimal_as_integer=True)
    else:
        raise AssertionError(f"unknown special file {special!r}")


def arrow_table(columns: dict[str, list[Any]]) -> pa.Table:
    arrays, names = [], []
    for name, (type_text, values) in columns.items():
        names.append(name)
        arrays.append(arrow_array(type_text, values))
    return pa.Table.from_arrays(arrays, names=names)


def arrow_array(type_text: str, values: list[Any]) -> pa.Array:
    decimal = re.fullmatch(r"decimal128\((\d+),(\d+)\)", type_text)
    if decimal:
        return pa.array([None if v is None else Decimal(v) for v in values],
                        pa.decimal128(int(decimal.group(1)), int(decimal.group(2))))
    if type_text == "float64":
        return pa.array([float(v) if isinstance(v, str) else v for v in values], pa.float64())
    return pa.array(values, _TYPES[type_text])


def cases() -> list[Case]:
    return [Case.load(path) for path in sorted(CORPUS.glob("*.yaml"))]
