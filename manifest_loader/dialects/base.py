"""What every dialect states: identifier rules, type map, transaction policy, template chain.

A dialect is its differences: subclasses override class attributes only (sqlglot's model).
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from pathlib import Path
from typing import ClassVar

from ..types import PortableType

_KEYWORDS = Path(__file__).with_name("keywords")


@cache
def keywords(source: str) -> frozenset[str]:
    """The words of keywords/<source>.txt that must be quoted to be a name (lower case).

    Each file says where its words come from (the vendor's reserved-word page, or the engine's own
    keyword function) and which categories it quotes: PostgreSQL and DuckDB files list every
    keyword with its category, and only "unreserved" ones may stand unquoted.
    """
    words = set()
    for line in (_KEYWORDS / f"{source}.txt").read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        word, category = line.split()
        if category != "unreserved":
            words.add(word)
    return frozenset(words)


class Dialect:
    """Defaults shared by every target; subclasses state only what differs."""

    name: ClassVar[str] = "default"
    parent: ClassVar[type[Dialect] | None] = None
    title: ClassVar[str] = "generic SQL"
    sqlglot_dialect: ClassVar[str] = "postgres"
    # How the warehouse names an unaliased expression in a query's result (headers.RULES), for
    # an emulator whose engine would name it after its translation; None: the engine's names.
    derived_column_names: ClassVar[str | None] = None
    transactional_ddl: ClassVar[bool] = True
    max_identifier_bytes: ClassVar[int] = 127
    # How unquoted names are stored; also applied to names we emit, so what we create is what
    # `select * from customers` finds.
    case_folding: ClassVar[str] = "lower"
    unquoted_identifier: ClassVar[re.Pattern[str]] = re.compile(r"[a-z_][a-z0-9_]*\Z")
    # Redshift folds even quoted names; Snowflake keeps quoted names as written.
    fold_quoted: ClassVar[bool] = True
    # Keyword lists (keywords/<name>.txt) whose words are quoted when used as names: the
    # warehouse's own, and for an emulator also its engine's, so a name works on both.
    keyword_sources: ClassVar[tuple[str, ...]] = ("postgres",)
    varchar_counts: ClassVar[str] = "bytes"
    # Whether `\` escapes the next character inside '…' (Snowflake): string literals then double it.
    string_backslash_escapes: ClassVar[bool] = False
    paramstyle: ClassVar[str] = "named"
    supports_advisory_lock: ClassVar[bool] = False
    # Real warehouses record keys without enforcing them; emulators that would enforce them
    # (PostgreSQL, DuckDB) leave them out and the loader's checks enforce them instead.
    declares_keys: ClassVar[bool] = True
    temp_tables_in_schema: ClassVar[bool] = False
    # ALTER TABLE … ALTER COLUMN … DROP NOT NULL exists (Redshift has no way to change nullability).
    alters_nullability: ClassVar[bool] = True
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
    # The compressed file sizes the real warehouse's parallel COPY loads well, and what takes one
    # file at a time there (file_shape.py); None: no advice (emulators use their warehouse's).
    load_file_bytes: ClassVar[tuple[int, int] | None] = None
    load_file_advice: ClassVar[str] = ""
    # How `query` makes a schema the default, and the statement that counts what the last COPY
    # loaded where COPY itself does not answer with its counts (None: it does).
    use_schema: ClassVar[str] = "SET search_path TO {schema}, public"
    copy_count_sql: ClassVar[str | None] = None

    @classmethod
    def chain(cls) -> list[str]:
        """Template lookup order: this dialect, its parents, then `default`."""
        names: list[str] = []
        current: type[Dialect] | None = cls
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
        if not cls.plain_name(name) and not cls.fold_quoted:
            return name
        return name.lower() if cls.case_folding == "lower" else name.upper()

    @classmethod
    @cache   # per dialect class: a 200-table plan asks it for every identifier it quotes
    def reserved_words(cls) -> frozenset[str]:
        """Every keyword (lower case) that this dialect quotes when it is a name."""
        return frozenset().union(*(keywords(source) for source in cls.keyword_sources))

    @classmethod
    def is_keyword(cls, name: str) -> bool:
        return name.lower() in cls.reserved_words()

    @classmethod
    def plain_name(cls, name: str) -> bool:
        """Whether the name is an ordinary identifier that unquoted SQL would store case-folded."""
        candidate = name.lower() if cls.fold_quoted else name
        return bool(cls.unquoted_identifier.match(candidate))

    @classmethod
    def needs_quotes(cls, name: str) -> bool:
        return not cls.plain_name(name) or cls.is_keyword(name)

    @classmethod
    @lru_cache(maxsize=8192)   # the same few names, thousands of times in a large plan
    def quote(cls, name: str) -> str:
        """The identifier as SQL text: unquoted when that is valid, else double-quoted.

        A keyword that is otherwise a plain name is quoted in its folded case, so it is stored as
        the same name unquoted SQL would store (`start` -> "START" on Snowflake).
        """
        if cls.plain_name(name):
            if cls.is_keyword(name):
                return '"' + cls.stored_name(name) + '"'
            return name.lower() if cls.fold_quoted else name
        text = name.lower() if cls.fold_quoted else name
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
