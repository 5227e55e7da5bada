"""Shared helpers of the reliability suite: where a test's emulator lives, and reading it directly.

Checks read the warehouses with their own drivers (psycopg, duckdb), not through the loader, so
a bug in the loader's query path cannot hide a bug in its load path.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FAKESNOW_FILE = "MANIFEST_LOADER.db"
# Schemas the loader's infrastructure owns, not a load: the Redshift compatibility layer (installed
# on connect) and fakesnow's own catalog (its load history).
INFRASTRUCTURE_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast", "redshift_compat",
                          "_fs_information_schema")


def env_int(name: str, ci_default: int, full_default: int | None = None) -> int:
    """An integer knob: $name if set, else the CI default (or the full one when RELIABILITY_FULL=1)."""
    if os.environ.get(name):
        return int(os.environ[name])
    if os.environ.get("RELIABILITY_FULL") == "1" and full_default is not None:
        return full_default
    return ci_default


@dataclass(frozen=True)
class Emulator:
    """One emulator as a test sees it: the loader's name for it and how to read it directly."""

    warehouse: str            # redshift | snowflake
    state: Path               # MANIFEST_LOADER_STATE_DIR
    pg_url: str | None = None

    @property
    def fakesnow_file(self) -> Path:
        return self.state / "fakesnow" / FAKESNOW_FILE

    def env(self) -> dict[str, str]:
        values = {"MANIFEST_LOADER_STATE_DIR": str(self.state)}
        if self.pg_url:
            values["DW_SIMULATOR_REDSHIFT_URL"] = self.pg_url
        return values

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        """Run SQL directly (psycopg / read-only duckdb); names unquoted, so case does not matter."""
        if self.warehouse == "redshift":
            import psycopg

            assert self.pg_url is not None
            with psycopg.connect(self.pg_url) as conn:
                return [tuple(r) for r in conn.execute(sql).fetchall()]
        if not self.fakesnow_file.exists():
            return []
        with self.duckdb() as conn:
            return [tuple(r) for r in conn.execute(sql).fetchall()]

    @contextlib.contextmanager
    def duckdb(self) -> Iterator[Any]:
        import duckdb

        conn = duckdb.connect(str(self.fakesnow_file), read_only=True)
        try:
            yield conn
        finally:
            conn.close()

    def snapshot(self) -> dict[str, int]:
        """Every user table (schema.table, lower case) and its row count."""
        if self.warehouse == "snowflake" and not self.fakesnow_file.exists():
            return {}
        skip = ", ".join(f"'{s}'" for s in INFRASTRUCTURE_SCHEMAS)
        listing = ("SELECT table_schema, table_name FROM information_schema.tables "
                   f"WHERE table_type = 'BASE TABLE' AND lower(table_schema) NOT IN ({skip}) "
                   "AND table_schema NOT LIKE 'pg_temp%'")
        if self.warehouse == "redshift":
            import psycopg
            from psycopg import sql

            assert self.pg_url is not None
            with psycopg.connect(self.pg_url) as conn:
                tables = conn.execute(listing).fetchall()
                return {f"{s}.{t}".lower(): conn.execute(sql.SQL("SELECT count(*) FROM {}.{}").format(
                    sql.Identifier(s), sql.Identifier(t))).fetchone()[0] for s, t in tables}
        with self.duckdb() as conn:
            tables = conn.execute(listing).fetchall()
            return {f"{s}.{t}".lower(): conn.execute(f'SELECT count(*) FROM "{s.replace(chr(34), chr(34) * 2)}".'
                                                     f'"{t.replace(chr(34), chr(34) * 2)}"').fetchone()[0]
                    for s, t in tables}

    def schemas(self) -> set[str]:
        skip = ", ".join(f"'{s}'" for s in INFRASTRUCTURE_SCHEMAS)
        sql = (f"SELECT schema_name FROM information_schema.schemata WHERE lower(schema_name) NOT IN ({skip}) "
               "AND schema_name NOT LIKE 'pg_%' AND lower(schema_name) NOT IN ('public', 'main')")
        if self.warehouse == "snowflake":
            sql += " AND catalog_name = 'MANIFEST_LOADER'"
        return {str(r[0]).lower() for r in self.rows(sql)}


def isolated_emulator(request: Any, tmp_path: Path, monkeypatch: Any) -> Emulator:
    """The emulator named by request.param (PostgreSQL from the pg_database fixture for redshift),
    state under tmp_path, and only its variables in the environment."""
    for name in ("DW_SIMULATOR_REDSHIFT_URL", "DW_SIMULATOR_SNOWFLAKE_URL", "DW_SIMULATOR_STAGE_BUCKET",
                 "DW_SIMULATOR_TARGET_DB_URL", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    pg_url = request.getfixturevalue("pg_database") if request.param == "redshift" else None
    emulator = Emulator(request.param, tmp_path / "state", pg_url)
    for name, value in emulator.env().items():
        monkeypatch.setenv(name, value)
    return emulator


def staged_files(state: Path) -> list[Path]:
    """Every file under the embedded file:// stage (and its partial-upload temp files)."""
    stage = state / "stage"
    return sorted(p for p in stage.rglob("*") if p.is_file()) if stage.exists() else []
