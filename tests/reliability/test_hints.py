"""Hints must be true: the advice a failed load gives is followed here, and the error changes.

Every bad-input case about a check (NOT NULL, keys, VARCHAR length, merge keys) runs on both
emulators; where its hint names a setting (`checks: {primary_key: false}`), the manifest is changed
as it says and applied again, and the load must then get past that check. A repeated merge key
has no setting that turns its check off, so its hint names none, and its advice (the files that
repeat a key, in separate applies) is followed in its own test.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pytest
import yaml
from badcorpus import Case, cases
from click.testing import CliRunner
from emulatorkit import use_emulator, write_manifest

from manifest_loader.cli import main

# One case per check, on each emulator (each has its own code path: checked while streaming on the
# Redshift emulator, by a query or the table's own constraint on the Snowflake emulator).
_ONE_PER_CHECK = ("not_null_violated", "primary_key_duplicates", "foreign_key_violation", "varchar_characters",
                  "merge_key_repeated")
CASES = [pytest.param(case, warehouse, id=f"{case.name}-{warehouse}") for case in cases()
         if case.name in _ONE_PER_CHECK for warehouse in case.warehouses if case.expected_exit(warehouse) == 1]
_SETTING = re.compile(r"checks: \{(\w+): false\}")


def _apply(manifest: Path, warehouse: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["apply", str(manifest), "--target-warehouse", warehouse])
    lines = result.output.splitlines()
    error = next((line for line in lines if line.startswith("error: ")), "")
    hint = next((line.strip() for line in lines if line.strip().startswith("hint: ")), "")
    return result.exit_code, error, hint


@pytest.mark.parametrize(("case", "warehouse"), CASES)
def test_a_check_setting_named_by_a_hint_gets_the_load_past_that_check(
        case: Case, warehouse: str, tmp_path: Path, pg_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    use_emulator(warehouse, tmp_path, monkeypatch, pg_database)
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    manifest = case.build(tmp_path)
    code, error, hint = _apply(manifest, warehouse)
    assert code == 1 and error and hint, (error, hint)
    settings = _SETTING.findall(hint)
    if "merge key" in error:
        assert not settings, f"no setting turns the merge-key check off, yet the hint names one: {hint}"
        return
    if not settings:
        assert "nullable: true" in hint, hint   # NOT NULL: no setting helps, the table itself refuses NULL
        return
    document = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    for table in document["tables"]:
        table["checks"] = {**table.get("checks", {}), **{setting: False for setting in settings}}
    manifest.write_text(yaml.safe_dump(document), encoding="utf-8")
    code_after, error_after, _ = _apply(manifest, warehouse)
    assert (code_after, error_after) != (code, error), f"following {hint!r} changed nothing: {error_after}"


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
