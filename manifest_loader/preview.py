"""Table previews: what a manifest's tables hold in its target — their columns and types as the
warehouse stores them, their row counts and their first rows.

Everything is read through `query.execute_query`, the read-only query path the CLI's `query` and
`POST /api/query` use. The SQL comes from templates (preview_columns, preview_counts,
preview_rows) rendered for the target's dialect: identifiers are quoted by the dialect, and a
table is one the manifest names, never text from a request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import UnknownTable, UsageError
from .manifest import load_manifest
from .query import QueryResult, execute_query
from .render import Renderer
from .target import Target, resolve_target

# information_schema's names of the types whose precision and scale are part of the type.
_DECIMAL_TYPES = frozenset({"numeric", "decimal", "number"})
MAX_PREVIEW_ROWS = 1000


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    type: str            # as the warehouse reports it, e.g. "character varying(320)" or "NUMBER(12,2)"
    nullable: bool


@dataclass(frozen=True)
class TableInfo:
    name: str            # as the manifest names it
    stored_name: str     # as the warehouse stores it (Snowflake folds unquoted names to upper case)
    loaded: bool
    row_count: int | None
    columns: tuple[ColumnInfo, ...]


@dataclass(frozen=True)
class Preview:
    target: Target
    tables: tuple[TableInfo, ...]


def type_text(data_type: str, length: int | None, precision: int | None, scale: int | None) -> str:
    """A column's type from information_schema's parts: varchar(320), numeric(12,2), date."""
    if length is not None:
        return f"{data_type}({int(length)})"
    if precision is not None and scale is not None and data_type.lower() in _DECIMAL_TYPES:
        return f"{data_type}({int(precision)},{int(scale)})"
    return data_type


def describe_tables(manifest_path: str | Path, warehouse: str | None, *, env: Mapping[str, str] | None = None,
                    lock_timeout: float = 60.0) -> Preview:
    """Each table of the manifest in its target: loaded or not, its columns with their types, its rows."""
    manifest = load_manifest(manifest_path, env)
    target = resolve_target(manifest, warehouse, env)
    renderer = Renderer(target.dialect)
    dialect = target.dialect
    listed = execute_query(manifest_path, renderer.render("preview_columns",
                                                           schema_name=dialect.stored_name(target.schema)).sql,
                           warehouse, env=env, lock_timeout=lock_timeout)
    columns: dict[str, list[ColumnInfo]] = {}
    for table, column, data_type, length, precision, scale, nullable in listed.rows:
        columns.setdefault(str(table), []).append(
            ColumnInfo(str(column), type_text(str(data_type), length, precision, scale), str(nullable) == "YES"))
    loaded = [t.name for t in manifest.tables if dialect.stored_name(t.name) in columns]
    counts: dict[str, int] = {}
    if loaded:
        counted = execute_query(manifest_path, renderer.render("preview_counts", schema=target.schema,
                                                               tables=loaded).sql,
                                warehouse, env=env, lock_timeout=lock_timeout)
        counts = {loaded[int(index)]: int(rows) for index, rows in counted.rows}
    tables = tuple(TableInfo(t.name, dialect.stored_name(t.name), t.name in counts, counts.get(t.name),
                             tuple(columns.get(dialect.stored_name(t.name), ())))
                   for t in manifest.tables)
    return Preview(target, tables)


def first_rows(manifest_path: str | Path, table: str, warehouse: str | None, limit: int, *,
               env: Mapping[str, str] | None = None, lock_timeout: float = 60.0) -> tuple[str, QueryResult]:
    """The first `limit` rows of one of the manifest's tables (by primary key), and the SQL that read them."""
    manifest = load_manifest(manifest_path, env)
    spec = next((t for t in manifest.tables if t.name == table), None)
    if spec is None:
        raise UnknownTable(f"{manifest.display_path}: no table {table!r} in manifest {manifest.name}; its tables are "
                         + ", ".join(t.name for t in manifest.tables))
    if not 1 <= limit <= MAX_PREVIEW_ROWS:
        raise UsageError(f"a preview shows 1 to {MAX_PREVIEW_ROWS} rows, not {limit}")
    target = resolve_target(manifest, warehouse, env)
    sql = Renderer(target.dialect).render("preview_rows", schema=target.schema, table=spec.name,
                                          order_by=list(spec.primary_key), limit=limit).sql
    return sql, execute_query(manifest_path, sql, warehouse, env=env, lock_timeout=lock_timeout)
