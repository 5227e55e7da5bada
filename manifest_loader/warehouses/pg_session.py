"""The Redshift emulator's load session: one psycopg connection, autocommit off, rows streamed
into binary COPY as pgpq encodes them.

Why not ADBC, which a user's query still uses (adbc_session.py): ADBC's ingest encodes Arrow
into PostgreSQL's binary COPY format in its own loop, and that loop was more than half of
apply's CPU at 10M rows (`perf record`, docs/benchmarks.md note (5)). pgpq does the same
encoding in half the CPU, and hands back the bytes, so the encoding runs in the read-ahead
thread while this connection sends the previous batch. The DDL, the COPY, the checks and the
ledger must share one transaction, so the whole load runs here.

Statements keep PostgreSQL's own `$1` placeholders (psycopg's RawCursor), as the templates
render them. Results are psycopg's Python values (NUMERIC as Decimal); a Python exception raised
while the COPY streams aborts it on the server (psycopg sends CopyFail), so the transaction
is left to roll back and nothing is half loaded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

_DRIVER_SUFFIX = re.compile(r"^(postgres(?:ql)?)\+[a-z0-9_]+://")


def libpq_uri(url: str) -> str:
    """postgresql+psycopg://… -> postgresql://… (libpq takes no SQLAlchemy driver suffix)."""
    return _DRIVER_SUFFIX.sub(r"\1://", url)


class Session:
    """One connection with autocommit off; every statement joins the open transaction."""

    def __init__(self, uri: str):
        import psycopg

        # The URI's own connect_timeout, if any, wins; libpq's default is to wait forever.
        self.connection = psycopg.connect(uri, autocommit=False, cursor_factory=psycopg.RawCursor)

    def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run one statement; its rows (none for DDL and DML)."""
        with self.connection.cursor() as cursor:
            cursor.execute(sql, parameters or None)
            return cursor.fetchall() if cursor.description else []

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement once per row of parameters (pipelined: one round trip)."""
        if rows:
            with self.connection.cursor() as cursor:
                cursor.executemany(sql, rows)

    def copy(self, sql: str, chunks: Iterable[bytes]) -> int:
        """Send the chunks of a `COPY … FROM STDIN` statement's data; the number of rows copied.
        An exception from `chunks` aborts the COPY on the server and is raised as it is."""
        with self.connection.cursor() as cursor:
            with cursor.copy(sql) as copy:
                for chunk in chunks:
                    copy.write(chunk)
            return cursor.rowcount

    def commit(self) -> None:
        self.connection.commit()

    def rollback(self) -> None:
        self.connection.rollback()

    def close(self) -> None:
        self.connection.close()
