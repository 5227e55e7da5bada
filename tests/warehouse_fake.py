"""The network of a real Redshift or Snowflake, replaced by a DB-API connection under the real dialects.

Everything above the wire is real: the SQLAlchemy dialect (sqlalchemy-redshift,
snowflake-sqlalchemy) compiles and executes each statement, and the driver's own client-side
binding code turns what the dialect hands it into what the server would receive —
`redshift_connector.core.convert_paramstyle` (`%s` to `$1`, `%%` to `%`) and
snowflake-connector's `SnowflakeCursor._preprocess_pyformat_query` (values interpolated as
literals; `%%` left alone when nothing is bound). So a statement the dialect or the driver
would mangle reaches `statements` mangled, and the tests comparing it with the plan fail.

The "server" records each statement as received and answers from a script: what each dialect
asks when it connects, COPY (rows per staged file or COPY manifest), pg_last_copy_count(),
information_schema (an empty warehouse), the loader's checks (no violations).
executemany runs the statement once per row, as redshift_connector's does (snowflake-connector
folds an INSERT's rows into one statement with the same per-value binding).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# What each dialect asks when it first connects, and what the warehouse answers.
CONNECT_ANSWERS: dict[str, dict[str, tuple[list[str], list[tuple[Any, ...]]]]] = {
    "redshift": {
        "select pg_catalog.version()": (["version"], [(
            "PostgreSQL 8.0.2 on i686-pc-linux-gnu, compiled by GCC gcc (GCC) 3.4.2 20041017 (Red Hat 3.4.2-6.fc3), "
            "Redshift 1.0.77467",)]),
        "select current_schema()": (["current_schema"], [("public",)]),
        "show transaction isolation level": (["transaction_isolation"], [("serializable",)]),
        "show standard_conforming_strings": (["standard_conforming_strings"], [("on",)]),
    },
    "snowflake": {
        "SELECT CURRENT_VERSION()": (["CURRENT_VERSION()"], [("8.40.1",)]),
        "select current_database(), current_schema();": (["CURRENT_DATABASE()", "CURRENT_SCHEMA()"],
                                                         [("ANALYTICS", "PUBLIC")]),
    },
}
SNOWFLAKE_COPY_COLUMNS = ["file", "status", "rows_parsed", "rows_loaded", "error_limit", "errors_seen",
                          "first_error", "first_error_line", "first_error_character", "first_error_column_name"]


def server_statement(dialect: str, operation: str, parameters: Any) -> tuple[str, tuple[Any, ...] | None]:
    """What the server receives for what the dialect handed the driver: the driver's own binding code."""
    if dialect == "redshift":
        if parameters is None:   # redshift_connector parses nothing when no values are given
            return operation, None
        from redshift_connector.core import convert_paramstyle

        statement, make_args = convert_paramstyle("format", operation)
        return statement, tuple(make_args(parameters))
    from snowflake.connector.connection import SnowflakeConnection
    from snowflake.connector.converter import SnowflakeConverter
    from snowflake.connector.cursor import SnowflakeCursor

    connection = SnowflakeConnection.__new__(SnowflakeConnection)   # no network: only its binding code runs
    connection.converter = SnowflakeConverter()
    connection._interpolate_empty_sequences = False   # the connector's default
    cursor = SnowflakeCursor.__new__(SnowflakeCursor)
    cursor._connection = connection
    cursor._log_telemetry_job_data = lambda *args, **kwargs: None
    return SnowflakeCursor._preprocess_pyformat_query(cursor, operation, parameters), None


def snowflake_literal(value: Any) -> str:
    """A value as snowflake-connector writes it into the statement (client-side binding)."""
    from snowflake.connector.converter import SnowflakeConverter

    converter = SnowflakeConverter()
    return str(converter.quote(converter.escape(converter.to_snowflake(value))))


def driver_error(dialect: str, message: str) -> Exception:
    """The exception the real driver raises for a failed statement (SQLAlchemy wraps it as .orig)."""
    if dialect == "redshift":
        import redshift_connector

        return redshift_connector.ProgrammingError(message)
    from snowflake.connector.errors import ProgrammingError

    return ProgrammingError(msg=message)


@dataclass
class Executed:
    sql: str                               # as the server receives it
    args: tuple[Any, ...] | None           # the server's bound values ($1 …), Redshift only
    parameters: Any                        # what the dialect handed the driver: None, a tuple or a dict
    many: bool = False                     # one row of an executemany


class FakeCursor:
    def __init__(self, connection: FakeWarehouse):
        self.connection = connection
        self.description: list[tuple[Any, ...]] | None = None
        self.rowcount = -1
        self.arraysize = 1
        self._rows: list[tuple[Any, ...]] = []

    def execute(self, operation: str, parameters: Any = None) -> FakeCursor:
        return self._run(operation, parameters, many=False)

    def executemany(self, operation: str, seq_of_parameters: Any) -> FakeCursor:
        for parameters in seq_of_parameters:
            self._run(operation, parameters, many=True)
        return self

    def _run(self, operation: str, parameters: Any, many: bool) -> FakeCursor:
        assert not self.connection.closed
        sql, args = server_statement(self.connection.dialect, operation, parameters)
        columns, rows = self.connection.answer(Executed(sql, args, parameters, many))
        self.description = [(c, None, None, None, None, None, None) for c in columns] if columns is not None else None
        self._rows = list(rows)
        self.rowcount = len(rows) if columns is not None else 0
        return self

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows, self._rows = self._rows, []
        return rows

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._rows.pop(0) if self._rows else None

    def fetchmany(self, size: int | None = None) -> list[tuple[Any, ...]]:
        size = size or self.arraysize
        rows, self._rows = self._rows[:size], self._rows[size:]
        return rows

    def close(self) -> None:
        pass


@dataclass
class FakeWarehouse:
    """A DB-API connection whose server records and answers statements (see the module docstring).

    `rows_by_file` (staged file name -> rows) and `rows_by_manifest` (COPY manifest URI -> rows)
    say what each COPY loads; `fail_on_copy` makes the n-th COPY raise the driver's own error,
    with a message that repeats the statement and the URL (secrets and password included).
    """

    dialect: str
    url: str
    rows_by_file: Mapping[str, int] = field(default_factory=dict)
    rows_by_manifest: Mapping[str, int] = field(default_factory=dict)
    fail_on_copy: int | None = None
    copy_answer: list[tuple[Any, ...]] | None = None      # what COPY INTO answers, when set
    answers: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = field(default_factory=dict)
    statements: list[Executed] = field(default_factory=list)
    on_connect: list[str] = field(default_factory=list)    # what the dialect asked when it connected
    closed: bool = False
    copies: int = 0
    last_copy_count: int = 0
    py_types: dict[Any, Any] = field(default_factory=lambda: {str: 1043})   # redshift_connector's attribute
    autocommit_mode: bool = False

    # -- the DB-API connection --------------------------------------------------------------------

    def cursor(self, *args: Any, **kwargs: Any) -> FakeCursor:
        return FakeCursor(self)

    def commit(self) -> None:
        pass

    def rollback(self) -> None:   # SQLAlchemy's reset on close; nothing is open at the driver level
        pass

    def close(self) -> None:
        self.closed = True

    @property
    def autocommit(self) -> Any:
        if self.dialect == "snowflake":   # snowflake-connector: a method
            return lambda mode: setattr(self, "autocommit_mode", bool(mode))
        return self.autocommit_mode

    @autocommit.setter
    def autocommit(self, mode: bool) -> None:   # redshift_connector: an attribute
        self.autocommit_mode = mode

    # -- the server ----------------------------------------------------------------------------------

    @property
    def sql(self) -> list[str]:
        return [s.sql for s in self.statements]

    def answer(self, executed: Executed) -> tuple[list[str] | None, list[tuple[Any, ...]]]:
        sql = executed.sql
        if sql in CONNECT_ANSWERS[self.dialect]:
            self.on_connect.append(sql)
            return CONNECT_ANSWERS[self.dialect][sql]
        self.statements.append(executed)
        head = sql.lstrip().upper()
        if sql in self.answers:
            return self.answers[sql]
        if head.startswith("COPY"):
            return self._copy(sql)
        if "pg_last_copy_count()" in sql:
            assert self.dialect == "redshift"
            return ["pg_last_copy_count"], [(self.last_copy_count,)]
        if "information_schema" in sql:
            return ["found"], []   # an empty warehouse: no schema, no tables yet
        if head.startswith("SELECT COUNT(*) AS VIOLATIONS"):
            return ["violations", "sample_value"], [(0, None)]
        assert not head.startswith(("SELECT", "SHOW")), f"unscripted query:\n{sql}"
        return None, []

    def _copy(self, sql: str) -> tuple[list[str] | None, list[tuple[Any, ...]]]:
        self.copies += 1
        if self.copies == self.fail_on_copy:
            raise driver_error(self.dialect, f"S3ServiceException: Access Denied on {self.url} while running "
                                             f"{' '.join(sql.split())}")
        if self.dialect == "redshift":
            manifest = re.search(r"FROM '([^']+)'", sql)
            assert manifest, sql
            self.last_copy_count = self.rows_by_manifest[manifest.group(1)]
            return None, []
        if self.copy_answer is not None:
            return SNOWFLAKE_COPY_COLUMNS[:len(self.copy_answer[0])], self.copy_answer
        folder = re.search(r"FROM '([^']+)'", sql)
        files = re.search(r"FILES = \(([^)]*)\)", sql)
        assert folder and files, sql
        names = re.findall(r"'([^']+)'", files.group(1))
        return SNOWFLAKE_COPY_COLUMNS, [
            (folder.group(1) + name, "LOADED", self.rows_by_file[name], self.rows_by_file[name], 1, 0,
             None, None, None, None) for name in names]
