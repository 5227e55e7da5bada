"""The Redshift emulator: PostgreSQL, data streamed into binary COPY.

A load runs on one psycopg connection, autocommit off (`pg_session.Session`): schema, tables,
data, checks and ledger commit together. Its rows go into the plan's own `COPY … FROM STDIN`
statement as pgpq encodes them, in the read-ahead thread, batch by batch, so memory is bounded
by the batch size. A user's query runs on ADBC (`adbc_session.Session`), whose results arrive
as Arrow (`open_for_query`).
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import ConnectionFailed, ConstraintViolation, LoaderError, LoadFailed, QueryFailed
from ..plan import Step, not_null_hint
from ..progress import Progress
from ..sql_position import postgres_position
from ..target import Target, mask_url, url_secrets
from .base import QUERY_TIMEOUT_SECONDS, Warehouse

if TYPE_CHECKING:
    from . import adbc_session, pg_session

    # A load's session (`open`) or a query's (`open_for_query`).
    AnySession = adbc_session.Session | pg_session.Session

_LOCK_POLL_SECONDS = 1.0
# Batches decoded, cast, checked and encoded ahead of the one COPY is sending (read_ahead.py): each is
# casting.BATCH_ROWS rows, about 2 MB of the benchmark's data, so the queue adds ~8 MB at most.
READ_AHEAD_BATCHES = 4
_NOT_NULL = re.compile(r'null value in column "([^"]+)".*violates not-null constraint')
# The server went away (terminated backend, shutdown, network): not the data's fault.
_CONNECTION_LOST = re.compile(r"SQLSTATE: (57P0[1-3]|08[0-9A-Z]{3})|server closed the connection|"
                              r"terminating connection|no connection to the server|the connection is lost|"
                              r"the connection is closed", re.IGNORECASE)
_LOST_HINT = "nothing was committed (the server rolls back an interrupted transaction); apply again"


_CONNECT_HINTS = {True: "`manifest-loader emulator status` shows the managed emulator and its log",
                  False: "start PostgreSQL (docker compose up postgres) or fix the URL"}


class PostgresWarehouse(Warehouse):
    dialect_name = "postgres"

    def __init__(self, session: AnySession, target: Target, progress: Progress, lock_timeout: float):
        self.session, self.target, self.progress, self.lock_timeout = session, target, progress, lock_timeout

    @classmethod
    def open(cls, target: Target, progress: Progress, lock_timeout: float) -> PostgresWarehouse:
        from .pg_session import Session

        return cls._connect(Session, target, progress, lock_timeout)

    @classmethod
    def open_for_query(cls, target: Target, progress: Progress, lock_timeout: float) -> PostgresWarehouse:
        from .adbc_session import Session

        return cls._connect(Session, target, progress, lock_timeout)

    @classmethod
    def _connect(cls, session_class: Callable[[str], AnySession], target: Target, progress: Progress,
                 lock_timeout: float) -> PostgresWarehouse:
        from .pg_session import libpq_uri

        assert target.url is not None
        failure: ConnectionFailed | None = None
        try:
            session = session_class(libpq_uri(target.url))
        except Exception as exc:
            failure = ConnectionFailed(f"cannot connect to the Redshift emulator at {target.display_url} "
                                       f"({target.url_source}): {_clean(exc, target.url)}",
                                       hint=_CONNECT_HINTS[target.managed])
        if failure is not None:
            # Raised outside the handler: the driver's error, which may echo the URL, is not its __context__.
            raise failure
        warehouse = cls(session, target, progress, lock_timeout)
        # Redshift sessions run in UTC; pin it so timestamptz text and casts match.
        warehouse.execute("SET TIME ZONE 'UTC'")
        warehouse.commit()
        return warehouse

    def execute(self, sql: str, params: Mapping[str, Any] | None = None,
                param_names: Sequence[str] = ()) -> list[tuple[Any, ...]]:
        values = tuple(params[name] for name in param_names) if params else None
        try:
            return self.session.execute(sql, values)
        except Exception as exc:
            raise _failure(exc, sql, self.target) from None

    def execute_many(self, sql: str, rows: Sequence[Mapping[str, Any]], param_names: Sequence[str]) -> None:
        if not rows:
            return
        try:
            self.session.execute_many(sql, [tuple(row[name] for name in param_names) for row in rows])
        except Exception as exc:
            raise _failure(exc, sql, self.target) from None

    def begin(self) -> None:
        # With autocommit off the driver opens a transaction implicitly at the first statement.
        # The load's only aggregates are the key checks, which group by a key that is (nearly)
        # unique per row: a hash aggregate spills to disk there, a sort does not, and a parallel
        # plan pushes every row through a Gather Merge. At 10M rows on 2 cores the primary-key
        # check took 16.5 s hashed, 8-11 s sorted in parallel, 4.5-6 s sorted in one process
        # (docs/benchmarks.md).
        self.execute("SET LOCAL enable_hashagg = off")
        self.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        self.execute("SET LOCAL work_mem = '64MB'")

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        # The connection may already be gone; the server then rolls back on its own.
        with contextlib.suppress(Exception):
            self.session.rollback()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.session.close()

    def query(self, sql: str, schema: str,
              timeout_seconds: float = QUERY_TIMEOUT_SECONDS) -> tuple[list[str], list[tuple[Any, ...]]]:
        """A user's query in `schema`, sandboxed (pg_sandbox.py): a restricted role, READ ONLY, a statement
        timeout, rolled back. NUMERIC as Decimal (ADBC hands arbitrary-precision numbers over as text)."""
        from decimal import Decimal

        from .pg_sandbox import begin_read_only, sandbox_session

        # Its own transaction, as an autocommit query on Redshift has: SYSDATE (the transaction's
        # start) then belongs to this statement, not to whatever ran before on the connection.
        with sandbox_session(self) as session:
            begin_read_only(session, timeout_seconds)
            for name, value in self.target.kind.query_settings.items():   # the registry's constants
                session.execute(f"SET LOCAL {name} = '{value}'")
            for statement in self.use_schema_sql(schema):
                session.execute(statement.replace("SET ", "SET LOCAL ", 1))
            try:
                table = session.execute_arrow(sql)
            except Exception as exc:
                raise QueryFailed(f"query failed: {self.describe_error(exc)}", postgres_position(exc, sql)) from None
            finally:
                with contextlib.suppress(Exception):
                    session.rollback()
        fields = list(table.schema)
        rows = list(zip(*(column.to_pylist() for column in table.columns), strict=True))
        columns = [field.name for field in fields]
        numeric = [i for i, field in enumerate(fields) if "type_name=numeric" in str(field.type)]
        if not numeric:
            return columns, rows
        converted = []
        for row in rows:
            values = list(row)
            for i in numeric:
                values[i] = None if values[i] is None else Decimal(values[i])
            converted.append(tuple(values))
        return columns, converted

    def describe_error(self, exc: Exception) -> str:
        """The server's own message (after libpq's "ERROR:"), on one line, passwords masked."""
        text = _clean(exc, self.target.url)
        return text.split("ERROR:", 1)[1].strip() if "ERROR:" in text else text

    def use_schema_sql(self, schema: str) -> list[str]:
        return [f"SET search_path TO {self.target.dialect.quote(schema)}, public"]

    def relation_exists(self, schema: str, table: str) -> bool:
        rows = self.execute("SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2",
                            {"s": schema, "t": table}, ("s", "t"))
        return bool(rows)

    def lock(self, step: Step) -> None:
        """Advisory lock on the schema; say so while waiting, give up after --lock-timeout."""
        values = tuple(step.params[0][n] for n in step.param_names)
        deadline = time.monotonic() + self.lock_timeout
        announced = False
        try_sql = step.sql.replace("pg_advisory_xact_lock", "pg_try_advisory_xact_lock")
        while True:
            if self.session.execute(try_sql, values)[0][0]:
                return
            if time.monotonic() >= deadline:
                raise LoadFailed(f"another apply is loading schema {self.target.schema} at "
                                 f"{self.target.display_url}; gave up after {self.lock_timeout:.0f}s",
                                 hint="wait for it to finish, or raise --lock-timeout")
            if not announced:
                self.progress.event("waiting", message=f"another apply holds the lock on schema "
                                    f"{self.target.schema}; waiting up to {self.lock_timeout:.0f}s")
                announced = True
            time.sleep(_LOCK_POLL_SECONDS)

    def copy(self, step: Step, on_rows: Callable[[int], None]) -> int:
        import pyarrow as pa
        from pgpq import ArrowToPostgresBinaryEncoder

        from ..casting import batches
        from ..read_ahead import read_ahead
        from ..stream_checks import BatchChecker
        from .pg_session import Session

        session = self.session
        assert isinstance(session, Session), "loads run on the session `open` gives"

        columns = step.copy_columns
        schema = pa.schema([pa.field(self.target.dialect.stored_name(c.name), c.type.arrow_type())
                            for c in columns])
        source_names = [c.name for c in columns]
        # The file whose rows are being sent (errors name it) and the failure that stopped the stream.
        current: dict[str, Any] = {"file": "", "failure": None}

        def produce() -> Generator[tuple[str, int, bytes], None, None]:
            """Fetch, decode, cast, check and encode, in the read-ahead thread: (file, rows, COPY data)."""
            reading = {"file": ""}

            def remember(display: str) -> None:
                reading["file"] = display

            try:
                # The encoder writes each batch in the types the table was created with (the
                # schema above); tests/test_pg_copy_types.py checks every portable type against
                # the same values bound as parameters.
                encoder = ArrowToPostgresBinaryEncoder(schema)
                yield "", 0, encoder.write_header()
                stream = batches(files, source_names, schema, step.table or "", remember)
                for batch in checker.checked(stream, lambda: reading["file"]) if checker else stream:
                    yield reading["file"], batch.num_rows, encoder.write_batch(batch)
                yield reading["file"], 0, encoder.finish()
            except LoaderError:   # says what failed (a staging failure too: staged_gate.py)
                raise
            except Exception as exc:
                raise LoadFailed(f"table {step.table}: reading {reading['file']} failed: "
                                 f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
                                 hint="the whole apply was rolled back") from None

        def send() -> Generator[bytes, None, None]:
            rows = 0
            try:
                with contextlib.closing(read_ahead(produce(), READ_AHEAD_BATCHES, "manifest-loader-read")) as ahead:
                    for display, count, data in ahead:
                        current["file"] = display
                        yield data
                        if count:
                            rows += count
                            on_rows(rows)
            except LoaderError as exc:
                current["failure"] = exc
                raise

        files = [(f.load_uri, f.source.display) for f in step.files]
        checker = BatchChecker(step.stream_checks, self.target.dialect.stored_name,
                               counts_bytes=self.target.dialect.varchar_counts == "bytes")
        stream = send()
        try:
            return session.copy(step.sql, stream)
        except LoaderError:
            raise
        except Exception as exc:
            cause = current["failure"] or exc.__cause__ or exc.__context__
            if isinstance(cause, LoaderError):
                raise cause from None
            if _CONNECTION_LOST.search(str(exc)):
                raise ConnectionFailed(f"lost the connection to the Redshift emulator at {self.target.display_url} "
                                       f"while loading table {step.table}: {_clean(exc, self.target.url)}",
                                       hint=_LOST_HINT) from None
            not_null = _NOT_NULL.search(str(exc))
            if not_null:
                raise ConstraintViolation(
                    f"table {step.table}: column {not_null.group(1)} is declared NOT NULL but a row of "
                    f"{current['file']} is NULL; nothing was loaded",
                    hint=not_null_hint(current["file"], not_null.group(1), any(
                        c.primary_key and self.target.dialect.stored_name(c.name) == not_null.group(1)
                        for c in step.copy_columns))) from None
            raise LoadFailed(f"table {step.table}: the load failed while reading {current['file']}: "
                             f"{_clean(exc, self.target.url)}",
                             hint="the whole apply was rolled back; fix the data and apply again") from None
        finally:
            # Stops the read-ahead thread and removes its downloads now, not when the traceback
            # holding this frame is collected.
            stream.close()


def _clean(exc: Exception, url: str | None) -> str:
    """First meaningful line of a driver error, with any password masked."""
    text = " ".join(str(exc).split())
    text = re.sub(r"^[A-Z_]+: \[libpq\] ", "", text)
    text = text.replace("(PGRES_FATAL_ERROR) ", "")
    if url:
        text = text.replace(url, mask_url(url))
        for secret in url_secrets(url):
            text = text.replace(secret, "***")
    return text[:400]


def _failure(exc: Exception, sql: str, target: Target) -> LoadFailed | ConnectionFailed:
    first_line = sql.splitlines()[0][:120]
    if _CONNECTION_LOST.search(str(exc)):
        return ConnectionFailed(f"lost the connection to the Redshift emulator at {target.display_url}: "
                                f"{_clean(exc, target.url)}\n  statement: {first_line}", hint=_LOST_HINT)
    return LoadFailed(f"statement failed on {target.display_url}: {_clean(exc, target.url)}\n  statement: {first_line}")
