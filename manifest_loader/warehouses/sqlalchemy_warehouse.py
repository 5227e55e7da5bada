"""Real Amazon Redshift and Snowflake, through SQLAlchemy (sqlalchemy-redshift, snowflake-sqlalchemy).

The warehouse reads the staged objects itself: Redshift's `COPY … MANIFEST` and Snowflake's
`COPY INTO … FILES = (…)` name them on S3, so no data passes through this machine.

One connection, in driver autocommit mode; the transaction is explicit `BEGIN` … `COMMIT`
statements, so what runs inside it is exactly what the plan shows. Snowflake's DDL, which
would commit an open transaction, runs before `BEGIN`, each statement committing on its own.

`${secret:NAME}` placeholders (COPY credentials when no IAM role or storage integration is
configured) are filled from the environment only in the text handed to the driver, and only at
COPY's credential positions (sqltext.py: a name that holds `${secret:…}` is just a name); every
message built from a driver error has them, and the URL's password, masked as `***`.

Statements go through the real SQLAlchemy dialect (sqlalchemy-redshift, snowflake-sqlalchemy)
and driver, and each driver treats `%` differently: one with bound values goes through `text()`,
whose `%%` and `:name` escaping both drivers undo when they interpolate; one without goes to
the driver as written (`exec_driver_sql`, `no_parameters`), since snowflake-connector leaves
`%%` doubled when no value is bound — a `%` in a quoted name would otherwise become `%%`.
redshift_connector binds `%s` itself and skips quoted text, so text()'s doubled `%` would stay
doubled in a quoted name: with values, it gets the statement in its own paramstyle
(sqltext.for_format_driver: `%` doubled and binds made `%s` outside quotes only).

`open_connection` is the one place that builds a SQLAlchemy connection; its `creator` lets the
tests put a fake DB-API connection (the network) under the real dialect.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from ..errors import ConnectionFailed, LoaderError, LoadFailed, UsageError
from ..plan import Step
from ..progress import Progress
from ..secret_tokens import display_sql
from ..target import Target, mask_url, url_secrets
from .base import QUERY_TIMEOUT_SECONDS, Warehouse

ConnectionFactory = Callable[[Target], Any]

SUPPORTED = ("redshift", "snowflake")
# What an AWS key id, secret key or session token is made of: safe inside '…' in both SQL
# dialects and free of ':' (a bind marker to text()), '%', '\' and quotes.
_SAFE_SECRET = re.compile(r"[A-Za-z0-9+/=_.\-]+\Z")
# Drivers whose `format` binding skips quoted text (redshift_connector's convert_paramstyle):
# statements with values go to them in their own paramstyle, not through text().
_QUOTE_AWARE_FORMAT_DRIVERS = frozenset({"redshift_connector"})
_CREDENTIAL_HINT = {
    "redshift": "set target.redshift.iam_role in the manifest (recommended), or export the variable",
    "snowflake": "set target.snowflake.storage_integration in the manifest (recommended), or export the variable",
}


def driver_packages(url: str) -> str:
    """What to pip install for a URL's SQLAlchemy dialect and driver (the package's extra, where it has one)."""
    scheme = url.split("://", 1)[0].lower()
    if scheme.startswith("snowflake"):
        return "'manifest-loader[snowflake]' (snowflake-sqlalchemy)"
    if scheme == "redshift+redshift_connector":
        return "'manifest-loader[redshift]' (sqlalchemy-redshift, redshift_connector)"
    return "sqlalchemy-redshift psycopg2-binary"


def open_connection(target: Target, creator: Callable[[], Any] | None = None) -> Any:
    """A SQLAlchemy Connection to the target, in driver autocommit mode (transactions are explicit).

    `creator` (tests) returns the DB-API connection instead of the driver's own connect().
    """
    assert target.url is not None
    url, title = target.url, target.dialect.title
    masker = _Masker(url)
    packages = driver_packages(url)
    failure: LoaderError | None = None
    try:
        # NullPool: the one connection closes for real on close(); hide_parameters keeps bound
        # values out of SQLAlchemy's own messages and logs.
        options: dict[str, Any] = {"creator": creator} if creator is not None else {}
        # AUTOCOMMIT for the engine, not per connection: resetting a connection's level on close
        # would send the dialect's own SET … / COMMIT after the load's transaction.
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool, hide_parameters=True,
                                  isolation_level="AUTOCOMMIT", **options)
    except (sa.exc.NoSuchModuleError, ImportError) as exc:
        failure = ConnectionFailed(f"cannot load the SQLAlchemy driver for {title} ({masker.first_line(exc)})",
                                   hint=f"pip install {packages}")
    except Exception as exc:
        failure = ConnectionFailed(f"{target.url_source} is not a usable {title} URL ({target.display_url}): "
                                   f"{masker.first_line(exc)}")
    if failure is not None:
        raise failure
    try:
        return engine.connect()
    except ImportError as exc:
        failure = ConnectionFailed(f"cannot load the driver for {title} ({masker.first_line(exc)})",
                                   hint=f"pip install {packages}")
    except Exception as exc:
        failure = ConnectionFailed(f"cannot connect to {title} at {target.display_url} ({target.url_source}): "
                                   f"{masker.first_line(exc)}",
                                   hint="check the URL, the credentials and that this machine can reach it")
    raise failure


class _Masker:
    """Replaces the URL's password and every secret handed to the driver with ***."""

    def __init__(self, url: str | None):
        self.url = url
        self.values: set[str] = set(url_secrets(url)) if url else set()

    def __call__(self, text: str) -> str:
        if self.url:
            text = text.replace(self.url, mask_url(self.url))
        for value in sorted((v for v in self.values if v), key=len, reverse=True):
            text = text.replace(value, "***")
        return text

    def first_line(self, exc: BaseException) -> str:
        """The driver's own message (not SQLAlchemy's wrapper, which repeats the statement), masked."""
        orig = getattr(exc, "orig", None)
        source = orig if isinstance(orig, BaseException) else exc
        lines = [line.strip() for line in self(str(source)).splitlines() if line.strip()]
        return lines[0][:400] if lines else type(source).__name__


class SqlAlchemyWarehouse(Warehouse):
    """Redshift or Snowflake over one SQLAlchemy connection (or anything with its execute/close)."""

    def __init__(self, connection_factory: ConnectionFactory, target: Target, progress: Progress,
                 secrets: Mapping[str, str] | None = None):
        if target.dialect.name not in SUPPORTED:
            raise UsageError(f"no SQLAlchemy warehouse for dialect '{target.dialect.name}'",
                             hint=f"use a URL for one of: {', '.join(SUPPORTED)}")
        self.target, self.progress = target, progress
        self.dialect_name = target.dialect.name
        self.secrets = os.environ if secrets is None else secrets
        self.mask = _Masker(target.url)
        self.in_transaction = False
        failure: LoaderError | None = None
        try:
            self.conn = connection_factory(target)
        except LoaderError:
            raise
        except Exception as exc:
            failure = ConnectionFailed(f"cannot connect to {target.dialect.title} at {target.display_url}: "
                                       f"{self.mask.first_line(exc)}")
        if failure is not None:
            raise failure

    @classmethod
    def open(cls, target: Target, progress: Progress, lock_timeout: float) -> SqlAlchemyWarehouse:
        # Neither warehouse has an advisory lock; the executor re-reads the ledger after BEGIN instead.
        return cls(open_connection, target, progress)

    # -- statements ------------------------------------------------------------------------------

    def execute(self, sql: str, params: Mapping[str, Any] | None = None,
                param_names: Sequence[str] = ()) -> list[tuple[Any, ...]]:
        return self._run(sql, _bound(params, param_names), param_names)[1]

    def execute_many(self, sql: str, rows: Sequence[Mapping[str, Any]], param_names: Sequence[str]) -> None:
        if rows:
            self._run(sql, [_bound(row, param_names) or {} for row in rows], param_names)

    def _run(self, sql: str, parameters: Mapping[str, Any] | list[Mapping[str, Any]] | None = None,
             param_names: Sequence[str] = ()) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run one statement; return its column names and rows. Driver errors come back masked."""
        names = param_names or (parameters.keys() if isinstance(parameters, Mapping) else ())
        # Secrets are filled in before the try: a missing one is its own error, not a driver's.
        native = self._native(sql, set(names)) if parameters and self._reads_quotes() else None
        bound = self._statement(sql, set(names)) if parameters and native is None else None
        written = self._credentials_filled(sql) if not parameters else ""
        try:
            if native is not None:
                text, order = native
                rows: list[Mapping[str, Any]] = parameters if isinstance(parameters, list) else [parameters or {}]
                values = [tuple(row[name] for name in order) for row in rows]
                result = self.conn.exec_driver_sql(text, values if isinstance(parameters, list) else values[0])
            elif bound is not None:
                result = self.conn.execute(bound, parameters)
            else:   # as written: no bind syntax, no % escaping for the driver to (not) undo
                result = self.conn.exec_driver_sql(written, execution_options={"no_parameters": True})
            if not result.returns_rows:
                return [], []
            columns = list(result.keys())   # a Result iterates over rows, not column names
            return [str(c) for c in columns], [tuple(row) for row in result.fetchall()]
        except Exception as exc:
            failure = self._failure(exc, sql)
        # Raised here, outside the handler, so the driver's exception (whose text may hold the
        # statement with its secrets) is not chained to it as __context__.
        raise failure

    def _statement(self, sql: str, names: set[str]) -> sa.TextClause:
        from ..sqltext import UnreadableSql, for_text_clause

        # Credentials only at COPY's credential positions; quoted names and literals reach the
        # driver as written, whatever they contain (`${secret:…}`, `:name`, `%`).
        try:
            return sa.text(for_text_clause(sql, self.target.dialect.sqlglot_dialect, names, self._secret))
        except UnreadableSql as exc:
            raise self._unreadable(sql, exc) from None

    def _reads_quotes(self) -> bool:
        """Whether the driver binds `format` placeholders itself, reading quotes: text() would double a
        `%` inside a quoted name, which such a driver then leaves doubled."""
        dialect = getattr(self.conn, "dialect", None)
        return getattr(dialect, "driver", None) in _QUOTE_AWARE_FORMAT_DRIVERS

    def _native(self, sql: str, names: set[str]) -> tuple[str, list[str]]:
        from ..sqltext import UnreadableSql, for_format_driver

        try:
            return for_format_driver(sql, self.target.dialect.sqlglot_dialect, names, self._secret)
        except UnreadableSql as exc:
            raise self._unreadable(sql, exc) from None

    def _credentials_filled(self, sql: str) -> str:
        from ..sqltext import UnreadableSql, fill_credentials

        try:
            return fill_credentials(sql, self.target.dialect.sqlglot_dialect, self._secret)
        except UnreadableSql as exc:
            raise self._unreadable(sql, exc) from None

    def _unreadable(self, sql: str, exc: Exception) -> LoadFailed:
        return LoadFailed(f"cannot read the rendered statement as {self.target.dialect.title} SQL ({exc}): "
                          f"{display_sql(sql).splitlines()[0][:120]}")

    def _secret(self, name: str) -> str:
        value = self.secrets.get(name) or ""
        if not value:
            raise LoadFailed(f"{name} is not set, and the plan's COPY needs it as the warehouse's credential "
                             f"for the stage", hint=_CREDENTIAL_HINT[self.dialect_name])
        if not _SAFE_SECRET.match(value):
            raise LoadFailed(f"{name} holds characters no AWS credential has; refusing to put it into SQL",
                             hint=_CREDENTIAL_HINT[self.dialect_name])
        self.mask.values.add(value)
        return value

    def _failure(self, exc: Exception, sql: str) -> LoaderError:
        statement = display_sql(sql).strip().splitlines()[0][:120] if sql.strip() else ""
        where = f"{self.target.dialect.title} at {self.target.display_url}"
        message = self.mask.first_line(exc)
        if getattr(exc, "connection_invalidated", False):
            return ConnectionFailed(f"lost the connection to {where}: {message}\n  statement: {statement}",
                                    hint="nothing was committed; apply again")
        return LoadFailed(f"statement failed on {where}: {message}\n  statement: {statement}")

    def describe_error(self, exc: Exception) -> str:
        return self.mask.first_line(exc)

    # -- transactions ----------------------------------------------------------------------------

    def begin(self) -> None:
        self._run("BEGIN")
        self.in_transaction = True

    def commit(self) -> None:
        self._run("COMMIT")
        self.in_transaction = False

    def rollback(self) -> None:
        if not self.in_transaction:
            return
        self.in_transaction = False
        with contextlib.suppress(LoaderError):   # the connection is gone: the server rolls back on its own
            self._run("ROLLBACK")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.close()

    # -- loading ---------------------------------------------------------------------------------

    def copy(self, step: Step, on_rows: Callable[[int], None]) -> int:
        """Run the step's COPY; the warehouse reads the staged objects from S3 itself."""
        columns, rows = self._run(step.sql)
        if self.target.dialect.copy_count_sql is not None:
            counted = self._run(self.target.dialect.copy_count_sql)[1]
            loaded = int(counted[0][0]) if counted and counted[0][0] is not None else 0
            on_rows(loaded)
            return loaded
        return self._copy_into_result(step, columns, rows, on_rows)

    def _copy_into_result(self, step: Step, columns: list[str], rows: list[tuple[Any, ...]],
                          on_rows: Callable[[int], None]) -> int:
        """Snowflake's COPY INTO answers one row per file; every file must be LOADED."""
        if not rows or len(rows[0]) < 4:
            return 0   # "Copy executed with 0 files processed." (the count check names the files)
        position = {name.lower(): i for i, name in enumerate(columns)}

        def value(row: tuple[Any, ...], name: str, default: int) -> Any:
            i = position.get(name, default)
            return row[i] if i < len(row) else None

        loaded = 0
        for row in rows:
            file, status = value(row, "file", 0), str(value(row, "status", 1) or "").upper()
            if status != "LOADED":
                error = self.mask(str(value(row, "first_error", 6) or "no error given"))[:400]
                raise LoadFailed(f"table {step.table}: COPY INTO reported {status or 'no status'} for {file}: "
                                 f"{error}", hint="the whole apply was rolled back; fix the file and apply again")
            loaded += int(value(row, "rows_loaded", 3) or 0)
            on_rows(loaded)
        return loaded

    def relation_exists(self, schema: str, table: str) -> bool:
        rows = self.execute("SELECT 1 FROM information_schema.tables "
                            "WHERE table_schema = :schema_name AND table_name = :table_name",
                            {"schema_name": schema, "table_name": table}, ("schema_name", "table_name"))
        return bool(rows)

    # -- queries ---------------------------------------------------------------------------------

    def use_schema_sql(self, schema: str) -> list[str]:
        return [self.target.dialect.use_schema.format(schema=self.target.dialect.quote(schema))]

    def query(self, sql: str, schema: str,
              timeout_seconds: float = QUERY_TIMEOUT_SECONDS) -> tuple[list[str], list[tuple[Any, ...]]]:
        """The user's SQL, one statement (query.one_statement), in a transaction the caller rolls back,
        so a query never changes data. No timeout is set: the warehouse's own limits apply."""
        self.begin()
        for statement in self.use_schema_sql(schema):
            self._run(statement)
        return self._run(sql)


def _bound(params: Mapping[str, Any] | None, param_names: Sequence[str]) -> dict[str, Any] | None:
    """The values of the statement's parameters (rows may carry more keys than the SQL binds)."""
    if not params:
        return None
    if not param_names:
        return dict(params)
    return {name: params[name] for name in param_names}
