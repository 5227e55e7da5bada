"""Tests of the test data: the e-commerce example generator and the helpers in datasets.py."""

from __future__ import annotations

import importlib.util
import math
import random
import sys
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
GENERATOR = REPO_ROOT / "scripts" / "make_example_data.py"
COMMITTED_DATA = REPO_ROOT / "manifests" / "data" / "ecommerce"
EXAMPLE_FILES = [
    "customers/part-0.parquet",
    "customers/part-1.parquet",
    "order_items/part-0.parquet",
    "orders/part-0.parquet",
    "orders/part-1.parquet",
    "products/products.parquet",
]


def _load_generator() -> ModuleType:
    """Import scripts/make_example_data.py, which is a script, not part of a package."""
    spec = importlib.util.spec_from_file_location("make_example_data", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    return _load_generator()


@pytest.fixture(scope="module")
def example_dir(generator: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ecommerce")
    assert generator.main(["--out", str(out)]) == 0
    return out


def _read(root: Path, table: str) -> pa.Table:
    """All part files of one example table, concatenated in file-name order."""
    return pa.concat_tables(pq.read_table(path) for path in sorted((root / table).glob("*.parquet")))


def _files(root: Path) -> dict[str, bytes]:
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in sorted(root.rglob("*.parquet"))}


# --- example generator -------------------------------------------------------------------------


def test_generator_is_byte_for_byte_deterministic(generator: ModuleType, tmp_path: Path) -> None:
    assert generator.main(["--out", str(tmp_path / "a")]) == 0
    assert generator.main(["--out", str(tmp_path / "b")]) == 0
    first, second = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert sorted(first) == EXAMPLE_FILES
    assert first == second
    assert sum(len(data) for data in first.values()) < 1_000_000


def test_committed_example_data_is_up_to_date(example_dir: Path) -> None:
    # Compared by content, not bytes: the footer records the pyarrow version that wrote the file.
    if not COMMITTED_DATA.is_dir():
        pytest.skip(f"{COMMITTED_DATA} not generated; run python scripts/make_example_data.py")
    assert sorted(_files(COMMITTED_DATA)) == EXAMPLE_FILES
    for name in EXAMPLE_FILES:
        assert pq.read_table(COMMITTED_DATA / name).equals(pq.read_table(example_dir / name)), name


def test_row_counts_and_schemas(example_dir: Path) -> None:
    assert pq.read_metadata(example_dir / "customers/part-0.parquet").num_rows == 120
    assert pq.read_metadata(example_dir / "customers/part-1.parquet").num_rows == 80
    customers, products = _read(example_dir, "customers"), _read(example_dir, "products")
    orders, items = _read(example_dir, "orders"), _read(example_dir, "order_items")
    assert (customers.num_rows, products.num_rows, orders.num_rows) == (200, 50, 500)
    assert 1200 <= items.num_rows <= 1800
    assert customers.schema.field("customer_id").nullable is False
    assert customers.schema.field("last_login_at").type == pa.timestamp("us", tz="UTC")
    assert customers.schema.field("created_at").type == pa.timestamp("us")
    assert customers.schema.field("lifetime_value").type == pa.decimal128(12, 2)
    attributes = pa.struct([("color", pa.string()), ("size", pa.string())])
    assert products.schema.field("attributes").type == attributes
    assert orders.schema.field("shipped_at").type == pa.timestamp("us", tz="UTC")
    assert items.schema.field("line_number").type == pa.int32()
    assert items.schema.field("unit_price").type == pa.decimal128(10, 2)
    assert sorted(customers.column("customer_id").to_pylist()) == list(range(1, 201))


def test_nullable_columns_hold_nulls(example_dir: Path) -> None:
    expected = {
        "customers": ["email", "last_login_at"],
        "products": ["weight_kg", "attributes"],
        "orders": ["shipped_at", "notes"],
        "order_items": ["discount"],
    }
    for table, columns in expected.items():
        data = _read(example_dir, table)
        for column in columns:
            assert 0 < data.column(column).null_count < data.num_rows, f"{table}.{column}"


def test_unicode_names(example_dir: Path) -> None:
    names = _read(example_dir, "customers").column("full_name").to_pylist()
    assert any(any(ch in "éèçöüøóñ" for ch in name) for name in names)
    assert any(any("\u4e00" <= ch <= "\u9fff" for ch in name) for name in names)  # CJK ideographs
    assert any(any(ord(ch) > 0xFFFF for ch in name) for name in names)  # emoji: 4 bytes in UTF-8


def test_referential_integrity(example_dir: Path) -> None:
    customers = set(_read(example_dir, "customers").column("customer_id").to_pylist())
    products = set(_read(example_dir, "products").column("product_id").to_pylist())
    orders = _read(example_dir, "orders")
    items = _read(example_dir, "order_items")
    order_ids = orders.column("order_id").to_pylist()
    assert len(set(order_ids)) == len(order_ids)
    assert set(orders.column("customer_id").to_pylist()) <= customers
    assert set(items.column("order_id").to_pylist()) <= set(order_ids)
    assert set(items.column("product_id").to_pylist()) <= products
    keys = list(zip(items.column("order_id").to_pylist(), items.column("line_number").to_pylist(),
                    strict=True))
    assert len(set(keys)) == len(keys)


def test_order_status_and_timestamps(example_dir: Path) -> None:
    low, high = datetime(2020, 1, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC)
    for row in _read(example_dir, "orders").to_pylist():
        assert row["status"] in {"placed", "shipped", "delivered", "cancelled"}
        assert (row["shipped_at"] is None) == (row["status"] in {"placed", "cancelled"})
        assert low <= row["ordered_at"] < high
        assert row["shipped_at"] is None or row["ordered_at"] <= row["shipped_at"] < high
    for table, column in [("customers", "created_at"), ("products", "created_at")]:
        values = _read(example_dir, table).column(column).to_pylist()
        assert all(datetime(2020, 1, 1) <= value < datetime(2026, 7, 1) for value in values)


def test_hard_strings_in_order_notes(example_dir: Path) -> None:
    notes = _read(example_dir, "orders").column("notes").to_pylist()
    text = [note for note in notes if note is not None]
    assert None in notes
    assert "" in notes
    assert "\\N" in notes
    assert "NULL" in notes
    assert any("\\." in note.split("\n") for note in text), "a line that is exactly \\."
    checks = {
        "comma": lambda s: "," in s,
        "double quote": lambda s: '"' in s,
        "single quote": lambda s: "'" in s,
        "LF only": lambda s: "\n" in s and "\r" not in s,
        "CRLF": lambda s: "\r\n" in s,
        "backslash": lambda s: "\\" in s and s not in ("\\N", "\\."),
        "emoji": lambda s: any(ord(ch) > 0xFFFF for ch in s),
    }
    for name, check in checks.items():
        assert any(check(note) for note in text), name


# --- datasets.py ----------------------------------------------------------------------------------

EXPECTED_MATRIX = {
    "c_bool": pa.bool_(), "c_int8": pa.int8(), "c_int16": pa.int16(), "c_int32": pa.int32(),
    "c_int64": pa.int64(), "c_uint8": pa.uint8(), "c_uint16": pa.uint16(), "c_uint32": pa.uint32(),
    "c_uint64": pa.uint64(), "c_float32": pa.float32(), "c_float64": pa.float64(),
    "c_dec_18_2": pa.decimal128(18, 2), "c_dec_38_10": pa.decimal128(38, 10), "c_string": pa.string(),
    "c_large_string": pa.large_string(), "c_dict": pa.dictionary(pa.int32(), pa.string()),
    "c_binary": pa.binary(), "c_date": pa.date32(), "c_time": pa.time64("us"), "c_ts": pa.timestamp("us"),
    "c_ts_tz": pa.timestamp("us", tz="UTC"), "c_ts_ms": pa.timestamp("ms"), "c_ts_ns": pa.timestamp("ns"),
    "c_struct": pa.struct([("a", pa.int64()), ("b", pa.string())]), "c_list": pa.list_(pa.int64()),
}


def test_type_matrix_columns_types_and_nulls() -> None:
    table = datasets.type_matrix_table()
    assert {name: field.type for name, field in zip(table.column_names, table.schema, strict=True)} \
        == EXPECTED_MATRIX
    assert table.column_names == list(EXPECTED_MATRIX)
    assert 15 <= table.num_rows <= 25
    for name in table.column_names:
        assert table.column(name).null_count >= 1, name


def test_type_matrix_limits() -> None:
    col: dict[str, list[Any]] = {name: datasets.type_matrix_table().column(name).to_pylist()
                                 for name in EXPECTED_MATRIX}
    assert {-(2**31), 2**31 - 1} <= set(col["c_int32"])
    assert {-(2**63), -(2**63 - 1), 2**63 - 1} <= set(col["c_int64"])
    assert 2**64 - 1 in col["c_uint64"]
    floats = [value for value in col["c_float64"] if value is not None]
    assert {1e308, 5e-324} <= set(floats)
    assert any(value == 0 and math.copysign(1, value) < 0 for value in floats), "-0.0"
    assert all(math.isfinite(value) for value in floats)
    assert {Decimal("9999999999999999.99"), Decimal("-9999999999999999.99")} <= set(col["c_dec_18_2"])
    assert Decimal("9" * 28 + "." + "9" * 10) in col["c_dec_38_10"]
    assert set(datasets.HARD_STRINGS) <= set(col["c_string"])
    assert {b"", bytes(range(256))} <= set(col["c_binary"])
    dates = [value for value in col["c_date"] if value is not None]
    assert min(dates) == date(1900, 1, 1) and max(dates) == date(9999, 12, 31)
    ns = datasets.type_matrix_table().column("c_ts_ns").cast(pa.int64()).to_pylist()
    assert all(value % 1000 == 0 for value in ns if value is not None)


def test_all_null_table() -> None:
    table = datasets.all_null_table()
    assert table.num_rows == 3
    assert table.schema == pa.schema([("id", pa.int64()), ("nothing", pa.null())])


def test_write_parquet_keeps_ns_and_round_trips(tmp_path: Path) -> None:
    table = datasets.type_matrix_table()
    path = datasets.write_parquet(table, tmp_path / "deep" / "dir" / "matrix.parquet")
    assert pq.read_table(path).equals(table)


def test_write_parquet_coerces_to_us_without_ns(tmp_path: Path) -> None:
    table = datasets.type_matrix_table().drop_columns(["c_ts_ns"])
    back = pq.read_table(datasets.write_parquet(table, tmp_path / "matrix.parquet"))
    assert back.schema.field("c_ts_ms").type == pa.timestamp("us")
    assert back.column("c_ts_ms").to_pylist() == table.column("c_ts_ms").to_pylist()
    nulls = pq.read_table(datasets.write_parquet(datasets.all_null_table(), tmp_path / "n.parquet"))
    assert nulls.equals(datasets.all_null_table())


def test_fingerprint_is_order_independent() -> None:
    table = datasets.type_matrix_table()
    for name in table.column_names:
        values = table.column(name).to_pylist()
        shuffled = values[:]
        random.Random(7).shuffle(shuffled)
        assert datasets.column_fingerprint(shuffled) == datasets.column_fingerprint(values), name


def test_fingerprint_counts_and_empty_string_vs_null() -> None:
    assert datasets.column_fingerprint(["", None, "a"])["count"] == 3
    assert datasets.column_fingerprint(["", None, "a"])["null_count"] == 1
    assert datasets.column_fingerprint(["a", ""]) != datasets.column_fingerprint(["a", None])
    assert datasets.column_fingerprint([""]) != datasets.column_fingerprint([None])
    assert datasets.column_fingerprint(["a"]) != datasets.column_fingerprint(["b"])


def test_fingerprint_normalizes_driver_representations() -> None:
    fp = datasets.column_fingerprint
    assert fp([Decimal("1.50"), Decimal("100")]) == fp([Decimal("1.5"), Decimal("100.00")])
    big = Decimal("9" * 28 + "." + "9" * 10)
    assert fp([big]) != fp([Decimal("1E+28")]), "no rounding to 28 digits"
    instant = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    assert fp([instant]) == fp([instant.astimezone(timezone(timedelta(hours=2)))])
    assert fp([instant]) != fp([instant.replace(tzinfo=None)])
    assert fp([b"\x00\xff"]) == fp([memoryview(b"\x00\xff")]) == fp([bytearray(b"\x00\xff")])
    assert fp([{"a": 1, "b": "x"}]) == fp([{"b": "x", "a": 1}])
    assert fp([[1, 2]]) != fp([[2, 1]])
    assert fp([0.0]) != fp([-0.0])
