"""The manifest corpus: every valid manifest validates; every invalid one fails with exactly its messages.

tests/manifests/valid/*.yaml must exit 0. tests/manifests/invalid/<case>.yaml must exit 2 and print
exactly the lines of <case>.expected on stderr (`file:line:col: $.path: message`, in file order).
An optional <case>.args (JSON) sets the environment and the target warehouse:
``{"env": {"NAME": "value", "UNSET_ME": null}, "warehouse": "snowflake"}``; null unsets a variable.

The Parquet files the manifests read are made by tests/manifests/make_fixtures.py. After a deliberate
message change, rewrite the .expected files with `pytest tests/test_manifest_corpus.py --update-golden`
and review the diff line by line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from jsonschema import Draft202012Validator

from manifest_loader.cli import main
from manifest_loader.commands import make_plan, validate
from manifest_loader.errors import ManifestError
from manifest_loader.manifest import load_manifest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "manifests"
VALID = sorted((CORPUS / "valid").glob("*.yaml"))
INVALID = sorted((CORPUS / "invalid").glob("*.yaml"))
# Variables that would change the dialect or the stage a manifest resolves against.
_AMBIENT = ("DW_SIMULATOR_REDSHIFT_URL", "DW_SIMULATOR_SNOWFLAKE_URL", "DW_SIMULATOR_STAGE_BUCKET",
            "MANIFEST_LOADER_STATE_DIR")


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _case_args(manifest: Path) -> dict[str, Any]:
    args_file = manifest.with_suffix(".args")
    args = json.loads(args_file.read_text(encoding="utf-8")) if args_file.exists() else {}
    unknown = set(args) - {"env", "warehouse"}
    assert not unknown, f"{args_file}: unknown keys {sorted(unknown)}"
    return args


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Run from the repo root (messages show paths relative to it) with no ambient target settings."""
    monkeypatch.chdir(ROOT)
    for name in list(os.environ):
        if name in _AMBIENT or name.startswith("ML_CORPUS_"):
            monkeypatch.delenv(name)
    return monkeypatch


def _run_validate(manifest: Path, monkeypatch: pytest.MonkeyPatch) -> Result:
    args = _case_args(manifest)
    for name, value in args.get("env", {}).items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    command = ["validate", _rel(manifest)]
    if "warehouse" in args:
        command += ["--target-warehouse", args["warehouse"]]
    return CliRunner().invoke(main, command)


def test_corpus_is_big_enough() -> None:
    assert len(VALID) >= 6
    assert len(INVALID) >= 30
    for manifest in INVALID:
        assert manifest.with_suffix(".expected").exists(), f"{_rel(manifest)} has no .expected file"
    for path in (CORPUS / "valid").glob("*.expected"):
        pytest.fail(f"{_rel(path)}: valid manifests have no expected errors")


@pytest.mark.parametrize("manifest", VALID, ids=lambda p: p.stem)
def test_valid_manifest_validates(manifest: Path, clean_env: pytest.MonkeyPatch) -> None:
    result = _run_validate(manifest, clean_env)
    assert result.exit_code == 0, result.output + result.stderr
    assert result.stderr == ""
    assert result.stdout.startswith(f"{_rel(manifest)}: valid (")


@pytest.mark.parametrize("manifest", INVALID, ids=lambda p: p.stem)
def test_invalid_manifest_reports_exactly(manifest: Path, clean_env: pytest.MonkeyPatch,
                                          update_golden: bool) -> None:
    result = _run_validate(manifest, clean_env)
    assert "Traceback" not in result.output + result.stderr
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    assert result.exit_code == 2, result.output + result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    expected_file = manifest.with_suffix(".expected")
    if update_golden:
        expected_file.write_text(result.stderr, encoding="utf-8")
    expected = expected_file.read_text(encoding="utf-8").splitlines()
    assert lines == expected
    # One line per problem, each located in this file and in file order.
    prefix = f"{_rel(manifest)}:"
    assert lines and all(line.startswith(prefix) for line in lines)
    positions = [tuple(int(n) for n in line[len(prefix):].split(":", 2)[:2]) for line in lines]
    assert positions == sorted(positions)


def test_column_order_matters_only_where_copy_reads_by_position(clean_env: pytest.MonkeyPatch) -> None:
    # Snowflake's COPY INTO matches columns by name: the files that Redshift would misload are fine there.
    manifest = _rel(CORPUS / "invalid" / "column_order.yaml")
    result = CliRunner().invoke(main, ["validate", manifest, "--target-warehouse", "snowflake"])
    assert result.exit_code == 0, result.output
    plan = CliRunner().invoke(main, ["plan", manifest, "--target-warehouse", "snowflake", "--format", "json"])
    assert plan.exit_code == 0 and "MATCH_BY_COLUMN_NAME" in plan.output


def test_three_mistakes_are_three_lines(clean_env: pytest.MonkeyPatch) -> None:
    result = _run_validate(CORPUS / "invalid" / "three_mistakes.yaml", clean_env)
    assert len(result.stderr.splitlines()) == 3


def test_validate_function_raises_the_same_problems(clean_env: pytest.MonkeyPatch) -> None:
    manifest = CORPUS / "invalid" / "schema_drift.yaml"
    with pytest.raises(ManifestError) as caught:
        validate(_rel(manifest), env={})
    assert [str(p) for p in caught.value.problems] == \
        manifest.with_suffix(".expected").read_text(encoding="utf-8").splitlines()


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "manifest.yaml"
    path.write_text(text, encoding="utf-8")
    return path


_MINIMAL = """\
version: 1
name: literal
description: {description}
target: {{warehouse: redshift}}
tables:
  - {{name: t, source: data.parquet}}
"""


def test_double_dollar_is_a_literal_reference(tmp_path: Path) -> None:
    path = _write(tmp_path, _MINIMAL.format(description='"$${HOME} and $${NOT_A_VAR:-x} and $$ and $5"'))
    manifest = load_manifest(path, env={"HOME": "/home/someone"})
    assert manifest.description == "${HOME} and ${NOT_A_VAR:-x} and $$ and $5"


def test_default_applies_only_when_unset(tmp_path: Path) -> None:
    path = _write(tmp_path, _MINIMAL.format(description='"${ML_CORPUS_X:-fallback}/${ML_CORPUS_Y:-}"'))
    assert load_manifest(path, env={}).description == "fallback/"
    assert load_manifest(path, env={"ML_CORPUS_X": "set", "ML_CORPUS_Y": "y"}).description == "set/y"
    assert load_manifest(path, env={"ML_CORPUS_X": ""}).description == "/"


def test_template_syntax_in_a_description_stays_literal(tmp_path: Path) -> None:
    text = "{{ 7*7 }} {% raw %}{{ config }}{% endraw %} ${ML_CORPUS_T:-{{ 6*6 }}}"
    path = _write(tmp_path, _MINIMAL.format(description=json.dumps(text)))
    manifest = load_manifest(path, env={})
    assert manifest.description == "{{ 7*7 }} {% raw %}{{ config }}{% endraw %} {{ 6*6 }}"


def test_valid_corpus_description_keeps_literals(clean_env: pytest.MonkeyPatch) -> None:
    manifest = load_manifest(_rel(CORPUS / "valid" / "interpolation.yaml"),
                             env={"ML_CORPUS_IAM_ROLE": "arn:aws:iam::123456789012:role/loader"})
    assert manifest.description == "Costs ${HOME} literally, {{ 7*7 }} and {% if x %} stay text,  is empty."
    assert manifest.name == "interpolation"
    assert manifest.schema == "staging_v1"
    assert manifest.tables[0].name == "orders"


def test_template_syntax_in_a_table_name_reaches_sql_as_text(tmp_path: Path,
                                                             clean_env: pytest.MonkeyPatch) -> None:
    """Names are data for the templates, never template source: no 49 where {{ 7*7 }} was written."""
    (tmp_path / "data.parquet").write_bytes((CORPUS / "valid" / "data" / "orders.parquet").read_bytes())
    path = tmp_path / "manifest.yaml"
    path.write_text(_MINIMAL.format(description="x").replace("name: t,", "name: '{{ 7*7 }}',"), encoding="utf-8")
    plan, _ = make_plan(path, env={})
    create = next(step.sql for step in plan.steps if "CREATE TABLE" in step.sql and "order_id" in step.sql)
    assert '"{{ 7*7 }}"' in create
    assert '"49"' not in create


def test_schema_command_prints_a_valid_draft_2020_12_schema() -> None:
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0, result.output
    schema = json.loads(result.stdout)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert set(schema["required"]) == {"version", "name", "target", "tables"}
    # Editors show these as help while a manifest is written: every key a user can type has one.
    undescribed: list[str] = []

    def walk(node: object, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.get("properties", {}).items():
                if isinstance(value, dict) and not value.get("description"):
                    undescribed.append(f"{path}.{key}")
            for key, value in node.items():
                walk(value, f"{path}.{key}")
        elif isinstance(node, list):
            for item in node:
                walk(item, path)

    walk(schema, "$")
    assert undescribed == []


def _schema_inputs() -> list[tuple[str, Any]]:
    """What the schema is asked about: each corpus manifest after interpolation, and each valid one
    with one value or key made wrong in every way the schema has a rule for."""
    from manifest_loader.interpolate import interpolate_document
    from manifest_loader.yamlpos import load_positioned

    inputs: list[tuple[str, Any]] = []
    # alias_bomb expands to 100,000 values (slow to build, and the depth limit refuses it first).
    sources = [m for m in (*VALID, *INVALID, ROOT / "manifests" / "ecommerce.yaml") if m.stem != "alias_bomb"]
    for manifest in sources:
        env = {k: v for k, v in _case_args(manifest).get("env", {}).items() if v is not None}
        try:
            doc = load_positioned(manifest.read_text(encoding="utf-8"), _rel(manifest))
        except (ManifestError, UnicodeDecodeError):
            continue   # not YAML or not UTF-8: the schema never sees it
        data, _, _ = interpolate_document(doc, env)
        inputs.append((_rel(manifest), data))
    wrong: list[Any] = [None, True, 1.5, -1, "", "x\n", [], ["x", "x"], {"x": 1}, 1.0, 2**70, float("nan")]

    def variants(node: Any) -> Any:
        if isinstance(node, dict):
            yield {**node, "unknown_key": 1}
            for key, value in node.items():
                yield {k: v for k, v in node.items() if k != key}
                for changed in [*wrong, *variants(value)]:
                    yield {**node, key: changed}
        elif isinstance(node, list):
            for i, value in enumerate(node):
                for changed in [*wrong[:5], *variants(value)]:
                    yield [*node[:i], changed, *node[i + 1:]]

    example = _rel(ROOT / "manifests" / "ecommerce.yaml")   # every section of the schema, every kind of value
    data = next(d for name, d in inputs if name == example)
    inputs += [(f"{example} variant {i}", v) for i, v in enumerate(variants(data))]
    return inputs


def test_fast_schema_check_agrees_with_jsonschema() -> None:
    # Every command takes jsonschema_rs's "valid" without asking jsonschema (schema_errors.py): it must
    # never call valid what jsonschema rejects. Its "not valid" is checked again by jsonschema, which
    # then decides: the one difference seen is a pattern's `$`, which Python's re also matches before
    # a final newline ("bigint\n"), so those values still go through jsonschema, as before.
    from manifest_loader.schema_errors import _validated_schema, fast_valid

    validator = Draft202012Validator(_validated_schema())
    inputs = _schema_inputs()
    assert len(inputs) > 500
    agreed = 0
    for name, data in inputs:
        valid = validator.is_valid(data)
        fast = fast_valid(data)
        assert valid or not fast, f"{name}: jsonschema_rs says valid, jsonschema does not"
        assert fast or not valid or "\\n" in json.dumps(data), f"{name}: only jsonschema says valid"
        agreed += fast == valid
    assert agreed == len(inputs) or agreed > 0.95 * len(inputs)


def test_a_valid_manifest_is_read_without_jsonschema() -> None:
    code = ("import sys; from manifest_loader.manifest import load_manifest; "
            "load_manifest('manifests/ecommerce.yaml', {}); print('jsonschema' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
