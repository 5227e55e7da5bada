"""The Redshift emulator's query session (ADBC): parameters, rows and transactions on a real PostgreSQL."""

from __future__ import annotations

import subprocess
import sys

import pyarrow as pa
import pytest
from pandas_spy import asks_for_pandas

from manifest_loader.arrow_values import array_of
from manifest_loader.warehouses.adbc_session import Session


@pytest.mark.parametrize("values", [
    ["a", None, "é😀", "", "x,y\n\"z\"\\N"],
    [1, None, -5, 2**63 - 1, -(2**63)],
    [None, None],
    ["only"],
    [True, None, False],      # not built from buffers: pa.array()
    [1.5, None],
])
def test_parameter_values_round_trip(values: list[object]) -> None:
    assert array_of(values).to_pylist() == values


def test_strings_and_integers_are_typed_as_the_driver_expects() -> None:
    assert array_of(["a", None]).type == pa.string() and array_of([1, None]).type == pa.int64()
    assert array_of([None]).type == pa.null()


@pytest.mark.parametrize(("code", "asks"), [
    ("_batch([['a', None], [1, 2], [None, None]])", False),
    ("pa.array([1])", True),   # the spy sees what pyarrow does when it converts a value itself
])
def test_binding_parameters_never_asks_for_pandas(code: str, asks: bool) -> None:
    # Whether or not pandas is installed, pyarrow's conversions try to import it (0.3-0.5 s when it is).
    _, asked = asks_for_pandas(f"import pyarrow as pa\n"
                               f"from manifest_loader.warehouses.adbc_session import _batch\n{code}")
    assert asked is asks


def test_statements_rows_and_rollback(pg_database: str) -> None:
    session = Session(pg_database)
    try:
        assert session.execute("SELECT $1::int + 1 AS answer, $2::text AS word, NULL::int AS nothing",
                               [41, "é"]) == [(42, "é", None)]
        assert session.execute_arrow("SELECT $1::int + 1 AS answer, $2::text AS word, NULL::int AS nothing",
                                     [41, "é"]).to_pylist() == [{"answer": 42, "word": "é", "nothing": None}]
        session.execute("CREATE TABLE t (id bigint, name text)")
        session.execute_many("INSERT INTO t VALUES ($1, $2)", [(1, "a"), (2, None), (3, "")])
        assert session.execute("SELECT id, name FROM t ORDER BY id") == [(1, "a"), (2, None), (3, "")]
        session.rollback()   # autocommit is off: the table was never committed
        assert session.execute("SELECT to_regclass('public.t') IS NULL") == [(True,)]
        with pytest.raises(Exception, match="division by zero"):
            session.execute("SELECT 1 / 0")
    finally:
        session.close()


# Every kind of column the loader's statements return, and some they never do (read by pyarrow).
_KINDS = """SELECT 1::bigint a, 2::int b, 3::smallint c, 1.5::float8 d, 0.1::float4 e, 'xé😀'::text f, 'n'::name g,
  true h, '2020-01-02'::date i, '2020-01-02 03:04:05.123456'::timestamp j, 'ab'::bytea k, 12::oid l,
  '{{"a": 1}}'::json m, 1.25::numeric n, NULL::text o, 'y'::char(2) p, 7::bigint + $1 q, $2::text r, $3::int s{extra}
UNION ALL SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL{nulls}"""


@pytest.mark.parametrize(("extra", "nulls"), [
    ("", ""),
    (", '2020-01-02 03:04:05+00'::timestamptz t, '1 day'::interval u, ARRAY[1, 2] v, '10:00'::time w",
     ", NULL, NULL, NULL, NULL"),
])
def test_rows_are_the_values_pyarrow_gives(pg_database: str, extra: str, nulls: str) -> None:
    sql = _KINDS.format(extra=extra, nulls=nulls)
    session = Session(pg_database)
    try:
        rows = session.execute(sql, [3, "é", None])
        table = session.execute_arrow(sql, [3, "é", None])
    finally:
        session.close()
    expected = list(zip(*(column.to_pylist() for column in table.columns), strict=True))
    assert rows == expected and len(rows) == 2
    assert [[type(value) for value in row] for row in rows] == [[type(value) for value in row] for row in expected]
    assert rows[0][16:19] == (10, "é", None) and rows[0][5] == "xé😀"


_PLAIN_ROWS = """
import sys
from manifest_loader.warehouses.adbc_session import Session
session = Session(sys.argv[1])
rows = session.execute("SELECT sum(x), $1::text, max(y) FROM (VALUES (1::bigint, now()::timestamp)) v(x, y) "
                       "WHERE $2::int IS NULL", ["a", None])
session.close()
print(rows[0][:2], "pyarrow" in sys.modules, "numpy" in sys.modules)
"""


def test_the_loaders_own_statements_need_no_pyarrow(pg_database: str) -> None:
    # A no-change re-apply reads the ledger and a few counts: nanoarrow reads them (0.13-0.2 s less).
    out = subprocess.run([sys.executable, "-c", _PLAIN_ROWS, pg_database], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "('1', 'a') False False"
