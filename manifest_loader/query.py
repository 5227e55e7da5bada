"""`query`: run SQL against a manifest's target, with its schema as the default schema."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from .errors import UsageError
from .manifest import load_manifest
from .progress import Progress
from .target import URL_ENV, resolve_target
from .warehouses import connect


def run_query(manifest_path: str | Path, sql: str, warehouse: str | None = None,
              lock_timeout: float = 60.0) -> tuple[list[str], list[tuple[Any, ...]]]:
    manifest = load_manifest(manifest_path)
    target = resolve_target(manifest, warehouse)
    if target.url is None and target.warehouse == "redshift":
        raise UsageError(f"no Redshift URL: set {URL_ENV['redshift']}", hint="see `manifest-loader apply --help`")
    connection = connect(target, Progress(), lock_timeout)
    try:
        return connection.query(sql, target.schema)
    finally:
        connection.rollback()
        connection.close()


def _text(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return str(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return value


def format_result(columns: list[str], rows: list[tuple[Any, ...]], fmt: str) -> str:
    if fmt == "json":
        return json.dumps([{c: _jsonable(v) for c, v in zip(columns, row, strict=True)} for row in rows],
                          ensure_ascii=False, indent=2) + "\n"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(columns)
        writer.writerows([[_jsonable(v) for v in row] for row in rows])
        return buffer.getvalue()
    from rich.console import Console
    from rich.table import Table

    table = Table(*columns, show_lines=False)
    for row in rows:
        table.add_row(*(_text(v) for v in row), end_section=False)
    buffer = io.StringIO()
    Console(file=buffer, width=200, highlight=False).print(table)
    return buffer.getvalue() + f"({len(rows)} row{'s' if len(rows) != 1 else ''})\n"
