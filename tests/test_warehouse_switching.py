"""The same manifest loads the same data into both emulators: compared column by column.

The type matrix holds every Arrow type we accept, NULLs in every column, unicode, time zones,
decimals and integers at their limits and nested values.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from datasets import type_matrix_table, write_parquet
from loadkit import fingerprints, warehouse_columns

from manifest_loader.apply import apply
from manifest_loader.commands import make_plan

MATRIX_MANIFEST = """\
version: 1
name: matrix
target: {warehouse: redshift}
tables:
  - name: type_matrix
    source: data/
    primary_key: [row_id]
"""
NESTED = {"c_struct", "c_list"}


@pytest.fixture
def matrix_manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MANIFEST_LOADER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("DW_SIMULATOR_STAGE_BUCKET", raising=False)
    table = type_matrix_table()
    import pyarrow as pa

    table = table.add_column(0, "row_id", pa.array(range(table.num_rows), pa.int64()))
    write_parquet(table.slice(0, 12), tmp_path / "data" / "part-0.parquet")
    write_parquet(table.slice(12), tmp_path / "data" / "part-1.parquet")
    manifest = tmp_path / "matrix.yaml"
    manifest.write_text(MATRIX_MANIFEST)
    return manifest


def test_type_matrix_is_identical_in_both_emulators(matrix_manifest: Path, pg_database: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DW_SIMULATOR_REDSHIFT_URL", pg_database)
    for warehouse in ("redshift", "snowflake"):
        assert apply(matrix_manifest, warehouse).rows == 20
    source = type_matrix_table().to_pydict()
    expected = fingerprints(source, NESTED)
    loaded = {w: fingerprints(warehouse_columns(matrix_manifest, "type_matrix", w, "row_id"), NESTED)
              for w in ("redshift", "snowflake")}
    for column in source:
        assert loaded["redshift"][column] == expected[column], f"redshift emulator: {column} differs from Parquet"
        assert loaded["snowflake"][column] == expected[column], f"snowflake emulator: {column} differs from Parquet"


def test_snowflake_plans_keep_ddl_out_of_the_transaction(matrix_manifest: Path) -> None:
    plan, _ = make_plan(matrix_manifest, "snowflake")
    ddl_words = ("CREATE", "DROP", "ALTER", "TRUNCATE")
    inside = [s.sql for s in plan.steps if s.transactional]
    outside = [s.sql for s in plan.steps if not s.transactional]
    assert inside and outside
    assert not [sql for sql in inside if sql.lstrip().upper().startswith(ddl_words)]
    assert all(sql.lstrip().upper().startswith("CREATE") for sql in outside)
    # DDL first, then the transaction: no DDL step comes after a transactional one.
    flags = [s.transactional for s in plan.steps]
    assert flags == sorted(flags)
