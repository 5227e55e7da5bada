"""Portable column types: parsing, inference from Arrow, compatibility with overrides.

A portable type is what a manifest says (`decimal(12,2)`, `varchar(64)`, `timestamptz`);
each dialect maps it to a native type, and `arrow_type()` gives the Arrow type batches are
cast to before they reach the warehouse. This module imports pyarrow lazily so the CLI
starts fast.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

MAX_DECIMAL_PRECISION = 38
MAX_VARCHAR_LENGTH = 65535
MAX_CHAR_LENGTH = 4096

_TYPE_TEXT = re.compile(r"^(?P<name>[a-z]+)(?:\((?P<a>\d+)(?:, ?(?P<b>\d+))?\))?$")
_SIMPLE = {"boolean", "smallint", "integer", "bigint", "real", "double", "varchar", "date", "time",
           "timestamp", "timestamptz", "json", "binary"}

# Families decide which overrides the data can take: values convert without reinterpretation.
_FAMILY = {
    "boolean": "boolean", "smallint": "number", "integer": "number", "bigint": "number",
    "decimal": "number", "real": "number", "double": "number", "varchar": "string",
    "char": "string", "json": "json", "date": "date", "time": "time", "timestamp": "timestamp",
    "timestamptz": "timestamp", "binary": "binary",
}
_ACCEPTS = {
    "boolean": {"boolean"},
    "number": {"number"},
    "string": {"string", "json"},
    "json": {"json"},
    "date": {"date", "timestamp"},
    "time": {"time"},
    "timestamp": {"timestamp"},
    "binary": {"binary"},
}


@dataclass(frozen=True)
class PortableType:
    """A parsed portable type; `length` for varchar/char, `precision`/`scale` for decimal."""

    name: str
    length: int | None = None
    precision: int | None = None
    scale: int | None = None

    def __str__(self) -> str:
        if self.name == "decimal":
            return f"decimal({self.precision},{self.scale})"
        if self.length is not None:
            return f"{self.name}({self.length})"
        return self.name

    @property
    def family(self) -> str:
        return _FAMILY[self.name]

    def arrow_type(self) -> pa.DataType:
        """The Arrow type a batch is cast to before it is written to the warehouse."""
        import pyarrow as pa

        simple = {
            "boolean": pa.bool_(), "smallint": pa.int16(), "integer": pa.int32(), "bigint": pa.int64(),
            "real": pa.float32(), "double": pa.float64(), "varchar": pa.string(), "char": pa.string(),
            "json": pa.string(), "date": pa.date32(), "time": pa.time64("us"),
            "timestamp": pa.timestamp("us"), "timestamptz": pa.timestamp("us", tz="UTC"),
            "binary": pa.binary(),
        }
        if self.name == "decimal":
            return pa.decimal128(self.precision or MAX_DECIMAL_PRECISION, self.scale or 0)
        return simple[self.name]


class TypeProblem(ValueError):
    """A type text or an Arrow type we cannot accept; the message says why and what to do."""


PORTABLE_TYPE_NAMES = ("boolean", "smallint", "integer", "bigint", "decimal(p,s)", "real", "double", "varchar",
                       "varchar(n)", "char(n)", "date", "time", "timestamp", "timestamptz", "json", "binary")


def parse_type(text: str) -> PortableType:
    """Parse `decimal(12,2)`-style text, checking the limits both warehouses share."""
    match = _TYPE_TEXT.match(text.strip())
    unknown = f"'{text}' is not a portable type; use one of: {', '.join(PORTABLE_TYPE_NAMES)}"
    if not match:
        raise TypeProblem(unknown)
    name, a, b = match.group("name"), match.group("a"), match.group("b")
    if name == "decimal":
        precision = int(a) if a else 18
        scale = int(b) if b else 0
        if not 1 <= precision <= MAX_DECIMAL_PRECISION:
            raise TypeProblem(f"decimal precision {precision} is out of range 1..{MAX_DECIMAL_PRECISION}; "
                              f"Redshift and Snowflake hold at most {MAX_DECIMAL_PRECISION} digits")
        if scale > precision:
            raise TypeProblem(f"decimal scale {scale} is larger than its precision {precision}; the scale "
                              "counts the digits after the point, out of the precision's total")
        return PortableType("decimal", precision=precision, scale=scale)
    if name in ("varchar", "char") and a is not None:
        if b is not None:
            raise TypeProblem(f"'{text}' takes one length")
        limit = MAX_VARCHAR_LENGTH if name == "varchar" else MAX_CHAR_LENGTH
        if not 1 <= int(a) <= limit:
            longest = ("plain varchar for the longest strings the warehouse takes" if name == "varchar"
                       else "varchar(n) or varchar for longer strings")
            raise TypeProblem(f"{name} length {a} is out of range 1..{limit}; use {longest}")
        return PortableType(name, length=int(a))
    if name in _SIMPLE and a is None:
        return PortableType(name)
    raise TypeProblem(unknown)


def infer_from_arrow(arrow_type: pa.DataType) -> PortableType | None:
    """Portable type for an Arrow type; None for an all-null column (it needs an override)."""
    import pyarrow as pa
    import pyarrow.types as t

    if t.is_dictionary(arrow_type):
        return infer_from_arrow(arrow_type.value_type)
    if t.is_null(arrow_type):
        return None
    if t.is_boolean(arrow_type):
        return PortableType("boolean")
    if t.is_integer(arrow_type):
        if arrow_type == pa.uint64():
            return PortableType("decimal", precision=20, scale=0)
        bits = arrow_type.bit_width + (1 if t.is_unsigned_integer(arrow_type) else 0)
        name = "smallint" if bits <= 16 else "integer" if bits <= 32 else "bigint"
        return PortableType(name)
    if t.is_floating(arrow_type):
        return PortableType("double" if arrow_type.bit_width == 64 else "real")
    if t.is_decimal(arrow_type):
        if arrow_type.precision > MAX_DECIMAL_PRECISION:
            raise TypeProblem(f"decimal({arrow_type.precision},{arrow_type.scale}) has more than "
                              f"{MAX_DECIMAL_PRECISION} digits, which neither warehouse can hold; "
                              "rewrite the column with a smaller precision")
        return PortableType("decimal", precision=arrow_type.precision, scale=arrow_type.scale)
    if t.is_string(arrow_type) or t.is_large_string(arrow_type) or _is_view(arrow_type, "string"):
        return PortableType("varchar")
    if t.is_binary(arrow_type) or t.is_large_binary(arrow_type) or t.is_fixed_size_binary(arrow_type) \
            or _is_view(arrow_type, "binary"):
        return PortableType("binary")
    if t.is_date(arrow_type):
        return PortableType("date")
    if t.is_time(arrow_type):
        return PortableType("time")
    if t.is_timestamp(arrow_type):
        return PortableType("timestamptz" if arrow_type.tz else "timestamp")
    if t.is_nested(arrow_type):
        return PortableType("json")
    raise TypeProblem(f"Arrow type {arrow_type} has no portable type; convert the column or drop it")


def _is_view(arrow_type: pa.DataType, kind: str) -> bool:
    import pyarrow.types as t

    check = getattr(t, f"is_{kind}_view", None)
    return bool(check and check(arrow_type))


_INTEGERS = {"smallint", "integer", "bigint"}


def _fractional(ptype: PortableType) -> bool:
    return ptype.name in ("real", "double") or (ptype.name == "decimal" and bool(ptype.scale))


def compatible_types(inferred: PortableType) -> list[str]:
    """The portable types an override may give a column holding data of the inferred type."""
    families = _ACCEPTS[inferred.family]
    names = [n for n in PORTABLE_TYPE_NAMES if _FAMILY[n.split("(")[0]] in families]
    return [n for n in names if not (_fractional(inferred) and n in _INTEGERS)]


def accepts(inferred: PortableType | None, override: PortableType) -> bool:
    """Whether data of the inferred type can be loaded into a column of the override type.

    Within numbers, fractions never go into integer columns (digits would be lost); a value
    too large for a narrower column is caught when the batch is cast.
    """
    if inferred is None:
        return True
    if _fractional(inferred) and override.name in _INTEGERS:
        return False
    return override.family in _ACCEPTS[inferred.family]


# Exact numbers as (digits before the point, digits after): an integer type is a decimal of scale 0.
_INTEGER_DIGITS = {"smallint": 5, "integer": 10, "bigint": 19}
_INTEGER_BY_DIGITS = {digits: name for name, digits in _INTEGER_DIGITS.items()}


def _exact_digits(ptype: PortableType) -> tuple[int, int] | None:
    if ptype.name in _INTEGER_DIGITS:
        return _INTEGER_DIGITS[ptype.name], 0
    if ptype.name == "decimal":
        return (ptype.precision or MAX_DECIMAL_PRECISION) - (ptype.scale or 0), ptype.scale or 0
    return None


def widen(a: PortableType, b: PortableType) -> PortableType | None:
    """The narrowest type that holds every value of both without loss, within one family of types;
    None across families (integer and float, number and text, date and timestamp, ...).

    smallint < integer < bigint; an integer and a decimal meet in a decimal with the larger
    integer part and the larger scale (at most 38 digits); real < double; strings of any Arrow
    width are all `varchar` already.
    """
    if a == b:
        return a
    exact_a, exact_b = _exact_digits(a), _exact_digits(b)
    if exact_a is not None and exact_b is not None:
        whole, scale = max(exact_a[0], exact_b[0]), max(exact_a[1], exact_b[1])
        if scale == 0 and a.name in _INTEGER_DIGITS and b.name in _INTEGER_DIGITS:
            return PortableType(_INTEGER_BY_DIGITS[whole])
        if whole + scale > MAX_DECIMAL_PRECISION:
            return None
        return PortableType("decimal", precision=whole + scale, scale=scale)
    if {a.name, b.name} == {"real", "double"}:
        return PortableType("double")
    if a.name == b.name == "varchar" or (a.family == b.family == "string" and a.length is None and b.length is None):
        return PortableType("varchar")
    return None


def common_override(a: PortableType, b: PortableType) -> str | None:
    """A portable type an override could give a column whose files hold both types, or None."""
    for name in ("bigint", "double", "timestamp", "timestamptz", "varchar", "json", "binary"):
        if accepts(a, PortableType(name)) and accepts(b, PortableType(name)):
            return name
    return None
