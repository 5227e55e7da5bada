"""An existing table and the manifest's definition, on both emulators: a failed first apply leaves
no table it created (the Snowflake emulator commits DDL first); a table whose definition drifted
(type, nullability, columns) is reported per column and brought to the manifest's definition in
replace/truncate loads, made nullable where that is all, and refused for append with a way out
that works."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from emulatorkit import use_emulator, write_manifest

from manifest_loader.apply import apply
from manifest_loader.errors import LoaderError
from manifest_loader.progress import Progress
from manifest_loader.query import run_query

WAREHOUSES = ["redshift", "snowflake"]


class Messages(Progress):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def event(self, kind: str, **fields: object) -> None:
        if kind == "message":
            self.messages.append(str(fields["message"]))


def _tables(manifest: Path, warehouse: str) -> set[str]:
    _, rows = run_query(manifest, "select table_name from information_schema.tables where lower(table_schema) = "
                        "'probe'", warehouse)
    return {str(r[0]).lower() for r in rows}


def _people(emails: list[str | None]) -> dict[str, pa.Table]:
    return {"data/people.parquet": pa.table({"id": pa.array(range(1, len(emails) + 1), pa.int64()),
                                             "email": pa.array(emails, pa.string())})}


@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_a_failed_first_apply_leaves_no_table_and_the_fixed_manifest_loads(
        tmp_path: Path, warehouse: str, pg_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    use_emulator(warehouse, tmp_path, monkeypatch, pg_database)
    body = "  - name: people\n    source: data/people.parquet\n"
    manifest = write_manifest(tmp_path, warehouse, body + "    columns: {email: {nullable: false}}\n",
                              _people(["a@x", None, "c@x"]))
    with pytest.raises(LoaderError, match="column email is declared NOT NULL"):
        apply(manifest, warehouse)
    assert _tables(manifest, warehouse) == set()   # neither the table nor the ledger
    write_manifest(tmp_path, warehouse, body)
    assert apply(manifest, warehouse).rows == 3
    _, rows = run_query(manifest, "select count(*) from people where email is null", warehouse)
    assert rows[0][0] == 1


@pytest.mark.parametrize(("warehouse", "mode"), [("redshift", "append"), ("snowflake", "append"),
                                               ("snowflake", "replace")])
def test_not_null_in_the_warehouse_but_not_in_the_manifest_is_dropped_in_the_load(
        tmp_path: Path, warehouse: str, mode: str, pg_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    use_emulator(warehouse, tmp_path, monkeypatch, pg_database)
    body = f"  - name: people\n    source: data/\n    mode: {mode}\n"
    manifest = write_manifest(tmp_path, warehouse, body + "    columns: {email: {nullable: false}}\n",
                              _people(["a@x", "b@x"]))
    assert apply(manifest, warehouse).rows == 2
    more = {"data/more.parquet": pa.table({"id": pa.array([7], pa.int64()), "email": pa.array([None], pa.string())})}
    write_manifest(tmp_path, warehouse, body, more)
    progress = Messages()
    apply(manifest, warehouse, progress=progress)
    assert any("column probe.people.email: NOT NULL in the warehouse, nullable in the manifest" in m
               for m in progress.messages), progress.messages
    _, rows = run_query(manifest, "select count(*), count(email) from people", warehouse)
    assert tuple(rows[0]) == (3, 2)


@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_replace_creates_a_drifted_table_again_and_a_failure_leaves_the_old_one(
        tmp_path: Path, warehouse: str, pg_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    use_emulator(warehouse, tmp_path, monkeypatch, pg_database)
    body = "  - name: t\n    source: data/t.parquet\n"
    manifest = write_manifest(tmp_path, warehouse, body, {"data/t.parquet": pa.table({"v": pa.array([1, 2])})})
    assert apply(manifest, warehouse).rows == 2
    # the files now hold text, and a NULL the manifest refuses: the load fails, the old table stays
    text = {"data/t.parquet": pa.table({"v": pa.array(["x", None, "z"])})}
    write_manifest(tmp_path, warehouse, body + "    columns: {v: {nullable: false}}\n", text)
    progress = Messages()
    with pytest.raises(LoaderError, match="column v is declared NOT NULL"):
        apply(manifest, warehouse, progress=progress)
    assert any("column probe.t.v: " in m and "varchar" in m for m in progress.messages), progress.messages
    _, rows = run_query(manifest, "select v from t order by v", warehouse)
    assert [r[0] for r in rows] == [1, 2]
    assert _tables(manifest, warehouse) == {"t", "_manifest_loader_ledger"}
    # without the refused constraint the table is created again, as text
    write_manifest(tmp_path, warehouse, body)
    assert apply(manifest, warehouse).rows == 3
    _, rows = run_query(manifest, "select v from t order by v nulls last", warehouse)
    assert [r[0] for r in rows] == ["x", "z", None]
    assert _tables(manifest, warehouse) == {"t", "_manifest_loader_ledger"}


@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_append_refuses_a_drifted_table_and_its_way_out_works(
        tmp_path: Path, warehouse: str, pg_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    use_emulator(warehouse, tmp_path, monkeypatch, pg_database)
    manifest = write_manifest(tmp_path, warehouse, "  - name: t\n    source: data/\n    mode: append\n",
                              {"data/a.parquet": pa.table({"v": pa.array([1, 2])})})
    apply(manifest, warehouse)
    (tmp_path / "data" / "a.parquet").unlink()
    write_manifest(tmp_path, warehouse, "  - name: t\n    source: data/\n    mode: append\n",
                   {"data/b.parquet": pa.table({"v": pa.array(["x"])})})
    with pytest.raises(LoaderError) as refused:
        apply(manifest, warehouse)
    assert "column probe.t.v: " in str(refused.value)
    assert "apply once with mode: replace on table 't'" in (refused.value.hint or "")
    write_manifest(tmp_path, warehouse, "  - name: t\n    source: data/\n    mode: replace\n")   # the advice
    assert apply(manifest, warehouse).rows == 1
    _, rows = run_query(manifest, "select v from t", warehouse)
    assert [r[0] for r in rows] == ["x"]
