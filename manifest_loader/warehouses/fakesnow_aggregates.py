"""Exact aggregates on the Snowflake emulator.

fakesnow 0.12 rewrites every argument of SUM, AVG, MEDIAN, VARIANCE and STDDEV into
`TRY_CAST(… AS DOUBLE)` (transforms.numeric_agg_implicit_cast), to copy Snowflake's implicit cast
of VARCHAR to a number. Done to a NUMBER(18,2) column, that turns an exact sum into a float
(`299670257129.69073`), where Snowflake answers NUMBER(38,2). For SUM the cast is kept here only
where Snowflake would make it: when the argument reads a text column, a string literal or a semi-
structured value; a sum of number columns keeps its exact type, as on Snowflake. The others keep
the cast: DuckDB's MEDIAN of a DECIMAL keeps the input's scale (3741.955 would be 3741.95) and
its AVG is a DOUBLE anyway, so the float is the nearer answer there.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

# Upper-case names of the columns that hold numbers (and are text in no table), of the
# emulator connection running the current statement.
_numeric_columns: ContextVar[Callable[[], frozenset[str]] | None] = ContextVar("numeric_columns", default=None)

_NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                  "UBIGINT", "FLOAT", "DOUBLE", "DECIMAL")


def numeric_columns(duck_conn: Any) -> frozenset[str]:
    """Column names that are numbers in every table that has them (DuckDB's own catalog)."""
    rows = duck_conn.cursor().execute("SELECT upper(column_name), data_type FROM duckdb_columns()").fetchall()
    numeric = {name for name, data_type in rows if str(data_type).startswith(_NUMERIC_TYPES)}
    other = {name for name, data_type in rows if not str(data_type).startswith(_NUMERIC_TYPES)}
    return frozenset(numeric - other)


def install(duck_conn: Any) -> None:
    """Route fakesnow's aggregate rewrite through `_exact` for statements of this connection."""
    import fakesnow.transforms as transforms

    _numeric_columns.set(lambda: numeric_columns(duck_conn))
    original = getattr(transforms, "numeric_agg_implicit_cast", None)
    if original is None or getattr(original, "exact", False):
        return
    from sqlglot import exp

    def exact(expression: Any) -> Any:
        argument = getattr(expression, "this", None)
        keep = isinstance(expression, exp.Sum) \
            and not isinstance(argument, (exp.Cast, exp.TryCast)) and _keeps_type(argument, exp)
        result = original(expression)   # also names the column as Snowflake does: SUM(AMOUNT)
        if keep:
            aggregate = result.this if isinstance(result, exp.Alias) else result
            if isinstance(aggregate.this, exp.TryCast):
                aggregate.set("this", aggregate.this.this)
        return result

    exact.exact = True  # type: ignore[attr-defined]
    transforms.numeric_agg_implicit_cast = exact


def _keeps_type(argument: Any, exp: Any) -> bool:
    """Whether the argument reads only number columns, which Snowflake aggregates without a cast."""
    lookup = _numeric_columns.get()
    columns = list(argument.find_all(exp.Column))
    if lookup is None or not columns:
        return False
    if any(isinstance(node, exp.Literal) and node.is_string for node in argument.walk()):
        return False
    if any(isinstance(node, (exp.JSONExtract, exp.Bracket, exp.Dot, exp.Placeholder)) for node in argument.walk()):
        return False
    numeric = lookup()
    return all(column.name.upper() in numeric for column in columns)
