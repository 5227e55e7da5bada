"""The schema check remembers the last valid version of each manifest: the same document needs no
validator; any other document, or the same one under another schema, is checked."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from manifest_loader import schema_errors, schema_memo
from manifest_loader.errors import ManifestError
from manifest_loader.manifest import load_manifest

MANIFEST = """version: 1
name: m
target: {warehouse: redshift}
tables:
  - {name: t, source: data/t.parquet, primary_key: [id]}
"""


@pytest.fixture
def manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MANIFEST_LOADER_STATE_DIR", str(tmp_path / "state"))
    path = tmp_path / "m.yaml"
    path.write_text(MANIFEST)
    return path


def no_validator(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(data: Any) -> bool:
        raise AssertionError("the validator ran")

    monkeypatch.setattr(schema_errors, "fast_valid", refuse)


def test_the_same_valid_manifest_needs_no_validator(manifest: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_manifest(manifest).tables[0].name == "t"
    assert len(list((manifest.parent / "state" / "valid").iterdir())) == 1
    no_validator(monkeypatch)
    assert load_manifest(manifest).tables[0].name == "t"


def test_an_edited_manifest_is_checked_again(manifest: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    load_manifest(manifest)
    manifest.write_text(MANIFEST.replace("primary_key: [id]", "primary_key: id"))   # not a list
    with pytest.raises(ManifestError, match="primary_key"):
        load_manifest(manifest)
    manifest.write_text(MANIFEST)
    no_validator(monkeypatch)
    load_manifest(manifest)   # the valid version is still the one remembered
    # A value of another type in the same place is another document (1.0 is not 1), checked again.
    manifest.write_text(MANIFEST.replace("version: 1", "version: 1.0"))
    checked = []
    monkeypatch.setattr(schema_errors, "fast_valid", lambda data: checked.append(data) or True)
    load_manifest(manifest)
    assert len(checked) == 1


def test_another_schema_checks_again(manifest: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    load_manifest(manifest)
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    original = schema_memo.resource_dir("schemas") / "manifest.schema.json"
    shutil.copy(original, schemas / "manifest.schema.json")
    (schemas / "manifest.schema.json").write_text(original.read_text() + "\n")
    monkeypatch.setattr(schema_memo, "resource_dir", lambda name: schemas)
    checked = []
    monkeypatch.setattr(schema_errors, "fast_valid", lambda data: checked.append(data) or True)
    load_manifest(manifest)
    assert len(checked) == 1


@pytest.mark.parametrize("damage", [b"", b"\xff\xfe", b"0" * 64, b"x" * 100000])
def test_a_damaged_memo_is_checked_again(manifest: Path, monkeypatch: pytest.MonkeyPatch, damage: bytes) -> None:
    load_manifest(manifest)
    (memo,) = (manifest.parent / "state" / "valid").iterdir()
    memo.write_bytes(damage)
    checked = []
    monkeypatch.setattr(schema_errors, "fast_valid", lambda data: checked.append(data) or True)
    load_manifest(manifest)
    assert len(checked) == 1
    assert memo.read_bytes() != damage   # remembered again


def test_an_unwritable_state_folder_only_costs_the_check(manifest: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "file").write_text("where the state folder would be")
    monkeypatch.setenv("MANIFEST_LOADER_STATE_DIR", str(tmp_path / "file"))
    assert load_manifest(manifest).tables[0].name == "t"
    assert load_manifest(manifest).tables[0].name == "t"
