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


_ASKS_FOR_PANDAS = """
import sys
asked = []
class Spy:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "pandas":
            asked.append(name)
sys.meta_path.insert(0, Spy())
import pyarrow as pa
from manifest_loader.warehouses.adbc_session import _batch
{code}
print(bool(asked))
"""


@pytest.mark.parametrize(("code", "asks"), [
    ("_batch([['a', None], [1, 2], [None, None]])", False),
    ("pa.array([1])", True),   # the spy sees what pyarrow does when it converts a value itself
])
def test_binding_parameters_never_asks_for_pandas(code: str, asks: bool) -> None:
    # Whether or not pandas is installed, pyarrow's conversions try to import it (0.3-0.5 s when it is).
    out = subprocess.run([sys.executable, "-c", _ASKS_FOR_PANDAS.format(code=code)], capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == str(asks)


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
