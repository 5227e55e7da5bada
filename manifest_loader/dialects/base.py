"""What every dialect states: identifier rules, type map, transaction policy, template chain.

A dialect is its differences: subclasses override class attributes only (sqlglot's model).
"""

from __future__ import annotations

import re
from typing import ClassVar

from ..types import PortableType

# Words that would change the meaning of an unquoted name in either warehouse's SQL.
RESERVED = frozenset([
    "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "authorization",
    "between", "binary", "both", "case", "cast", "check", "collate", "column", "constraint",
    "create", "cross", "current_date", "current_role", "current_time", "current_timestamp",
    "current_user", "default", "deferrable", "desc", "distinct", "do", "else", "end", "except",
    "false", "fetch", "for", "foreign", "freeze", "from", "full", "grant", "group", "having",
    "ilike", "in", "initially", "inner", "intersect", "into", "is", "isnull", "join", "lateral",
    "leading", "left", "like", "limit", "localtime", "localtimestamp", "natural", "not", "notnull",
    "null", "offset", "on", "only", "or", "order", "outer", "overlaps", "placing", "primary",
    "qualify", "references", "returning", "right", "row", "rows", "sample", "select",
    "session_user", "similar", "some", "symmetric", "table", "tablesample", "then", "to",
    "trailing", "true", "union", "unique", "user", "using", "values", "variadic", "verbose", "when",
    "where", "window", "with",
])


class Dialect:
    """Defaults shared by every target; subclasses state only what differs."""

    name: ClassVar[str] = "default"
    parent: ClassVar[type[Dialect] | None] = None
    title: ClassVar[str] = "generic SQL"
    emulates: ClassVar[str | None] = None
    sqlglot_dialect: ClassVar[str] = "postgres"
    transactional_ddl: ClassVar[bool] = True
    max_identifier_bytes: ClassVar[int] = 127
    # How unquoted names are stored; also applied to names we emit, so what we create is what
    # `select * from customers` finds.
    case_folding: ClassVar[str] = "lower"
    unquoted_identifier: ClassVar[re.Pattern[str]] = re.compile(r"[a-z_][a-z0-9_]*\Z")
    # Redshift folds even quoted names; Snowflake keeps quoted names as written.
    fold_quoted: ClassVar[bool] = True
    varchar_counts: ClassVar[str] = "bytes"
    paramstyle: ClassVar[str] = "named"
    supports_advisory_lock: ClassVar[bool] = False
    # Real warehouses record keys without enforcing them; emulators that would enforce them
    # (PostgreSQL, DuckDB) leave them out and the loader's checks enforce them instead.
    declares_keys: ClassVar[bool] = True
    temp_tables_in_schema: ClassVar[bool] = False
    # Per-value checks (not_null, varchar_length) made on each batch as the loader streams the
    # rows itself, where a query after the copy would scan the whole table once per column;
    # "unique": key repeats, for a single integer key whose range the footers bound.
    streamed_checks: ClassVar[frozenset[str]] = frozenset()
    # Redshift's COPY reads Parquet columns by position: the COPY lists the table's columns in
    # the files' order (so an existing table in another order still loads right), which only
    # works when every file of the table has that one order.
    columns_by_position: ClassVar[bool] = False
    type_map: ClassVar[dict[str, str]] = {
        "boolean": "BOOLEAN", "smallint": "SMALLINT", "integer": "INTEGER", "bigint": "BIGINT",
        "decimal": "NUMERIC({precision},{scale})", "real": "REAL", "double": "DOUBLE PRECISION",
        "varchar": "VARCHAR(65535)", "varchar(n)": "VARCHAR({length})", "char(n)": "CHAR({length})",
        "date": "DATE", "time": "TIME", "timestamp": "TIMESTAMP", "timestamptz": "TIMESTAMPTZ",
        "json": "JSON", "binary": "BYTEA",
    }
    # information_schema.columns.data_type of each portable type, to spot a table that no longer
    # matches its files before loading into it.
    catalog_types: ClassVar[dict[str, tuple[str, ...]]] = {
        "boolean": ("boolean",), "smallint": ("smallint",), "integer": ("integer",), "bigint": ("bigint",),
        "decimal": ("numeric",), "real": ("real",), "double": ("double precision",),
        "varchar": ("character varying", "text"), "char": ("character", "character varying"),
        "date": ("date",), "time": ("time without time zone",),
        "timestamp": ("timestamp without time zone",), "timestamptz": ("timestamp with time zone",),
        "json": ("json", "jsonb", "super"), "binary": ("bytea", "binary varying", "varbyte"),
    }
    # Notes plan prints where an emulator departs from the warehouse it stands in for.
    notes: ClassVar[dict[str, str]] = {}

    @classmethod
    def chain(cls) -> list[str]:
        """Template lookup order: this dialect, its parents, then `default`."""
        names, current = [], cls
        while current is not None:
            names.append(current.name)
            current = current.parent
        if names[-1] != "default":
            names.append("default")
        return names

    # -- identifiers ---------------------------------------------------------------------------

    @classmethod
    def stored_name(cls, name: str) -> str:
        """The name as the warehouse stores it when we emit it with `quote()`."""
        if cls.needs_quotes(name) and not cls.fold_quoted:
            return name
        return name.lower() if cls.case_folding == "lower" else name.upper()

    @classmethod
    def needs_quotes(cls, name: str) -> bool:
        candidate = name.lower() if cls.fold_quoted else name
        return not cls.unquoted_identifier.match(candidate) or name.lower() in RESERVED

    @classmethod
    def quote(cls, name: str) -> str:
        """The identifier as SQL text: unquoted when that is valid, else double-quoted."""
        text = name.lower() if cls.fold_quoted else name
        if not cls.needs_quotes(name):
            return text
        return '"' + text.replace('"', '""') + '"'

    @classmethod
    def identifier_problem(cls, name: str) -> str | None:
        """Why the target cannot take this name, or None."""
        if not name:
            return "is empty"
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
            return "contains a control character (newline, tab, NUL, ...)"
        size = len(name.encode("utf-8"))
        if size > cls.max_identifier_bytes:
            return f"is {size} bytes long; {cls.title} takes at most {cls.max_identifier_bytes}"
        if name != name.strip():
            return "starts or ends with white space"
        return None

    # -- types ---------------------------------------------------------------------------------

    @classmethod
    def type_sql(cls, ptype: PortableType) -> str:
        """Native type text for a portable type."""
        key = ptype.name
        if ptype.length is not None:
            key = f"{ptype.name}(n)"
        template = cls.type_map[key]
        return template.format(length=ptype.length, precision=ptype.precision, scale=ptype.scale)
