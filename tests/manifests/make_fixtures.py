"""Write the small Parquet fixtures the manifest corpus (tests/manifests/) points at.

Run from the repository root after changing this file, and commit the output::

    python tests/manifests/make_fixtures.py

A manifest may only read files under its own folder (sources that reach outside it are an
error), so the fixtures are written twice: ``valid/data/`` gets the well-formed files,
``invalid/data/`` gets those plus the broken ones (drift, missing column, 0 bytes, random
bytes, truncated, decimal(40,2)).

The output is deterministic: fixed values, a seeded ``random.Random`` for the corrupt file,
no clock, explicit Arrow types; the same pyarrow version (recorded in each footer) writes
byte-identical files. Every file stays far below 20 KB.
"""

from __future__ import annotations

import io
import random
import shutil
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
VALID = HERE / "valid" / "data"
INVALID = HERE / "invalid" / "data"
MAX_BYTES = 20 * 1024

LONG_NAME = "a_column_name_that_is_exactly_seventy_bytes_long_for_identifier_limits"
QUOTED_NAME = 'say "hi"'
assert len(LONG_NAME.encode()) == 70

CUSTOMERS = pa.schema([
    ("customer_id", pa.int64()),
    ("email", pa.string()),
    ("country", pa.string()),
    ("signup_date", pa.date32()),
    ("lifetime_value", pa.decimal128(12, 2)),
    ("updated_at", pa.timestamp("us", tz="UTC")),
])


def _customers(first: int, count: int, schema: pa.Schema = CUSTOMERS) -> pa.Table:
    ids = list(range(first, first + count))
    columns = {
        "customer_id": ids,
        "email": [f"customer{i}@example.com" for i in ids],
        "country": [("DE", "FR", "US", "JP")[i % 4] for i in ids],
        "signup_date": [date(2024, 1, 1) + timedelta(days=i) for i in ids],
        "lifetime_value": [Decimal(i * 1234) / 100 for i in ids],
        "updated_at": [datetime(2024, 6, 1, tzinfo=UTC) + timedelta(hours=i) for i in ids],
    }
    return pa.table({name: columns[name] for name in schema.names}, schema=schema)


def _orders() -> pa.Table:
    ids = list(range(1, 9))
    return pa.table({
        "order_id": pa.array(ids, pa.int64()),
        "customer_id": pa.array([1 + i % 10 for i in ids], pa.int64()),
        "ordered_at": pa.array([datetime(2024, 7, 1) + timedelta(hours=5 * i) for i in ids], pa.timestamp("us")),
        "status": pa.array([("placed", "shipped", "delivered")[i % 3] for i in ids], pa.string()),
        "total": pa.array([Decimal(i * 999) / 100 for i in ids], pa.decimal128(12, 2)),
        # Digits in a string column: an override may make it varchar(n), never integer.
        "code": pa.array([f"{i:05d}" for i in ids], pa.string()),
    })


def _order_lines() -> pa.Table:
    keys = [(order, line) for order in range(1, 9) for line in range(1, 3)]
    return pa.table({
        "order_id": pa.array([k[0] for k in keys], pa.int64()),
        "line_no": pa.array([k[1] for k in keys], pa.int16()),
        "sku": pa.array([f"SKU-{k[0] * 10 + k[1]}" for k in keys], pa.string()),
        "qty": pa.array([k[1] * 2 for k in keys], pa.int32()),
        "price": pa.array([Decimal(k[0] * 100 + k[1]) / 100 for k in keys], pa.decimal128(10, 2)),
    })


def _line_notes() -> pa.Table:
    return pa.table({
        "order_id": pa.array([1, 2, 2], pa.int64()),
        "line_no": pa.array([1, 1, 2], pa.int16()),
        "note": pa.array(["gift wrap", "leave at door", 'marked "fragile"'], pa.string()),
    })


def _employees() -> pa.Table:
    return pa.table({
        "employee_id": pa.array([1, 2, 3, 4], pa.int32()),
        "manager_id": pa.array([None, 1, 1, 2], pa.int32()),
        "name": pa.array(["Ada", "Grace", "Linus", "Barbara"], pa.string()),
    })


def _odd_names() -> pa.Table:
    """Names that need quoting in SQL but are valid identifiers in both warehouses."""
    return pa.table({
        "id": pa.array([1, 2], pa.int64()),
        "Mixed Case": pa.array(["a", "b"], pa.string()),
        "select": pa.array([True, False], pa.bool_()),
        QUOTED_NAME: pa.array(["hello", "hi"], pa.string()),
        "naïve": pa.array([1.5, 2.5], pa.float64()),
    })


def _long_name() -> pa.Table:
    return pa.table({"id": pa.array([1, 2], pa.int64()), LONG_NAME: pa.array(["x", "y"], pa.string())})


def _all_null() -> pa.Table:
    return pa.table({"id": pa.array([1, 2, 3], pa.int64()), "nothing": pa.nulls(3)})


def _events(month: int) -> pa.Table:
    ids = [month * 100 + i for i in range(3)]
    return pa.table({
        "event_id": pa.array(ids, pa.int64()),
        "kind": pa.array(["click", "view", "click"], pa.string()).dictionary_encode(),
        "payload": pa.array([{"x": i, "tag": f"t{i}"} for i in ids],
                            pa.struct([("x", pa.int64()), ("tag", pa.string())])),
        "at": pa.array([datetime(2024, month, 1 + i) for i in range(3)], pa.timestamp("ms")),
    })


def _decimal40() -> pa.Table:
    return pa.table({"id": pa.array([1], pa.int64()),
                     "amount": pa.array([Decimal("12345678901234567890123456789012345678.90")],
                                        pa.decimal256(40, 2))})


def _parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="snappy")
    return sink.getvalue()


Fixture = Callable[[], bytes]

# Well-formed files: written to valid/data and invalid/data.
GOOD: dict[str, Fixture] = {
    "customers/part-0.parquet": lambda: _parquet_bytes(_customers(1, 5)),
    "customers/part-1.parquet": lambda: _parquet_bytes(_customers(6, 5)),
    "customers_zero_rows.parquet": lambda: _parquet_bytes(_customers(1, 0)),
    "orders.parquet": lambda: _parquet_bytes(_orders()),
    "order_lines.parquet": lambda: _parquet_bytes(_order_lines()),
    "line_notes.parquet": lambda: _parquet_bytes(_line_notes()),
    "employees.parquet": lambda: _parquet_bytes(_employees()),
    "odd_names.parquet": lambda: _parquet_bytes(_odd_names()),
    "long_name.parquet": lambda: _parquet_bytes(_long_name()),
    "all_null.parquet": lambda: _parquet_bytes(_all_null()),
    "events/2024/01.parquet": lambda: _parquet_bytes(_events(1)),
    "events/2024/02.parquet": lambda: _parquet_bytes(_events(2)),
}

# Broken or unloadable files: written to invalid/data only.
BAD: dict[str, Fixture] = {
    "drift/part-0.parquet": lambda: _parquet_bytes(_customers(1, 5)),
    # lifetime_value is double here, decimal(12,2) in part-0.
    "drift/part-1.parquet": lambda: _parquet_bytes(
        _customers(6, 5).set_column(4, "lifetime_value", pa.array([1.5, 2.5, 3.5, 4.5, 5.5], pa.float64()))),
    "missing_column/part-0.parquet": lambda: _parquet_bytes(_customers(1, 5)),
    "missing_column/part-1.parquet": lambda: _parquet_bytes(
        _customers(6, 5, pa.schema([f for f in CUSTOMERS if f.name != "country"]))),
    "zero_bytes.parquet": lambda: b"",
    "corrupt.parquet": lambda: random.Random(20240601).randbytes(512),
    "truncated.parquet": lambda: (lambda data: data[: len(data) // 2])(_parquet_bytes(_customers(1, 5))),
    "decimal40.parquet": lambda: _parquet_bytes(_decimal40()),
    # Two columns whose names differ only in case: one name once folded (always on Redshift).
    "case_clash.parquet": lambda: _parquet_bytes(pa.table({"Total": pa.array([1], pa.int64()),
                                                            "total": pa.array([1.5], pa.float64())})),
}


def write_all() -> list[Path]:
    written = []
    for folder, fixtures in ((VALID, GOOD), (INVALID, {**GOOD, **BAD})):
        shutil.rmtree(folder, ignore_errors=True)
        for relative, make in fixtures.items():
            path = folder / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            data = make()
            assert len(data) < MAX_BYTES, f"{path} is {len(data)} bytes; keep fixtures under {MAX_BYTES}"
            path.write_bytes(data)
            written.append(path)
    return written


if __name__ == "__main__":
    for path in write_all():
        print(f"{path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}"
              f"  {path.stat().st_size} bytes", file=sys.stdout)
