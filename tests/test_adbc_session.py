"""The Redshift emulator's ADBC session: parameters, rows, ingest and transactions on a real PostgreSQL."""

from __future__ import annotations

import subprocess
import sys

import pyarrow as pa
import pytest

from manifest_loader.warehouses.adbc_session import Session, _array


@pytest.mark.parametrize("values", [
    ["a", None, "é😀", "", "x,y\n\"z\"\\N"],
    [1, None, -5, 2**63 - 1, -(2**63)],
    [None, None],
    ["only"],
    [True, None, False],      # not built from buffers: pa.array()
    [1.5, None],
])
def test_parameter_values_round_trip(values: list[object]) -> None:
    assert _array(values).to_pylist() == values


def test_strings_and_integers_are_typed_as_the_driver_expects() -> None:
    assert _array(["a", None]).type == pa.string() and _array([1, None]).type == pa.int64()
    assert _array([None]).type == pa.null()


def test_binding_parameters_does_not_import_pandas() -> None:
    pytest.importorskip("pandas")   # only then is there anything to avoid
    code = ("import sys; from manifest_loader.warehouses.adbc_session import _batch; "
            "_batch([['a', None], [1, 2]]); print('pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_statements_rows_ingest_and_rollback(pg_database: str) -> None:
    session = Session(pg_database)
    try:
        assert session.execute("SELECT $1::int + 1 AS answer, $2::text AS word, NULL::int AS nothing",
                               [41, "é"]) == [(42, "é", None)]
        assert [f.name for f in session.columns] == ["answer", "word", "nothing"]
        session.execute("CREATE TABLE t (id bigint, name text)")
        session.execute_many("INSERT INTO t VALUES ($1, $2)", [(1, "a"), (2, None), (3, "")])
        reader = pa.RecordBatchReader.from_batches(
            pa.schema([("id", pa.int64()), ("name", pa.string())]),
            [pa.record_batch({"id": pa.array([4, 5], pa.int64()), "name": ["d", None]})])
        assert session.ingest("t", reader, db_schema="public", temporary=False) == 2
        assert session.execute("SELECT id, name FROM t ORDER BY id") == [(1, "a"), (2, None), (3, ""), (4, "d"),
                                                                        (5, None)]
        session.rollback()   # autocommit is off: the table was never committed
        assert session.execute("SELECT to_regclass('public.t') IS NULL") == [(True,)]
        with pytest.raises(Exception, match="division by zero"):
            session.execute("SELECT 1 / 0")
    finally:
        session.close()
