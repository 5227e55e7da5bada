"""An existing table and the manifest's definition, on both emulators: a failed first apply leaves
no table it created (the Snowflake emulator commits DDL first); a table whose definition drifted
(type, nullability, columns, keys) is reported per column or key by `plan` and `apply`, brought to
the manifest's definition in replace/truncate loads, made nullable where that is all, and refused
for append/merge with a way out that works."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner
from emulatorkit import use_emulator, write_manifest

from manifest_loader.apply import apply
from manifest_loader.cli import main
from manifest_loader.errors import LoaderError
from manifest_loader.loader_tables import CHANGED_TABLE, KEYS_TABLE, LEDGER_TABLE
from manifest_loader.progress import Progress
from manifest_loader.query import run_query
from manifest_loader.registry import without_url
from manifest_loader.saved_plan import read_saved

WAREHOUSES = ["redshift", "snowflake"]


class Messages(Progress):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def event(self, kind: str, **fields: object) -> None:
        if kind == "message":
            self.messages.append(str(fields["message"]))


def _loader_tables(warehouse: str) -> set[str]:
    """The loader's own tables beside the user's, on the warehouse's emulator."""
    return {LEDGER_TABLE, KEYS_TABLE} | ({CHANGED_TABLE} if without_url(warehouse).marks_outside_changes else set())


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
    assert _tables(manifest, warehouse) == {"t", *_loader_tables(warehouse)}
    # without the refused constraint the table is created again, as text
    write_manifest(tmp_path, warehouse, body)
    assert apply(manifest, warehouse).rows == 3
    _, rows = run_query(manifest, "select v from t order by v nulls last", warehouse)
    assert [r[0] for r in rows] == ["x", "z", None]
    assert _tables(manifest, warehouse) == {"t", *_loader_tables(warehouse)}


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
    shown = _plan(manifest, warehouse)   # plan says the same, before anything runs
    assert "column probe.t.v: " in shown and "apply refuses to load (nothing is loaded)" in shown, shown
    with pytest.raises(LoaderError) as refused:
        apply(manifest, warehouse)
    assert "column probe.t.v: " in str(refused.value)
    assert "apply once with mode: replace on table 't'" in (refused.value.hint or "")
    write_manifest(tmp_path, warehouse, "  - name: t\n    source: data/\n    mode: replace\n")   # the advice
    assert apply(manifest, warehouse).rows == 1
    _, rows = run_query(manifest, "select v from t", warehouse)
    assert [r[0] for r in rows] == ["x"]


def _plan(manifest: Path, warehouse: str, *args: str) -> str:
    result = CliRunner().invoke(main, ["plan", str(manifest), "--target-warehouse", warehouse, *args])
    assert result.exit_code == 0, result.output
    return result.output


def _recorded_keys(manifest: Path, warehouse: str) -> list[tuple[object, ...]]:
    _, rows = run_query(manifest, "select table_name, declared_keys from _manifest_loader_keys order by 1", warehouse)
    return [tuple(r) for r in rows]


@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_key_drift_is_shown_by_plan_and_replace_brings_the_table_to_the_manifests_keys(
        tmp_path: Path, warehouse: str, pg_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    use_emulator(warehouse, tmp_path, monkeypatch, pg_database)
    body = "  - name: t\n    source: data/t.parquet\n    columns: {v: {nullable: false}}\n    primary_key: "
    files = {"data/t.parquet": pa.table({"id": pa.array([1, 2], pa.int64()), "v": ["a", "b"]})}
    manifest = write_manifest(tmp_path, warehouse, body + "[id]\n", files)
    apply(manifest, warehouse)
    assert _plan(manifest, warehouse).count("differs from the manifest") == 0
    write_manifest(tmp_path, warehouse, body + "[id, v]\n")
    recorded = _recorded_keys(manifest, warehouse)
    difference = "table probe.t: primary key (id) in the warehouse, (id, v) in the manifest"
    text = _plan(manifest, warehouse)
    assert difference in text and "apply " + ("drops it and creates it again" if warehouse == "redshift"
                                              else "sets it aside, creates it") in text, text
    shown = json.loads(_plan(manifest, warehouse, "--format", "json"))["tables"][0]["drift"]
    assert shown["differences"] == [difference] and shown["action"] == "rebuild"
    assert "differs from the manifest" in _plan(manifest, warehouse, "--format", "markdown")
    assert _recorded_keys(manifest, warehouse) == recorded   # plan wrote nothing
    saved = tmp_path / "plan.json"   # a reviewed plan that rebuilds the table applies as it was saved
    _plan(manifest, warehouse, "--out", str(saved))
    progress = Messages()
    assert apply(manifest, warehouse, progress=progress, saved_plan=read_saved(saved)).changed
    assert any(difference in m for m in progress.messages), progress.messages
    assert _recorded_keys(manifest, warehouse) == [("t", '{"primary_key": ["id", "v"]}')]
    assert "differs from the manifest" not in _plan(manifest, warehouse)
    assert not apply(manifest, warehouse).changed   # now the table is what the manifest says: no changes
    _, rows = run_query(manifest, "select id, v from t order by id", warehouse)
    assert [tuple(r) for r in rows] == [(1, "a"), (2, "b")]


@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_merge_refuses_changed_merge_keys_and_its_way_out_works(
        tmp_path: Path, warehouse: str, pg_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    use_emulator(warehouse, tmp_path, monkeypatch, pg_database)
    merge = "  - name: t\n    source: data/\n    mode: merge\n    merge_keys: "
    manifest = write_manifest(tmp_path, warehouse, merge + "[id]\n",
                              {"data/a.parquet": pa.table({"id": pa.array([1, 2], pa.int64()), "v": ["a", "b"]})})
    apply(manifest, warehouse)
    write_manifest(tmp_path, warehouse, merge + "[id, v]\n",
                   {"data/b.parquet": pa.table({"id": pa.array([1], pa.int64()), "v": ["c"]})})
    difference = "table probe.t: merge keys (id) in the warehouse, (id, v) in the manifest"
    text = _plan(manifest, warehouse)
    assert difference in text and "apply refuses to load (nothing is loaded)" in text, text
    assert json.loads(_plan(manifest, warehouse, "--format", "json"))["tables"][0]["drift"]["action"] == "refuse"
    with pytest.raises(LoaderError) as refused:
        apply(manifest, warehouse)
    assert difference in str(refused.value)
    hint = refused.value.hint or ""
    assert "apply once with mode: replace (without merge_keys, which only apply in mode merge) on table 't'" \
        in hint and "then set the mode back" in hint, hint
    # the advice: one replace load, then the mode back
    write_manifest(tmp_path, warehouse, "  - name: t\n    source: data/\n    mode: replace\n")
    assert apply(manifest, warehouse).rows == 3
    write_manifest(tmp_path, warehouse, merge + "[id, v]\n",
                   {"data/c.parquet": pa.table({"id": pa.array([1, 2], pa.int64()), "v": ["d", "b"]})})
    assert apply(manifest, warehouse).rows == 2   # merged on (id, v): (2, b) replaces its own row
    _, rows = run_query(manifest, "select id, v from t order by id, v", warehouse)
    assert [tuple(r) for r in rows] == [(1, "a"), (1, "c"), (1, "d"), (2, "b")]
