"""apply's two writes to the default SQLite metadata database, through the standard library's sqlite3.

Every apply records its run: a row in `load_runs` when it starts, its status (and one row per
table) when it finishes. Importing SQLAlchemy for those two statements cost about a fifth of a
no-change re-apply (docs/benchmarks.md). The tables stay SQLAlchemy's (`runs.py` creates them on
first use and every reader, `status` and the API, goes through it); this module writes the same
columns in the formats SQLAlchemy reads back (DATETIME as its SQLite text), and is used only when
the database is a SQLite file. A new file gets the tables from `_CREATE_TABLES`, the DDL SQLAlchemy
emits for runs.metadata on SQLite (tests/test_run_log.py keeps the two equal), so a first apply
does not import SQLAlchemy either. Any other database gets `runs.RunStore`.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import uuid
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .metadata_db import METADATA_ENV as METADATA_ENV
from .metadata_db import metadata_url as metadata_url
from .metadata_db import now

if TYPE_CHECKING:
    from .runs import RunStore

_SQLITE = "sqlite:///"
# runs.metadata's tables (tests/test_run_log.py keeps the two lists equal).
TABLES = ("load_runs", "load_run_tables", "load_run_generation", "load_run_files", "experiment_settings")
# What `metadata.create_all` runs on SQLite for runs.metadata, parents first, as SQLAlchemy 2 compiles
# it (IF NOT EXISTS added: concurrent first applies may both create them).
_CREATE_TABLES = (
    "CREATE TABLE IF NOT EXISTS experiment_settings (\n\texperiment_name VARCHAR(255) NOT NULL, \n\t"
    "warehouse VARCHAR(32), \n\tupdated_at DATETIME NOT NULL, \n\tPRIMARY KEY (experiment_name)\n)",
    "CREATE TABLE IF NOT EXISTS load_runs (\n\tid VARCHAR(36) NOT NULL, \n\tmanifest_name VARCHAR(255) NOT NULL, "
    "\n\tmanifest_file VARCHAR(1024) NOT NULL, \n\tmanifest_sha256 VARCHAR(64) NOT NULL, \n\t"
    "plan_fingerprint VARCHAR(80) NOT NULL, \n\twarehouse VARCHAR(32) NOT NULL, \n\tdialect VARCHAR(32) NOT NULL, "
    "\n\ttarget_url VARCHAR(1024) NOT NULL, \n\tschema_name VARCHAR(255) NOT NULL, \n\tstatus VARCHAR(16) NOT NULL, "
    "\n\tstarted_at DATETIME NOT NULL, \n\tfinished_at DATETIME, \n\trows BIGINT NOT NULL, \n\t"
    "bytes BIGINT NOT NULL, \n\terror TEXT, \n\tgeneration_run_id VARCHAR(255), \n\thost VARCHAR(255) NOT NULL, "
    "\n\tpid INTEGER NOT NULL, \n\tPRIMARY KEY (id)\n)",
    "CREATE TABLE IF NOT EXISTS load_run_files (\n\trun_id VARCHAR(36) NOT NULL, \n\ttable_name VARCHAR(255) NOT NULL, "
    "\n\turi VARCHAR(2048) NOT NULL, \n\trows BIGINT NOT NULL, \n\tbytes BIGINT NOT NULL, \n\t"
    "PRIMARY KEY (run_id, table_name, uri), \n\tFOREIGN KEY(run_id) REFERENCES load_runs (id)\n)",
    "CREATE TABLE IF NOT EXISTS load_run_generation (\n\trun_id VARCHAR(36) NOT NULL, \n\t"
    "experiment_name VARCHAR(255) NOT NULL, \n\tgeneration_run_id VARCHAR(255) NOT NULL, \n\t"
    "run_folder VARCHAR(1024) NOT NULL, \n\tPRIMARY KEY (run_id), \n\tFOREIGN KEY(run_id) REFERENCES load_runs (id)\n)",
    "CREATE TABLE IF NOT EXISTS load_run_tables (\n\trun_id VARCHAR(36) NOT NULL, \n\t"
    "table_name VARCHAR(255) NOT NULL, \n\tmode VARCHAR(16) NOT NULL, \n\tstatus VARCHAR(16) NOT NULL, \n\t"
    "files INTEGER NOT NULL, \n\t"
    "rows BIGINT NOT NULL, \n\tbytes BIGINT NOT NULL, \n\tseconds FLOAT, \n\tPRIMARY KEY (run_id, table_name), "
    "\n\tFOREIGN KEY(run_id) REFERENCES load_runs (id)\n)",
)
# SQLAlchemy's storage format for DateTime on SQLite.
_DATETIME = "%Y-%m-%d %H:%M:%S.%f"


def _stored(value: Any) -> Any:
    return value.strftime(_DATETIME) if isinstance(value, datetime) else value


class SqliteRunLog:
    """start/finish of RunStore, on one SQLite file whose tables exist; each write its own transaction."""

    def __init__(self, url: str, path: Path):
        self.url, self.path = url, path

    def _connect(self) -> sqlite3.Connection:
        # Concurrent applies share the file: wait for each other's short writes, as RunStore does.
        return sqlite3.connect(self.path, timeout=60)

    def _insert(self, connection: sqlite3.Connection, table: str, row: Mapping[str, Any]) -> None:
        names = list(row)
        connection.execute(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                           [_stored(row[n]) for n in names])

    def start(self, **values: Any) -> str:
        run_id = str(uuid.uuid4())
        row = dict(id=run_id, status="running", started_at=now(), rows=0, bytes=0,
                   host=socket.gethostname(), pid=os.getpid(), **values)
        connection = self._connect()
        try:
            with connection:
                self._insert(connection, "load_runs", row)
        finally:
            connection.close()
        return run_id

    def finish(self, run_id: str, status: str, rows: int = 0, nbytes: int = 0, error: str | None = None,
               tables: list[dict[str, Any]] | None = None) -> None:
        connection = self._connect()
        try:
            with connection:
                connection.execute("UPDATE load_runs SET status = ?, finished_at = ?, rows = ?, bytes = ?, error = ? "
                                   "WHERE id = ?", (status, _stored(now()), rows, nbytes, error, run_id))
                for table in tables or []:
                    self._insert(connection, "load_run_tables", {"run_id": run_id, **table})
        finally:
            connection.close()

    def link_generation(self, run_id: str, experiment: str, generation_run_id: str, run_folder: str,
                        files: list[tuple[str, str, int, int]]) -> None:
        """Rare (simulator loads only): through RunStore."""
        from .runs import RunStore

        RunStore(self.url).link_generation(run_id, experiment, generation_run_id, run_folder, files)


def open_run_log(url: str) -> SqliteRunLog | RunStore:
    """The cheapest writer of apply's run records for this metadata database."""
    if url.startswith(_SQLITE):
        path = Path(url[len(_SQLITE):])
        if path.is_file():
            try:
                connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=60)
                try:
                    found = connection.execute(
                        f"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
                        f"({', '.join('?' * len(TABLES))})", TABLES).fetchone()[0]
                finally:
                    connection.close()
            except sqlite3.Error:
                found = 0
            if found == len(TABLES):
                return SqliteRunLog(url, path)
        if "?" not in url and not path.name.startswith(":") and _create_tables(path):
            return SqliteRunLog(url, path)
    from .runs import RunStore

    return RunStore(url)


def _create_tables(path: Path) -> bool:
    """Create the missing tables in the SQLite file at `path` (and the file); False if that failed
    (RunStore then tries, and says what is wrong)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, timeout=60)
        try:
            with connection:
                for statement in _CREATE_TABLES:
                    connection.execute(statement)
        finally:
            connection.close()
    except (OSError, sqlite3.Error):
        return False
    return True
