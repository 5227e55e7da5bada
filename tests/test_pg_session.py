"""The Redshift emulator's load session (psycopg): statements, rows, COPY and transactions on a
real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pyarrow as pa
import pytest
from pgpq import ArrowToPostgresBinaryEncoder

from manifest_loader.warehouses.pg_session import Session, libpq_uri

pytestmark = pytest.mark.postgres


@pytest.fixture
def session(pg_database: str) -> Iterator[Session]:
    opened = Session(pg_database)
    try:
        yield opened
    finally:
        opened.close()


def _chunks(batch: pa.RecordBatch, fail_after: int | None = None) -> Iterator[bytes]:
    encoder = ArrowToPostgresBinaryEncoder(batch.schema)
    yield encoder.write_header()
    for i in range(batch.num_rows):
        if fail_after is not None and i == fail_after:
            raise ValueError("the stream broke")
        yield encoder.write_batch(batch.slice(i, 1))
    yield encoder.finish()


def test_statements_copy_and_rollback(session: Session) -> None:
    # $1 placeholders as the templates render them; NUMERIC as Decimal.
    assert session.execute("SELECT $1::int + 1, $2::text, NULL::int, sum(x) FROM (VALUES (2::bigint)) v(x)",
                           [41, "é"]) == [(42, "é", None, Decimal(2))]
    assert session.execute("CREATE TABLE t (id bigint, name text)") == []
    session.execute_many("INSERT INTO t VALUES ($1, $2)", [(1, "a"), (2, None)])
    batch = pa.record_batch({"id": pa.array([3, 4, 5], pa.int64()), "name": ["c", None, "e😀"]})
    assert session.copy("COPY t (id, name) FROM STDIN WITH (FORMAT binary)", _chunks(batch)) == 3
    assert session.execute("SELECT id, name FROM t ORDER BY id") == [
        (1, "a"), (2, None), (3, "c"), (4, None), (5, "e😀")]
    session.rollback()   # autocommit is off: the table was never committed
    assert session.execute("SELECT to_regclass('public.t') IS NULL") == [(True,)]


def test_a_failing_stream_aborts_the_copy_and_leaves_nothing(session: Session) -> None:
    session.execute("CREATE TABLE t (id bigint, name text)")
    session.commit()
    batch = pa.record_batch({"id": pa.array([1, 2, 3], pa.int64()), "name": ["a", "b", "c"]})
    with pytest.raises(ValueError, match="the stream broke"):   # ours, not the driver's
        session.copy("COPY t (id, name) FROM STDIN WITH (FORMAT binary)", _chunks(batch, fail_after=2))
    # The server ended the COPY with an error: its transaction takes nothing more until rolled back.
    with pytest.raises(Exception, match="current transaction is aborted"):
        session.execute("SELECT count(*) FROM t")
    session.rollback()
    assert session.execute("SELECT count(*) FROM t") == [(0,)]
    # The connection is usable again: the same COPY, whole, loads every row.
    assert session.copy("COPY t (id, name) FROM STDIN WITH (FORMAT binary)", _chunks(batch)) == 3
    session.commit()
    assert session.execute("SELECT count(*), sum(id) FROM t") == [(3, Decimal(6))]


def test_a_server_error_in_copy_names_the_problem(session: Session) -> None:
    session.execute("CREATE TABLE t (id bigint NOT NULL)")
    batch = pa.record_batch({"id": pa.array([1, None], pa.int64())})
    with pytest.raises(Exception, match='null value in column "id"'):
        session.copy("COPY t (id) FROM STDIN WITH (FORMAT binary)", _chunks(batch))
    session.rollback()


def test_libpq_uri_drops_the_sqlalchemy_driver() -> None:
    assert libpq_uri("postgresql+psycopg://u:p@h:5432/d?sslmode=disable") == "postgresql://u:p@h:5432/d?sslmode=disable"
    assert libpq_uri("postgres://h/d") == "postgres://h/d"
