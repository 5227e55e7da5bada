"""Query results as JSON for a browser: values that stay exact, and what kind each column holds.

JSON numbers become IEEE doubles in JavaScript, so a decimal (always) and an integer beyond 2**53
travel as their exact text; the column's kind tells the page it is still a number.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from .query import jsonable

_SAFE_INTEGER = 2**53 - 1


def exact_json(value: Any) -> Any:
    """`value` as JSON carries it without loss in a browser."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _SAFE_INTEGER:
        return str(value)
    return jsonable(value)


def kind(value: Any) -> str:
    """number, boolean, text, temporal, binary, json, or null for a missing value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float | Decimal):
        return "number"
    if isinstance(value, datetime | date | time):
        return "temporal"
    if isinstance(value, bytes | bytearray | memoryview):
        return "binary"
    if isinstance(value, dict | list):
        return "json"
    return "text"


def column_kinds(width: int, rows: Sequence[Sequence[Any]]) -> list[str]:
    """Each column's kind: its first non-NULL value's, or null when every value shown is NULL."""
    kinds = ["null"] * width
    for row in rows:
        for i, value in enumerate(row):
            if kinds[i] == "null" and value is not None:
                kinds[i] = kind(value)
        if "null" not in kinds:
            break
    return kinds
