"""Hints must be true: the advice a failed load gives is followed here, and the load then succeeds.

Bad-input cases whose hint names a manifest change (one per check, on both emulators, and one per
kind of type override) are applied, the hint's change is made to the manifest exactly as written
(`checks: {primary_key: false}`, `columns: {x: {type: bigint}}`, `columns: {v: {nullable: true}}`,
taking a column out of `primary_key`), and the apply is run again: it must succeed. A repeated
merge key has no setting that turns its check off, so its hint names none, and its advice (the
files that repeat a key, in separate applies) is followed in its own test; so is the way out of a
table that drifted from its manifest (tests/test_table_definition.py).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import yaml
from badcorpus import Case, cases
from click.testing import CliRunner
from emulatorkit import use_emulator, write_manifest

from manifest_loader.cli import main

# One case per check and per way out, on each emulator (each has its own code path: checked while
# streaming on the Redshift emulator, by a query or the table's own constraint on the Snowflake
# emulator); the type overrides of one code path (casting) alternate between the emulators.
_ONE_PER_CHECK = ("not_null_violated", "primary_key_null", "primary_key_duplicates", "foreign_key_violation",
                  "varchar_characters", "merge_key_repeated", "integer_overflow")
_ONE_EMULATOR = {"decimal_scale_loss": "redshift", "nan_into_decimal": "redshift", "uint64_into_bigint": "snowflake"}
CASES = [pytest.param(case, warehouse, id=f"{case.name}-{warehouse}") for case in cases()
         if case.name in _ONE_PER_CHECK or case.name in _ONE_EMULATOR for warehouse in case.warehouses
         if case.expected_exit(warehouse) == 1 and _ONE_EMULATOR.get(case.name, warehouse) == warehouse]
_SETTING = re.compile(r"checks: \{(\w+): false\}")
_COLUMN = re.compile(r"columns: \{(\w+): \{(type|nullable): ([^}]+)\}\}")
_OUT_OF_KEY = re.compile(r"take (\w+) out of the table's primary_key")


def _apply(manifest: Path, warehouse: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["apply", str(manifest), "--target-warehouse", warehouse])
    lines = result.output.splitlines()
    error = next((line for line in lines if line.startswith("error: ")), "")
    hint = next((line.strip() for line in lines if line.strip().startswith("hint: ")), "")
    return result.exit_code, error, hint


def _follow(document: dict[str, Any], hint: str) -> list[str]:
    """Make each manifest change the hint names, as written; what was changed."""
    done: list[str] = []
    for table in document["tables"]:
        for setting in _SETTING.findall(hint):
            table["checks"] = {**table.get("checks", {}), setting: False}
            done.append(f"checks: {{{setting}: false}}")
        for column, key, value in _COLUMN.findall(hint):
            overrides = table.setdefault("columns", {})
            overrides[column] = {**overrides.get(column, {}), key: yaml.safe_load(value)}
            done.append(f"columns: {{{column}: {{{key}: {value}}}}}")
        for column in _OUT_OF_KEY.findall(hint):
            if column in table.get("primary_key", ()):
                table["primary_key"] = [c for c in table["primary_key"] if c != column] or None
                table.pop("primary_key") if table["primary_key"] is None else None
                done.append(f"{column} out of primary_key")
    return done


@pytest.mark.parametrize(("case", "warehouse"), CASES)
def test_the_change_a_hint_names_gets_the_load_through(
        case: Case, warehouse: str, tmp_path: Path, pg_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    use_emulator(warehouse, tmp_path, monkeypatch, pg_database)
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    manifest = case.build(tmp_path)
    code, error, hint = _apply(manifest, warehouse)
    assert code == 1 and error and hint, (error, hint)
    document = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    done = _follow(document, hint)
    if "merge key" in error:
        assert not done, f"no setting turns the merge-key check off, yet the hint names one: {hint}"
        return
    assert done, f"the hint names no change to follow: {hint}"
    manifest.write_text(yaml.safe_dump(document), encoding="utf-8")
    code_after, error_after, hint_after = _apply(manifest, warehouse)
    assert code_after == 0, f"following {hint!r} ({done}) did not load: {error_after} {hint_after}"


@pytest.mark.parametrize("warehouse", ["redshift", "snowflake"])
def test_files_repeating_a_merge_key_load_in_separate_applies_as_the_hint_says(
        tmp_path: Path, warehouse: str, pg_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    use_emulator(warehouse, tmp_path, monkeypatch, pg_database)
    body = "  - name: t\n    source: data/\n    mode: merge\n    merge_keys: [id]\n"
    files = {"data/a.parquet": pa.table({"id": pa.array([1, 2], pa.int64()), "v": ["a", "b"]}),
             "data/b.parquet": pa.table({"id": pa.array([1], pa.int64()), "v": ["new"]})}
    manifest = write_manifest(tmp_path, warehouse, body, files)
    code, error, hint = _apply(manifest, warehouse)
    assert code == 1 and "repeat merge key (id)" in error
    assert "load the files that repeat a key in separate applies" in hint
    later = (tmp_path / "data" / "b.parquet").read_bytes()
    (tmp_path / "data" / "b.parquet").unlink()
    assert _apply(manifest, warehouse)[0] == 0
    (tmp_path / "data" / "b.parquet").write_bytes(later)
    assert _apply(manifest, warehouse)[0] == 0
    result = CliRunner().invoke(main, ["query", str(manifest), "select id, v from t order by id", "--format", "csv",
                                       "--target-warehouse", warehouse])
    assert result.output.splitlines()[1:] == ["1,new", "2,b"], result.output


def test_a_table_changed_outside_the_loader_reloads_with_mode_replace_as_the_hint_says(
        tmp_path: Path, pg_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import psycopg

    use_emulator("redshift", tmp_path, monkeypatch, pg_database)
    body = "  - name: t\n    source: data/\n    mode: {}\n"
    files = {"data/a.parquet": pa.table({"id": pa.array([1, 2, 3], pa.int64())})}
    manifest = write_manifest(tmp_path, "redshift", body.format("append"), files)
    assert _apply(manifest, "redshift")[0] == 0
    with psycopg.connect(pg_database) as conn:   # someone deletes a row by hand
        conn.execute("DELETE FROM probe.t WHERE id = 2")
    code, error, hint = _apply(manifest, "redshift")
    assert code == 1 and "holds 2 rows but the ledger recorded 3" in error, error
    assert "reload it from its files with mode: replace on that table, then set the mode back" in hint, hint
    write_manifest(tmp_path, "redshift", body.format("replace"))   # the advice
    assert _apply(manifest, "redshift")[0] == 0
    write_manifest(tmp_path, "redshift", body.format("append"))   # and the mode back
    assert _apply(manifest, "redshift")[:2] == (0, "")
    with psycopg.connect(pg_database) as conn:
        assert conn.execute("SELECT count(*), sum(id) FROM probe.t").fetchone() == (3, 6)
