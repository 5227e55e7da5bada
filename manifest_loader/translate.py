"""Translate Redshift SQL into SQL the Redshift emulator (PostgreSQL) runs with the same meaning.

sqlglot does the bulk of it (read="redshift", write="postgres"). This module corrects what
would run but answer differently (DATEDIFF counts boundaries on Redshift, GETDATE has no
fractional seconds, ADD_MONTHS keeps month ends, LISTAGG … WITHIN GROUP has no PostgreSQL
spelling), routes functions PostgreSQL lacks to the compatibility layer
(`redshift_compat.*`, see manifest_loader/compat), and refuses what cannot run with a message
that names the construct. The output is what `query --show-translation` prints and what runs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import cast

import sqlglot
from sqlglot import exp
from sqlglot.dialects.redshift import Redshift
from sqlglot.errors import ErrorLevel, ParseError, SqlglotError, UnsupportedError

from .compat import COMPAT_SCHEMA
from .decorrelate import NOTE as DECORRELATED
from .decorrelate import decorrelated
from .errors import UsageError
from .sql_position import token_start

# Redshift functions PostgreSQL lacks, implemented by the compatibility layer; calls to them are
# qualified with its schema, so they work whatever the session's search_path.
COMPAT_FUNCTIONS = frozenset({
    "getdate", "sysdate", "nvl", "nvl2", "len", "dateadd", "datediff", "convert_timezone", "add_months",
    "months_between", "last_day", "trunc", "strtol", "json_parse", "json_serialize", "is_valid_json",
    "is_valid_json_array", "json_extract_array_element_text", "json_array_length", "charindex", "replicate",
    "dexp", "dlog1", "dlog10", "datepart", "listagg",
})
# System tables the compatibility layer emulates (views over the ledger and failed runs).
EMULATED_SYSTEM_TABLES = frozenset({"stl_load_commits", "stl_load_errors"})
_SYSTEM_PREFIXES = ("stl_", "stv_", "svl_", "svv_", "sys_", "svcs_", "stcs_")
_UNSUPPORTED_TABLES = frozenset({"pg_table_def", "pg_external_schema"})
# Redshift-only functions with no emulation: named in the error instead of a PostgreSQL
# "function does not exist".
_UNSUPPORTED_FUNCTIONS = {
    "hll": "HyperLogLog sketches", "hll_create_sketch": "HyperLogLog sketches",
    "hll_cardinality": "HyperLogLog sketches", "hll_combine": "HyperLogLog sketches",
    "hll_combine_sketches": "HyperLogLog sketches", "pg_last_copy_id": "COPY bookkeeping",
    "pg_last_copy_count": "COPY bookkeeping", "pg_last_query_id": "query bookkeeping",
    "pg_last_unload_id": "UNLOAD bookkeeping", "pg_last_unload_count": "UNLOAD bookkeeping",
    "split_to_array": "SUPER arrays", "subarray": "SUPER arrays", "array_flatten": "SUPER arrays",
    "get_array_length": "SUPER arrays", "array_concat": "SUPER arrays",
}
_UNSUPPORTED_TYPES = {exp.DataType.Type.HLLSKETCH: "HLLSKETCH", exp.DataType.Type.GEOMETRY: "GEOMETRY",
                      exp.DataType.Type.GEOGRAPHY: "GEOGRAPHY"}
_STRING_TYPES = {exp.DataType.Type.VARCHAR, exp.DataType.Type.CHAR, exp.DataType.Type.TEXT,
                 exp.DataType.Type.NVARCHAR, exp.DataType.Type.NCHAR, exp.DataType.Type.BPCHAR}


class TranslationError(UsageError):
    """The statement cannot run on the Redshift emulator; the message names the construct.

    `position` is (line, column), 1-based, in the user's SQL when the parser stopped somewhere.
    """

    def __init__(self, message: str, position: tuple[int, int] | None = None):
        super().__init__(message)
        self.position = position


@dataclass(frozen=True)
class Translation:
    source: str
    sql: str                                    # what runs on PostgreSQL
    notes: tuple[str, ...] = field(default=())  # where the emulator's answer may differ


def _compat(name: str, args: Iterable[exp.Expression]) -> exp.Expression:
    return exp.Dot(this=exp.to_identifier(COMPAT_SCHEMA),
                   expression=exp.Anonymous(this=name, expressions=list(args)))


class _RedshiftSource(Redshift):
    """Redshift as sqlglot reads it, except for functions whose exact Redshift meaning we keep."""

    # sqlglot declares Parser as a class attribute holding the class, which mypy cannot take as a base.
    class Parser(Redshift.Parser):  # type: ignore[valid-type,misc]
        FUNCTIONS = {
            **Redshift.Parser.FUNCTIONS,
            # sqlglot reads these as generic nodes whose PostgreSQL spelling answers differently.
            "GETDATE": lambda args: _compat("getdate", args),
            "ADD_MONTHS": lambda args: _compat("add_months", args),
            "MONTHS_BETWEEN": lambda args: _compat("months_between", args),
            "LAST_DAY": lambda args: _compat("last_day", args),
            "STRTOL": lambda args: _compat("strtol", args),
        }


def _unit(node: exp.Expression | None, default: str = "day") -> exp.Literal:
    """A date part (a keyword such as `day`, or a string) as the string the compat functions take."""
    if node is None:
        return exp.Literal.string(default)
    name = node.name if isinstance(node, exp.Var | exp.Column | exp.Identifier | exp.Literal) else node.sql()
    return exp.Literal.string(name.lower())


class _Rewriter:
    def __init__(self, json_columns: frozenset[str], relations: set[str]):
        self.json_columns = json_columns
        self.relations = relations
        self.notes: list[str] = []

    def __call__(self, node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Command):
            raise TranslationError(f"{node.name.upper()} is not emulated: the Redshift emulator runs queries "
                                   "(SELECT and DML), not Redshift administration or S3 commands")
        if isinstance(node, exp.CurrentTimestamp) and node.args.get("sysdate"):
            return _compat("sysdate", [])
        if isinstance(node, exp.TsOrDsDiff):     # DATEDIFF counts boundaries crossed, as Redshift does
            return _compat("datediff", [_unit(node.args.get("unit")), node.expression, node.this])
        if isinstance(node, exp.TsOrDsAdd | exp.DateAdd):
            return _compat("dateadd", [_unit(node.args.get("unit")), node.expression, node.this])
        if isinstance(node, exp.WithinGroup) and isinstance(node.this, exp.GroupConcat):
            return self._listagg(node.this, node.expression)
        if isinstance(node, exp.GroupConcat) and not isinstance(node.parent, exp.WithinGroup):
            self._separator_out_of_distinct(node)
            if node.args.get("separator") is None:
                node.set("separator", exp.Literal.string(""))   # Redshift's LISTAGG default: no delimiter
            return node
        if isinstance(node, exp.ApproxDistinct):
            self.notes.append("APPROXIMATE COUNT(DISTINCT …) is exact on the emulator")
            return exp.Count(this=exp.Distinct(expressions=[node.this]))
        if isinstance(node, exp.ApproxQuantile):
            self.notes.append("APPROXIMATE PERCENTILE_DISC is exact on the emulator")
            return exp.WithinGroup(this=exp.PercentileDisc(this=node.args["quantile"]),
                                   expression=exp.Order(expressions=[exp.Ordered(this=node.this)]))
        if isinstance(node, exp.RegexpExtract):
            args = [node.this, node.expression] + [node.args[k] for k in ("position", "occurrence", "parameters")
                                                  if node.args.get(k) is not None]
            return exp.Anonymous(this="regexp_substr", expressions=args)
        if isinstance(node, exp.FromBase):
            return _compat("strtol", [node.this, node.expression])
        if isinstance(node, exp.Trunc) and node.args.get("decimals") is None:
            return _compat("trunc", [node.this])   # TRUNC(timestamp) is a date on Redshift
        if isinstance(node, exp.JSONExtractScalar) and not node.args.get("json_type"):
            # JSON_EXTRACT_PATH_TEXT takes text on Redshift, json on PostgreSQL.
            node.set("this", exp.Cast(this=node.this, to=exp.DataType.build("json")))
            return node
        if isinstance(node, exp.Window) and isinstance(node.this, exp.Anonymous) \
                and node.this.name.lower() == "ratio_to_report":
            value = node.this.expressions[0]
            total = node.copy()
            total.set("this", exp.Sum(this=value.copy()))
            return exp.Div(this=exp.Cast(this=value, to=exp.DataType.build("numeric")),
                           expression=exp.Nullif(this=total, expression=exp.Literal.number(0)))
        if isinstance(node, exp.Func):
            self._refuse_function(node.name if isinstance(node, exp.Anonymous) else node.sql_name())
        if isinstance(node, exp.Anonymous):
            return self._function(node)
        if isinstance(node, exp.DataType):
            return self._type(node)
        if isinstance(node, exp.Table):
            return self._table(node)
        if isinstance(node, exp.Column):
            return self._super_path(node)
        return node

    @staticmethod
    def _separator_out_of_distinct(concat: exp.GroupConcat) -> None:
        """LISTAGG(DISTINCT x, '|') reads as DISTINCT (x, '|'): the second expression is the delimiter."""
        value = concat.this
        if isinstance(value, exp.Distinct) and len(value.expressions) == 2 and not concat.args.get("separator"):
            concat.set("separator", value.expressions[1].pop())

    def _listagg(self, concat: exp.GroupConcat, order: exp.Expression) -> exp.Expression:
        self._separator_out_of_distinct(concat)
        separator = concat.args.get("separator") or exp.Literal.string("")
        value = concat.this
        distinct = isinstance(value, exp.Distinct)
        inner = value.expressions[0] if distinct else value
        # sqlglot's own shape for STRING_AGG(DISTINCT x, sep ORDER BY y): Order(this=Distinct(x)).
        agg_input = exp.Distinct(expressions=[inner]) if distinct else inner
        return exp.GroupConcat(this=exp.Order(this=agg_input, expressions=order.expressions), separator=separator)

    @staticmethod
    def _refuse_function(name: str) -> None:
        name = name.lower()
        if name in _UNSUPPORTED_FUNCTIONS:
            raise TranslationError(f"function {name.upper()} ({_UNSUPPORTED_FUNCTIONS[name]}) is not emulated by "
                                   "the Redshift emulator")
        if name.startswith("st_"):
            raise TranslationError(f"function {name.upper()}: spatial functions are not emulated by the "
                                   "Redshift emulator")

    def _function(self, node: exp.Anonymous) -> exp.Expression:
        name = node.name.lower()
        if name in ("datepart", "date_part") and len(node.expressions) == 2 \
                and isinstance(node.expressions[0], exp.Column | exp.Var):
            return exp.Extract(this=exp.var(node.expressions[0].name.upper()), expression=node.expressions[1])
        if name in COMPAT_FUNCTIONS and not isinstance(node.parent, exp.Dot):
            return _compat(name, node.expressions)
        return node

    def _type(self, node: exp.DataType) -> exp.Expression:
        kind = node.this
        if kind in _UNSUPPORTED_TYPES:
            raise TranslationError(f"type {_UNSUPPORTED_TYPES[kind]} is not emulated by the Redshift emulator")
        if kind == exp.DataType.Type.SUPER:
            return exp.DataType.build("json")
        if kind == exp.DataType.Type.VARBINARY:
            return exp.DataType.build("bytea", dialect="postgres")
        return node

    def _table(self, node: exp.Table) -> exp.Expression:
        name = node.name.lower()
        db = node.text("db").lower()
        if db not in ("", "pg_catalog"):
            return node
        if name in EMULATED_SYSTEM_TABLES:
            node.set("db", exp.to_identifier(COMPAT_SCHEMA))
            return node
        if name in _UNSUPPORTED_TABLES or name.startswith(_SYSTEM_PREFIXES) and not db:
            raise TranslationError(f"system table {name.upper()} is not emulated; the Redshift emulator has "
                                   + ", ".join(sorted(t.upper() for t in EMULATED_SYSTEM_TABLES)))
        return node

    def _super_path(self, node: exp.Column) -> exp.Expression:
        """SUPER navigation (`attributes.color`, `p.attributes.size`) on the emulator's JSON columns."""
        if not self.json_columns:
            return node
        parts = [p.name for p in node.parts]
        start = next((i for i, p in enumerate(parts[:-1]) if p.lower() in self.json_columns
                      and (i > 0 or p.lower() not in self.relations)), None)
        if start is None:
            return node
        result: exp.Expression = exp.column(parts[start], table=parts[start - 1] if start > 0 else None)
        keys = parts[start + 1:]
        parent = node.parent
        # Text extraction (->>) turns a JSON null into NULL, as Redshift's navigation does, so IS NULL
        # tests and string comparisons use it; elsewhere the value stays JSON (SUPER).
        as_text = isinstance(parent, exp.Is) or (isinstance(parent, exp.Cast) and parent.to.this in _STRING_TYPES) or (
            isinstance(parent, exp.EQ | exp.NEQ | exp.Like | exp.ILike | exp.In)
            and any(isinstance(side, exp.Literal) and side.is_string for side in parent.iter_expressions()))
        for i, key in enumerate(keys):
            last = i == len(keys) - 1
            operator = exp.JSONExtractScalar if last and as_text else exp.JSONExtract
            result = operator(this=result, expression=exp.Literal.string(key))
        return result


def _qualify_then_order(node: exp.Expression) -> exp.Expression:
    """QUALIFY filters before ORDER BY and LIMIT apply: keep them outside the subquery sqlglot makes for it."""
    if not isinstance(node, exp.Select) or not node.args.get("qualify"):
        return node
    outer_args: dict[str, exp.Expression] = {key: node.args[key] for key in ("order", "limit", "offset")
                                             if node.args.get(key)}
    if not outer_args:
        return node
    inner = node.copy()
    for key in outer_args:
        inner.set(key, None)
    outer = exp.select("*").from_(inner.subquery("_q"))
    for key, value in outer_args.items():
        value = value.copy()
        for column in value.find_all(exp.Column):   # the outer query sees output names only
            column.set("table", None)
            column.set("db", None)
        outer.set(key, value)
    return outer


def _relations(tree: exp.Expression) -> set[str]:
    names: set[str] = set()
    for table in tree.find_all(exp.Table):
        names.add(table.name.lower())
        if table.alias:
            names.add(table.alias.lower())
    for cte in tree.find_all(exp.CTE):
        names.add(cte.alias.lower())
    for sub in tree.find_all(exp.Subquery):
        if sub.alias:
            names.add(sub.alias.lower())
    return names


def _parse(sql: str) -> exp.Expression:
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    try:
        statements = [s for s in sqlglot.parse(sql, read=_RedshiftSource) if s is not None]
    except ParseError as exc:
        error = exc.errors[0] if exc.errors else {}
        near = f" near {error.get('highlight')!r}" if error.get("highlight") else ""
        where = f" at line {error.get('line')}, column {error.get('col')}" if error.get("line") else ""
        position = token_start(error["line"], error.get("col") or 1, error.get("highlight")) \
            if error.get("line") else None
        raise TranslationError(f"cannot read the statement as Redshift SQL{where}{near}: "
                               f"{error.get('description') or str(exc).splitlines()[0]}", position) from None
    except (SqlglotError, RecursionError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TranslationError(f"cannot read the statement as Redshift SQL: {first[:300]}") from None
    if not statements:
        raise TranslationError("no SQL statement given")
    if len(statements) > 1:
        raise TranslationError(f"{len(statements)} statements given; query runs one statement at a time")
    return cast(exp.Expression, statements[0])   # sqlglot 30 types parse() as its base class, Expr


def translate(sql: str, json_columns: Iterable[str] = (),
              tables: Mapping[str, Mapping[str, str]] | None = None) -> Translation:
    """Redshift SQL as PostgreSQL plus the compatibility layer, or TranslationError naming the construct.

    `json_columns` names the emulator's JSON columns (Redshift SUPER), so `col.field` navigation
    becomes a JSON path instead of a table reference. `tables` (table -> column -> type, of the
    query's schema) lets correlated subqueries be rewritten as joins (decorrelate.py).
    """
    tree = _parse(sql)
    if isinstance(tree, exp.Command):
        _Rewriter(frozenset(), set())(tree)
    rewriter = _Rewriter(frozenset(c.lower() for c in json_columns), _relations(tree))
    unnested = decorrelated(tree, tables or {})
    if unnested is not None:
        tree = unnested
        rewriter.notes.append(DECORRELATED)
    try:
        tree = tree.transform(_qualify_then_order, copy=True).transform(rewriter, copy=False)
        out = tree.sql(dialect="postgres", pretty=True, unsupported_level=ErrorLevel.RAISE)
    except TranslationError:
        raise
    except UnsupportedError as exc:
        raise TranslationError(f"cannot translate to PostgreSQL: {str(exc).splitlines()[0]}") from None
    except (SqlglotError, RecursionError, ValueError, TypeError, AttributeError) as exc:
        raise TranslationError(f"cannot translate to PostgreSQL: {type(exc).__name__}: "
                               f"{str(exc).splitlines()[0] if str(exc) else ''}") from None
    return Translation(sql, out, tuple(dict.fromkeys(rewriter.notes)))
