"""`query`: run SQL against a manifest's target (its schema the default), or a warehouse's.

On the Redshift emulator the SQL is Redshift SQL: it is translated to PostgreSQL (translate.py)
and runs with the compatibility layer installed. fakesnow translates Snowflake SQL itself; real
warehouses get the SQL as written.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from .errors import QueryFailed, UsageError
from .manifest import load_manifest
from .progress import LogProgress
from .target import Target, resolve_target
from .warehouses import connect
from .warehouses.base import QUERY_TIMEOUT_SECONDS

# The schema a query without a manifest runs in.
DEFAULT_SCHEMA = "public"


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    target: Target
    translated_sql: str | None = None             # what ran, when it differs from what was given
    notes: tuple[str, ...] = field(default=())


def query_target(manifest_path: str | Path | None, warehouse: str | None,
                 env: Mapping[str, str] | None = None) -> Target:
    """The manifest's target (overridden by `warehouse`), or without a manifest the warehouse's URL."""
    if manifest_path is not None:
        return resolve_target(load_manifest(manifest_path, env), warehouse, env)
    if warehouse is None:
        raise UsageError("name a MANIFEST or pass --target-warehouse redshift|snowflake")
    # No manifest: the state folder is looked up from the current folder (path None).
    bare = SimpleNamespace(warehouse=warehouse, url=None, schema=DEFAULT_SCHEMA, stage_url=None, display_path="",
                           path=None)
    return resolve_target(bare, warehouse, env)  # type: ignore[arg-type]


def execute_query(manifest_path: str | Path | None, sql: str, warehouse: str | None = None, *,
                  env: Mapping[str, str] | None = None, lock_timeout: float = 60.0,
                  timeout_seconds: float = QUERY_TIMEOUT_SECONDS) -> QueryResult:
    """Run one statement and return its rows; nothing it does is committed. On the emulators it runs
    sandboxed: read-only, without access to the machine's files (docs/api.md, threat model)."""
    target = query_target(manifest_path, warehouse, env)
    written = sql
    one_statement(sql, target.dialect.sqlglot_dialect)
    # Log lines on stderr: what a query waits for, and where a managed emulator it started runs.
    connection = connect(target, LogProgress(), lock_timeout, for_query=True)
    try:
        translated: str | None = None
        notes: tuple[str, ...] = ()
        if target.kind.translates_queries:
            from . import compat
            from .translate import translate

            compat.ensure_installed(connection)
            catalog = connection.execute(
                "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = $1",
                {"schema": target.dialect.stored_name(target.schema)}, ("schema",))
            tables: dict[str, dict[str, str]] = {}
            for table, column, data_type in catalog:
                tables.setdefault(table, {})[column] = data_type
            json_columns = {column for _, column, data_type in catalog if data_type in ("json", "jsonb")}
            translation = translate(sql, json_columns, tables)
            translated, notes, sql = translation.sql, translation.notes, translation.sql
        try:
            columns, rows = connection.query(sql, target.schema, timeout_seconds)
        except QueryFailed as exc:
            exc.translated_sql = translated   # where the error's position points, when it is not the user's SQL
            raise
        if target.is_emulator:   # headers from what the user wrote, not from the translation that ran
            from .headers import user_headers
            from .registry import real

            emulated = real(target.warehouse).dialect
            columns = user_headers(written, columns, emulated.sqlglot_dialect, target.dialect.derived_column_names)
        return QueryResult(columns, rows, target, translated, notes)
    finally:
        connection.rollback()
        connection.close()


def one_statement(sql: str, sqlglot_dialect: str) -> None:
    """Refuse SQL that holds more than one statement (`delete from t; commit`): `query` runs one,
    on every target, so nothing after it can commit or undo its sandbox."""
    import sqlglot
    from sqlglot.tokens import TokenType

    try:
        tokens = sqlglot.Dialect.get_or_raise(sqlglot_dialect).tokenize(sql)
    except Exception as exc:   # sqlglot raises TokenError and others; the message is what matters
        raise UsageError(f"cannot read the SQL: {str(exc).splitlines()[0][:200]}") from None
    statements = 0
    in_statement = False
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            in_statement = False
        elif not in_statement:
            statements, in_statement = statements + 1, True
    if statements > 1:
        raise UsageError(f"{statements} statements given; query runs exactly one statement",
                         hint="run them one at a time; query never commits, so a statement cannot prepare the next")
    if statements == 0:
        raise UsageError("no SQL statement given")


def run_query(manifest_path: str | Path | None, sql: str, warehouse: str | None = None, lock_timeout: float = 60.0,
              env: Mapping[str, str] | None = None) -> tuple[list[str], list[tuple[Any, ...]]]:
    result = execute_query(manifest_path, sql, warehouse, env=env, lock_timeout=lock_timeout)
    return result.columns, result.rows


def _text(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return str(value)


def jsonable(value: Any) -> Any:
    """A value as JSON can carry it: exact decimals as strings, times in ISO 8601, bytes in hex."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return value


def format_result(columns: list[str], rows: list[tuple[Any, ...]], fmt: str) -> str:
    if fmt == "json":
        return json.dumps([{c: jsonable(v) for c, v in zip(columns, row, strict=True)} for row in rows],
                          ensure_ascii=False, indent=2) + "\n"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(columns)
        writer.writerows([[jsonable(v) for v in row] for row in rows])
        return buffer.getvalue()
    from rich.console import Console
    from rich.table import Table

    table = Table(*columns, show_lines=False)
    for row in rows:
        table.add_row(*(_text(v) for v in row), end_section=False)
    buffer = io.StringIO()
    Console(file=buffer, width=200, highlight=False).print(table)
    return buffer.getvalue() + f"({len(rows)} row{'s' if len(rows) != 1 else ''})\n"
