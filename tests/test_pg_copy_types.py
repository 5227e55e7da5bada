"""The Redshift emulator's COPY data, encoded by pgpq (warehouses/pg_session.py), against an
oracle that shares none of its code: the same values bound as parameters by psycopg.

Every portable type the loader casts to (types.PortableType.arrow_type), at its edges, in the
table's own DDL (the dialect's type_sql), compared on the server as text per column.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from manifest_loader.dialects.postgres import Postgres
from manifest_loader.types import PORTABLE_TYPE_NAMES, parse_type
from manifest_loader.warehouses.pg_session import Session

UTC = dt.UTC

# (portable type text, values): each column ends with a NULL.
CASES: list[tuple[str, list[Any]]] = [
    ("boolean", [True, False]),
    ("smallint", [-32768, 32767, 0]),
    ("integer", [-(2**31), 2**31 - 1]),
    ("bigint", [-(2**63), 2**63 - 1]),
    ("real", [1.5, math.inf, -math.inf, -0.0, 3.4028234663852886e38]),
    ("double", [math.nan, -0.0, 5e-324, 1.7976931348623157e308]),
    ("varchar", ["héllo 💥", "", "tab\tnewline\n", "ü" * 300]),
    ("varchar(12)", ["abc", "日本語"]),
    ("char(5)", ["ab", "abcde"]),
    ("json", ['{"a": [1, "é", null]}', "null", "[]", "3.5"]),
    ("date", [dt.date(1, 1, 1), dt.date(1999, 12, 31), dt.date(2000, 1, 1), dt.date(9999, 12, 31)]),
    ("time", [dt.time(0, 0), dt.time(23, 59, 59, 999999), dt.time(12, 0, 0, 1)]),
    ("timestamp", [dt.datetime(1, 1, 1), dt.datetime(1969, 12, 31, 23, 59, 59, 999999),
                   dt.datetime(2000, 1, 1), dt.datetime(9999, 12, 31, 23, 59, 59, 999999)]),
    ("timestamptz", [dt.datetime(1900, 1, 1, 0, 0, 0, 1, tzinfo=UTC), dt.datetime(2024, 2, 29, 12, tzinfo=UTC)]),
    ("binary", [b"\x00\xff\x00", b"", bytes(range(256))]),
    ("decimal(38,10)", [Decimal("1234567890123456789012345678.0123456789"), Decimal("-0.0000000001"), Decimal(0)]),
    ("decimal(38,0)", [Decimal("99999999999999999999999999999999999999"), Decimal("-1")]),
    ("decimal(38,38)", [Decimal("0.00000000000000000000000000000000000001"),
                        Decimal("-0.12345678901234567890123456789012345678")]),
    ("decimal(18,2)", [Decimal("-10.50"), Decimal("100000.00"), Decimal("0.01"), Decimal("9999999999999999.99")]),
    ("decimal(12,4)", [Decimal("0.0001"), Decimal("10000.0000"), Decimal("-12345678.0010")]),
    ("decimal(5,0)", [Decimal("10000"), Decimal("-99999")]),
]


def test_every_portable_type_is_covered() -> None:
    covered = {parse_type(text).name for text, _ in CASES}
    portable = {text.split("(")[0] for text in PORTABLE_TYPE_NAMES}
    assert covered == portable


@pytest.mark.postgres
def test_pgpq_copy_data_equals_the_same_values_bound_by_psycopg(pg_database: str) -> None:
    from pgpq import ArrowToPostgresBinaryEncoder

    types = [parse_type(text) for text, _ in CASES]
    rows = max(len(values) for _, values in CASES) + 1
    columns = [values + [None] * (rows - len(values)) for _, values in CASES]
    names = [f"c{i}" for i in range(len(CASES))]
    ddl = ", ".join(f"{name} {Postgres.type_sql(t)}" for name, t in zip(names, types, strict=True))
    batch = pa.record_batch([pa.array(values, t.arrow_type()) for values, t in zip(columns, types, strict=True)],
                            names=names)

    session = Session(pg_database)
    try:
        session.execute("SET TIME ZONE 'UTC'")
        session.execute(f"CREATE TABLE copied (n int, {ddl})")
        session.execute(f"CREATE TABLE bound (n int, {ddl})")
        # Two, in two batches through one encoder: the load sends many batches per COPY.
        numbered = batch.add_column(0, "n", pa.array(range(rows), pa.int32()))
        encoder = ArrowToPostgresBinaryEncoder(numbered.schema)
        loaded = session.copy(f"COPY copied (n, {', '.join(names)}) FROM STDIN WITH (FORMAT binary)",
                              [encoder.write_header(), encoder.write_batch(numbered.slice(0, 2)),
                               encoder.write_batch(numbered.slice(2)), encoder.finish()])
        assert loaded == rows
        placeholders = ", ".join(f"${i + 1}" for i in range(len(names) + 1))
        session.execute_many(f"INSERT INTO bound VALUES ({placeholders})",
                             [(n, *(column[n] for column in columns)) for n in range(rows)])
        for name, (text, values) in zip(names, CASES, strict=True):
            got = session.execute(f"SELECT n, {name}::text FROM copied ORDER BY n")
            want = session.execute(f"SELECT n, {name}::text FROM bound ORDER BY n")
            assert got == want, text
            assert sum(value is None for _, value in got) == rows - len(values), text
        session.commit()
    finally:
        session.close()
