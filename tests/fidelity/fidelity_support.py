"""Shared by the fidelity suites: the example's data read straight from its Parquet files, and a
comparison that accepts what drivers legitimately differ in (Decimal vs float, NUMBER vs int,
timestamptz in UTC) and nothing else.

Expected results are computed here in Python from the Parquet files, never by a database.
"""

from __future__ import annotations

import calendar
import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

import pyarrow.parquet as pq
from loadkit import ROOT

DATA = ROOT / "manifests" / "data" / "ecommerce"
Rows = list[tuple[Any, ...]]


@dataclass(frozen=True)
class Case:
    id: str
    sql: str
    expected: Callable[[], Rows]
    ordered: bool = True          # compare row order too (the SQL has an ORDER BY that fixes it)


@cache
def table(name: str) -> tuple[dict[str, Any], ...]:
    """Every row of a table's Parquet files, as Python values (structs as dicts)."""
    return tuple(pq.read_table(DATA / name).to_pylist())


def customers() -> tuple[dict[str, Any], ...]:
    return table("customers")


def products() -> tuple[dict[str, Any], ...]:
    return table("products")


def orders() -> tuple[dict[str, Any], ...]:
    return table("orders")


def order_items() -> tuple[dict[str, Any], ...]:
    return table("order_items")


def counted(values: Iterable[Any]) -> Rows:
    """(value, count) sorted by value with NULL last: GROUP BY 1 ORDER BY 1 on both warehouses."""
    counts = Counter(values)
    return sorted(counts.items(), key=lambda kv: (kv[0] is None, kv[0] if kv[0] is not None else 0))


def month_boundaries(a: date, b: date) -> int:
    return (b.year * 12 + b.month) - (a.year * 12 + a.month)


def add_months(day: date, months: int) -> date:
    """ADD_MONTHS as Redshift and Snowflake document it: a month end stays a month end."""
    total = day.year * 12 + day.month - 1 + months
    year, month = divmod(total, 12)
    last = calendar.monthrange(year, month + 1)[1]
    is_last = day.day == calendar.monthrange(day.year, day.month)[1]
    return date(year, month + 1, last if is_last else min(day.day, last))


def revenue_by_product() -> dict[int, Decimal]:
    out: dict[int, Decimal] = {}
    for item in order_items():
        out[item["product_id"]] = out.get(item["product_id"], Decimal(0)) + item["quantity"] * item["unit_price"]
    return out


def ranked(values: dict[Any, Any]) -> list[tuple[Any, int]]:
    """RANK() OVER (ORDER BY value DESC), ties sharing a rank, keys ascending within a rank."""
    ordered = sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))
    out, rank = [], 0
    for i, (key, value) in enumerate(ordered):
        if i == 0 or value != ordered[i - 1][1]:
            rank = i + 1
        out.append((key, rank))
    return out


def latest_order_per_customer() -> dict[int, int]:
    best: dict[int, dict[str, Any]] = {}
    for o in orders():
        current = best.get(o["customer_id"])
        if current is None or (o["ordered_at"], o["order_id"]) > (current["ordered_at"], current["order_id"]):
            best[o["customer_id"]] = o
    return {c: o["order_id"] for c, o in best.items()}


def _normal(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _same(actual: Any, expected: Any) -> bool:
    actual, expected = _normal(actual), _normal(expected)
    if isinstance(expected, bool) or isinstance(actual, bool):
        return actual is expected or (isinstance(actual, int | Decimal) and actual == expected)
    if isinstance(expected, int | float | Decimal) and isinstance(actual, int | float | Decimal):
        if isinstance(expected, float) or isinstance(actual, float):
            return math.isclose(float(actual), float(expected), rel_tol=1e-9, abs_tol=1e-9)
        return Decimal(actual) == Decimal(expected)
    if isinstance(expected, datetime) and isinstance(actual, datetime):
        return actual == expected
    if type(expected) is date and isinstance(actual, datetime):
        return False
    return actual == expected


def assert_rows(actual: Rows, expected: Rows, ordered: bool = True) -> None:
    assert len(actual) == len(expected), f"{len(actual)} rows, expected {len(expected)}:\n{actual[:5]}\n{expected[:5]}"
    if not ordered:
        actual = sorted(actual, key=repr)
        expected = sorted(expected, key=repr)
    for i, (got, want) in enumerate(zip(actual, expected, strict=True)):
        assert len(got) == len(want), f"row {i}: {got!r} has {len(got)} columns, expected {want!r}"
        for j, (a, e) in enumerate(zip(got, want, strict=True)):
            assert _same(a, e), f"row {i} column {j}: got {a!r}, expected {e!r}\n  row {got!r}\n  expected {want!r}"
