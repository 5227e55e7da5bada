"""A manifest's text parsed once is read back from the state folder (parse_memo.py) exactly as the
parser would give it; any other text, damaged memo or text that does not parse goes to the parser."""

from __future__ import annotations

import marshal
from pathlib import Path

import pytest

from manifest_loader import parse_memo, yamlpos
from manifest_loader.errors import ManifestError
from manifest_loader.manifest import load_manifest, parse_manifest
from manifest_loader.yamlpos import load_positioned

ROOT = Path(__file__).resolve().parents[1]
CORPUS = sorted((ROOT / "tests" / "manifests" / "valid").glob("*.yaml")) + [ROOT / "manifests" / "ecommerce.yaml"]


def _refuse_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(text: str, display: str) -> None:
        raise AssertionError("the parser ran")

    monkeypatch.setattr(yamlpos, "load_positioned", refuse)   # parse_memo imports it when it parses


@pytest.mark.parametrize("manifest", CORPUS, ids=[m.stem for m in CORPUS])
def test_a_parse_read_back_is_the_parsers(manifest: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = manifest.read_text(encoding="utf-8")
    try:
        expected = load_positioned(text, "m.yaml")
    except ManifestError:
        pytest.skip("does not parse: never kept (test_text_that_does_not_parse_is_not_kept)")
    first = parse_memo.load_positioned_memo(text, "m.yaml", tmp_path, manifest)
    assert len(list(tmp_path.iterdir())) == 1
    _refuse_parsing(monkeypatch)
    again = parse_memo.load_positioned_memo(text, "shown.yaml", tmp_path, manifest)
    for doc in (first, again):
        assert doc.data == expected.data and repr(doc.data) == repr(expected.data)   # 1 and 1.0 and True differ
        assert doc.value_positions == expected.value_positions
        assert doc.key_positions == expected.key_positions
    assert again.file == "shown.yaml"


def test_other_text_damage_and_other_code_go_to_the_parser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    owner = tmp_path / "m.yaml"
    parse_memo.load_positioned_memo("version: 1\nname: a\n", "m.yaml", tmp_path / "memo", owner)
    changed = parse_memo.load_positioned_memo("version: 1\nname: b\n", "m.yaml", tmp_path / "memo", owner)
    assert changed.data == {"version": 1, "name": "b"}
    (memo,) = (tmp_path / "memo").iterdir()
    memo.write_bytes(memo.read_bytes()[:-7])   # cut short
    assert parse_memo.load_positioned_memo("version: 1\nname: b\n", "m.yaml", tmp_path / "memo",
                                           owner).data["name"] == "b"
    monkeypatch.setattr(parse_memo, "_code_digest", lambda: b"another yamlpos.py")
    calls: list[str] = []

    def counting(text: str, display: str) -> object:
        calls.append(text)
        return load_positioned(text, display)

    monkeypatch.setattr(yamlpos, "load_positioned", counting)
    assert parse_memo.load_positioned_memo("version: 1\nname: b\n", "m.yaml", tmp_path / "memo",
                                           owner).data["name"] == "b"
    assert calls == ["version: 1\nname: b\n"]


def test_text_that_does_not_parse_is_not_kept(tmp_path: Path) -> None:
    for _ in range(2):
        with pytest.raises(ManifestError) as caught:
            parse_memo.load_positioned_memo("tables: [\n", "m.yaml", tmp_path / "memo", tmp_path / "m.yaml")
        assert "m.yaml:2:1" in str(caught.value) or "YAML syntax error" in str(caught.value)
    assert not (tmp_path / "memo").exists()


def test_a_manifest_read_again_is_not_parsed_and_its_env_is_read_afresh(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MANIFEST_LOADER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("SCHEMA_NAME", "first")
    path = tmp_path / "m.yaml"
    path.write_text("version: 1\nname: m\ntarget: {warehouse: redshift, schema: '${SCHEMA_NAME}'}\n"
                    "tables:\n  - {name: t, source: data/t.parquet}\n")
    assert load_manifest(path).schema == "first"
    _refuse_parsing(monkeypatch)
    monkeypatch.setenv("SCHEMA_NAME", "second")
    assert load_manifest(path).schema == "second"   # the text before ${VAR}s is what is kept
    assert b"second" not in b"".join(p.read_bytes() for p in (tmp_path / "state" / "parsed").iterdir())


def test_posted_text_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MANIFEST_LOADER_STATE_DIR", str(tmp_path / "state"))
    text = b"version: 1\nname: m\ntarget: {warehouse: redshift}\ntables:\n  - {name: t, source: data/t.parquet}\n"
    parse_manifest(text, tmp_path / "posted.yaml", "posted.yaml", caches=False)
    assert not (tmp_path / "state").exists()


def test_positions_are_read_back_when_asked_and_a_damaged_copy_parses_again(tmp_path: Path) -> None:
    text = "version: 1\nname: a\ntables:\n  - {name: t, source: data/t.parquet}\n"
    expected = load_positioned(text, "m.yaml")
    parse_memo.load_positioned_memo(text, "m.yaml", tmp_path / "memo", tmp_path / "m.yaml")
    (memo,) = (tmp_path / "memo").iterdir()
    key, body = memo.read_bytes()[:64], memo.read_bytes()[64:]   # the key is a SHA-256 in hex
    data, positions = marshal.loads(body)
    assert isinstance(positions, bytes)   # kept apart from the data, read only when asked
    memo.write_bytes(key + marshal.dumps((data, positions[:-9])))   # the positions cut short
    doc = parse_memo.load_positioned_memo(text, "m.yaml", tmp_path / "memo", tmp_path / "m.yaml")
    assert doc.data == expected.data
    assert doc.value_positions == expected.value_positions and doc.key_positions == expected.key_positions
    assert doc.problem(("tables", 0, "source"), "x").line == 4
