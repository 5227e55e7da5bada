"""The Redshift emulator's query session: PostgreSQL over ADBC's low-level API, results as Arrow.

A user's query (`manifest-loader query`, the API) runs here; a load runs on psycopg
(pg_session.py), whose COPY takes pgpq's encoding.

ADBC's DB-API module imports `pyarrow.dataset`, whose compiled module imports pandas whenever it
is installed: 0.3-0.5 s of every command (`python -X importtime`, docs/benchmarks.md). The
loader needs a small part of DB-API — run a statement with positional parameters, read its rows,
commit — and the public low-level API (AdbcDatabase, AdbcConnection, AdbcStatement) gives
exactly that, with the same driver, the same errors and the same Arrow conversions underneath.

The sandbox's own statements (roles, grants, the catalog) return a few columns of plain types.
Their rows are read with nanoarrow, Arrow's small C-stream reader, without pyarrow and numpy
(0.13-0.2 s of CPU and 30 MB): see `_rows`. Anything else, and the user's query
(`execute_arrow`), goes through pyarrow.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import adbc_driver_manager as adbc
import nanoarrow as na

from ..arrow_values import array_of

if TYPE_CHECKING:
    import pyarrow as pa

# DB-API's wrapper that turns Ctrl-C into a cancel of the running statement; a private helper of
# adbc_driver_manager, so without it a call simply runs to its end before the interrupt is seen.
_blocking: Callable[..., Any] | None = getattr(getattr(adbc, "_lib", None), "_blocking_call", None)


class Session:
    """One connection with autocommit off, as `adbc_driver_postgresql.dbapi.connect` gives."""

    def __init__(self, uri: str):
        import adbc_driver_postgresql

        self.database = adbc_driver_postgresql.connect(uri)
        try:
            self.connection = adbc.AdbcConnection(self.database)
            self.connection.set_autocommit(False)
        except BaseException:
            self.database.close()
            raise

    def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run one statement; its rows (none for DDL and DML), as pyarrow's `to_pylist` gives them."""
        with adbc.AdbcStatement(self.connection) as statement:
            handle = self._run(statement, sql, parameters)
            return _call(statement, lambda: _rows(na.ArrayStream(handle)))

    def execute_arrow(self, sql: str, parameters: Sequence[Any] | None = None) -> pa.Table:
        """Run one statement; its result as a pyarrow Table (a user's query: any type, any size)."""
        import pyarrow as pa

        with adbc.AdbcStatement(self.connection) as statement:
            handle = self._run(statement, sql, parameters)
            return _call(statement, pa.RecordBatchReader._import_from_c(handle.address).read_all)

    def _run(self, statement: adbc.AdbcStatement, sql: str, parameters: Sequence[Any] | None) -> Any:
        statement.set_sql_query(sql)
        if parameters:
            schema, array = _parameters(parameters)
            statement.bind(array, schema)
        handle, _ = _call(statement, statement.execute_query)
        return handle

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement once per row of parameters."""
        if not rows:
            return
        batch = _batch([[row[i] for row in rows] for i in range(len(rows[0]))])
        with adbc.AdbcStatement(self.connection) as statement:
            statement.set_sql_query(sql)
            statement.bind(batch)
            _call(statement, statement.execute_update)

    def commit(self) -> None:
        self.connection.commit()

    def rollback(self) -> None:
        self.connection.rollback()

    def close(self) -> None:
        try:
            self.connection.close()
        finally:
            self.database.close()


# Columns whose values nanoarrow converts exactly as pyarrow's to_pylist does (checked by
# tests/test_adbc_session.py against a real server). Not: time zones (pyarrow gives ZoneInfo,
# nanoarrow datetime.timezone), intervals, lists, times.
_PLAIN = frozenset({na.Type.BOOL, na.Type.INT8, na.Type.INT16, na.Type.INT32, na.Type.INT64, na.Type.UINT8,
                    na.Type.UINT16, na.Type.UINT32, na.Type.UINT64, na.Type.FLOAT, na.Type.DOUBLE,
                    na.Type.STRING, na.Type.LARGE_STRING, na.Type.BINARY, na.Type.LARGE_BINARY,
                    na.Type.DATE32, na.Type.TIMESTAMP, na.Type.NULL})
# The driver's extension types for PostgreSQL types Arrow has no type for (numeric, as SUM of a
# bigint gives; void, as pg_advisory_xact_lock gives; json): both libraries give their text or bytes.
_AS_STORAGE = frozenset({"arrow.opaque", "arrow.json"})
_BYTES = frozenset({na.Type.STRING, na.Type.LARGE_STRING, na.Type.BINARY, na.Type.LARGE_BINARY})


def _plain(field: na.Schema) -> bool:
    if field.extension is not None:
        return field.extension.name in _AS_STORAGE and field.extension.storage.type in _BYTES
    return field.type in _PLAIN and not (field.type == na.Type.TIMESTAMP and field.timezone)


def _rows(stream: na.ArrayStream) -> list[tuple[Any, ...]]:
    """A result's rows: by nanoarrow when every column is plain, else by pyarrow."""
    fields = list(stream.schema.fields)
    if not fields:
        return []
    if all(_plain(field) for field in fields):
        from nanoarrow.iterator import UnregisteredExtensionWarning

        with warnings.catch_warnings():
            # "converting unregistered extension as storage type": what _AS_STORAGE asks for.
            warnings.simplefilter("ignore", UnregisteredExtensionWarning)
            return list(stream.read_all().iter_tuples())
    import pyarrow as pa

    table = pa.RecordBatchReader.from_stream(stream).read_all()
    return list(zip(*(column.to_pylist() for column in table.columns), strict=True))


def _parameters(values: Sequence[Any]) -> tuple[Any, Any]:
    """One row of parameters as the (schema, array) capsules `bind` takes. Strings, integers and
    NULLs (what the loader binds to its own statements) without pyarrow; anything else by _batch."""
    if all(v is None or type(v) is str or (type(v) is int and -(2**63) <= v < 2**63) for v in values):
        types = [na.null() if v is None else na.string() if type(v) is str else na.int64() for v in values]
        children = [na.c_array_from_buffers(t, 1, [], null_count=1) if v is None else na.c_array([v], t)
                    for v, t in zip(values, types, strict=True)]
        row = na.c_array_from_buffers(na.struct({str(i): t for i, t in enumerate(types)}), 1, [None],
                                      children=children)
        return row.__arrow_c_array__()
    return _batch([[value] for value in values]).__arrow_c_array__()


def _batch(columns: list[list[Any]]) -> pa.RecordBatch:
    import pyarrow as pa

    arrays = [array_of(values) for values in columns]
    return pa.RecordBatch.from_arrays(arrays, names=[str(i) for i in range(len(columns))])


def _call(statement: adbc.AdbcStatement, function: Callable[[], Any]) -> Any:
    return _blocking(function, (), {}, statement.cancel) if _blocking is not None else function()
