"""The embedded Snowflake emulator: fakesnow (Snowflake SQL on DuckDB), in process, on disk.

The database lives in one DuckDB file under the target's folder, so a second process sees
what was loaded. DuckDB locks that file per process: a second apply waits for the first.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from ..errors import ConnectionFailed, LoadFailed, QueryFailed
from ..fileuri import file_path
from ..parquet_checks import has_page_checksums, refuse_unreturnable_int96, verify_page_checksums
from ..plan import Step
from ..progress import Progress
from ..target import Target
from .base import QUERY_TIMEOUT_SECONDS, Warehouse
from .copy_diagnosis import explain_copy_failure, with_sources
from .duckdb_parquet import column_duckdb_cannot_read, rewrite_plainly, undecodable
from .fakesnow_aggregates import install as exact_aggregates
from .fakesnow_names import install as names_as_snowflake_takes_them

DATABASE = "MANIFEST_LOADER"
_LOCK_POLL_SECONDS = 0.5


class FakesnowWarehouse(Warehouse):
    dialect_name = "fakesnow"

    def __init__(self, patch: AbstractContextManager[Any], conn: Any, target: Target):
        self.patch, self.conn, self.target = patch, conn, target
        self.cursor = conn.cursor()

    @classmethod
    def open(cls, target: Target, progress: Progress, lock_timeout: float) -> FakesnowWarehouse:
        # duckdb 2 warns on every Arrow result; the warning is about speed, not correctness.
        warnings.filterwarnings("ignore", module="fakesnow")
        warnings.filterwarnings("ignore", message=".*Arrow output.*")
        import logging

        import fakesnow
        import snowflake.connector

        # sqlglot, inside fakesnow, warns about Snowflake properties DuckDB ignores (CLUSTER BY);
        # plan already says so in a note.
        logging.getLogger("sqlglot").setLevel(logging.ERROR)
        _patch_copy_into()
        names_as_snowflake_takes_them()

        folder = target.fakesnow_path
        folder.mkdir(parents=True, exist_ok=True)

        def attempt() -> FakesnowWarehouse:
            patch = fakesnow.patch(db_path=str(folder))
            patch.__enter__()
            try:
                conn = snowflake.connector.connect(database=DATABASE, paramstyle="qmark")
                # fakesnow's connection keeps its DuckDB connection in a private attribute.
                exact_aggregates(conn._duck_conn)  # type: ignore[attr-defined]
                return cls(patch, conn, target)
            except BaseException:
                patch.__exit__(None, None, None)
                raise

        return _waiting_for_lock(attempt, folder, progress, lock_timeout)

    @classmethod
    def open_for_query(cls, target: Target, progress: Progress, lock_timeout: float) -> FakesnowWarehouse:
        """A connection for a user's query: the database attached READ_ONLY and DuckDB's external
        access (files, /proc, COPY TO, extensions, ATTACH) off and locked, so SQL can read the loaded
        tables and nothing else."""
        folder = target.fakesnow_path
        database_file = folder / f"{DATABASE}.db"
        if not database_file.exists():
            cls.open(target, progress, lock_timeout).close()   # creates it, with fakesnow's catalog views
        import logging

        logging.getLogger("sqlglot").setLevel(logging.ERROR)
        warnings.filterwarnings("ignore", module="fakesnow")
        warnings.filterwarnings("ignore", message=".*Arrow output.*")
        from fakesnow.instance import FakeSnow

        def attempt() -> FakesnowWarehouse:
            fake = FakeSnow(db_path=str(folder))
            try:
                path = str(database_file).replace("'", "''")
                # Attached before fakesnow connects, so it finds the database and creates nothing in it.
                fake.duck_conn.execute(f"ATTACH '{path}' AS {DATABASE} (READ_ONLY)")
                conn = fake.connect(database=DATABASE, paramstyle="qmark")
                exact_aggregates(conn._duck_conn)
                fake.duck_conn.execute("SET enable_external_access = false")
                fake.duck_conn.execute("SET lock_configuration = true")
                return cls(contextlib.closing(fake.duck_conn), conn, target)
            except BaseException:
                fake.duck_conn.close()
                raise

        return _waiting_for_lock(attempt, folder, progress, lock_timeout)

    def execute(self, sql: str, params: Mapping[str, Any] | None = None,
                param_names: Sequence[str] = ()) -> list[tuple[Any, ...]]:
        try:
            # fakesnow prints notices ("Unsupported property …") on stdout, which is the user's output.
            with contextlib.redirect_stdout(io.StringIO()):
                self.cursor.execute(sql, _values(params, param_names))
            return self.cursor.fetchall() if self.cursor.description else []
        except Exception as exc:
            raise LoadFailed(f"statement failed on the Snowflake emulator: {_first_line(exc)}\n"
                             f"  statement: {sql.splitlines()[0][:120]}") from None

    def execute_many(self, sql: str, rows: Sequence[Mapping[str, Any]], param_names: Sequence[str]) -> None:
        for row in rows:
            self.execute(sql, row, param_names)

    def begin(self) -> None:
        self.cursor.execute("BEGIN")

    def commit(self) -> None:
        self.cursor.execute("COMMIT")

    def rollback(self) -> None:
        with contextlib.suppress(Exception):
            self.cursor.execute("ROLLBACK")

    def close(self) -> None:
        try:
            self.cursor.close()
            self.conn.close()
        finally:
            self.patch.__exit__(None, None, None)

    def query(self, sql: str, schema: str,
              timeout_seconds: float = QUERY_TIMEOUT_SECONDS) -> tuple[list[str], list[tuple[Any, ...]]]:
        """A user's query in `schema` (when it exists: a sandboxed connection creates nothing), inside a
        transaction the caller rolls back. DuckDB has no statement timeout; `timeout_seconds` is unused."""
        self.begin()
        if self.execute("SELECT 1 FROM information_schema.schemata WHERE schema_name = ?",
                        {"s": self.target.dialect.stored_name(schema)}, ("s",)):
            self.cursor.execute(f"USE SCHEMA {self.target.dialect.quote(schema)}")
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                self.cursor.execute(sql)
        except Exception as exc:
            from ..sql_position import in_message

            raise QueryFailed(f"query failed: {self.describe_error(exc)}", in_message(str(exc), sql)) from None
        if not self.cursor.description:
            return [], []
        return [d[0] for d in self.cursor.description], [tuple(r) for r in self.cursor.fetchall()]

    def use_schema_sql(self, schema: str) -> list[str]:
        return [f"CREATE SCHEMA IF NOT EXISTS {self.target.dialect.quote(schema)}",
                f"USE SCHEMA {self.target.dialect.quote(schema)}"]

    def relation_exists(self, schema: str, table: str) -> bool:
        rows = self.execute("SELECT 1 FROM information_schema.tables WHERE table_schema = ? "
                            "AND table_name = ?", {"s": schema, "t": table}, ("s", "t"))
        return bool(rows)

    def copy(self, step: Step, on_rows: Callable[[int], None]) -> int:
        """COPY INTO from the local mirror; every file must report LOADED."""
        from ..casting import refuse_sub_microsecond

        # DuckDB checks no page checksum, and reads INT96 dates that no query can return.
        for file in step.files:
            path = str(file_path(file.load_uri))
            if has_page_checksums(path):
                verify_page_checksums(path, file.source.display, step.table or "")
            refuse_unreturnable_int96(path, file.source.display, step.table or "")
        # DuckDB's TIMESTAMP holds microseconds: COPY INTO would cut nanoseconds silently.
        refuse_sub_microsecond([(str(file_path(f.load_uri)), f.source.display, f.source.schema)
                                for f in step.files], step.table or "", self.target.dialect.title)
        with tempfile.TemporaryDirectory(prefix="ml-duckdb-") as scratch:
            sql = _readable_by_duckdb(step, Path(scratch))
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    self.cursor.execute(sql)
                rows = self.cursor.fetchall() if self.cursor.description else []
            except Exception as exc:
                # DuckDB names the staged copy (<sha256>.parquet), not the user's file, and no value.
                failure = explain_copy_failure(step, _first_line(exc), self.target.dialect.title,
                                               column_duckdb_cannot_read(step.table or ""))
                raise failure from None
        loaded = 0
        for row in rows:
            if len(row) < 4:
                raise LoadFailed(f"table {step.table}: COPY INTO loaded nothing ({row[0]})",
                                 hint="the staged files are missing from the emulator's mirror; apply again")
            file, status, rows_loaded = row[0], row[1], row[3]
            if status != "LOADED":
                raise LoadFailed(f"table {step.table}: COPY INTO reported {status} for "
                                 f"{with_sources(str(file), step)}: {with_sources(str(row[6]), step)}")
            loaded += int(rows_loaded)
            on_rows(loaded)
        return loaded


def _readable_by_duckdb(step: Step, scratch: Path) -> str:
    """The step's COPY INTO, reading a pyarrow-written copy of the staged files that DuckDB cannot
    decode (duckdb_parquet), under their staged names, from `scratch`; unchanged when it can."""
    paths = [file_path(f.load_uri) for f in step.files]
    if not any(undecodable(str(p)) for p in paths):
        return step.sql
    folders = {p.parent for p in paths}
    quoted = f"'{paths[0].parent.as_uri()}/'"
    if len(folders) != 1 or step.sql.count(quoted) != 1:
        return step.sql   # not the one-folder COPY this knows how to point elsewhere: DuckDB's error stands
    for path in paths:
        if undecodable(str(path)):
            rewrite_plainly(str(path), scratch / path.name)
        else:
            os.symlink(path, scratch / path.name)
    return step.sql.replace(quoted, f"'{scratch.as_uri()}/'")


def _waiting_for_lock(attempt: Callable[[], FakesnowWarehouse], folder: Any, progress: Progress,
                      lock_timeout: float) -> FakesnowWarehouse:
    """attempt() until DuckDB's lock on the database file is free (another process has it open)."""
    deadline = time.monotonic() + lock_timeout
    announced = False
    while True:
        try:
            return attempt()
        except Exception as exc:
            if "lock" not in str(exc).lower():
                raise ConnectionFailed(f"cannot open the Snowflake emulator database in {folder}: "
                                       f"{str(exc).splitlines()[0]}") from None
            if time.monotonic() >= deadline:
                raise LoadFailed(f"another process holds the Snowflake emulator database in {folder}; "
                                 f"gave up after {lock_timeout:.0f}s",
                                 hint="wait for the other apply or query to finish (apply waits longer with "
                                      "--lock-timeout)") from None
            if not announced:
                progress.event("waiting", message=f"another process holds the Snowflake emulator database "
                               f"in {folder}; waiting up to {lock_timeout:.0f}s")
                announced = True
            time.sleep(_LOCK_POLL_SECONDS)


def _values(params: Mapping[str, Any] | None, param_names: Sequence[str]) -> list[Any] | None:
    """Bound values in placeholder order (qmark: the i-th `?` takes the i-th name's value)."""
    if not params:
        return None
    return [params[name] for name in param_names] if param_names else list(params.values())


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:400] if text else type(exc).__name__


def _patch_copy_into() -> None:
    """Two name bugs of fakesnow 0.12's COPY INTO … MATCH_BY_COLUMN_NAME, which fail loads real
    Snowflake takes (after the DDL committed):

    * it describes the target table with its name unquoted, so a table or schema named
      `Order Date`, `a.b` or `x"y` fails: describe it quoted (DuckDB matches names without case);
    * it inserts into the table's columns by their Python `str.upper()`, which DuckDB matches only
      for ASCII, so a column `café` or `Straße` fails: match by upper case, insert by the real name.
    """
    from fakesnow import copy_into

    describe_table = getattr(copy_into, "_describe_table", None)
    match_columns = getattr(copy_into, "_match_parquet_columns", None)
    if describe_table is None or match_columns is None or getattr(match_columns, "patched", False):
        return

    def describe(table: Any, duck_conn: Any, current_database: str | None,
                 current_schema: str | None) -> list[tuple[str, str]]:
        parts = (table.catalog or current_database, table.db or current_schema, table.name)
        name = ".".join('"' + str(p).replace('"', '""') + '"' for p in parts)
        return [(row[0], row[1]) for row in duck_conn.execute(f"DESCRIBE {name}").fetchall()]

    def table_columns(table: Any, duck_conn: Any, current_database: str | None,
                      current_schema: str | None) -> list[str]:
        return [column for column, _ in describe(table, duck_conn, current_database, current_schema)]

    def match(parquet_columns: list[str], target_columns: list[str], mode: Any) -> dict[str, str]:
        by_upper = {column.upper(): column for column in target_columns}
        matched = match_columns(parquet_columns, list(by_upper), mode)   # fakesnow's rules, on upper case
        return {by_upper[upper]: parquet for upper, parquet in matched.items()}

    match.patched = True  # type: ignore[attr-defined]
    copy_into._describe_table = describe
    copy_into._get_table_columns = table_columns
    # fakesnow types its hook's mode as its own enum; ours passes the mode through untouched.
    copy_into._match_parquet_columns = match  # type: ignore[assignment]
