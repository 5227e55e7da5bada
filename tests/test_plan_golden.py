"""Golden plans: the full `plan` text per target for every example manifest.

Regenerate with `python -m pytest tests/test_plan_golden.py --update-golden`; never edit the
files by hand. Every rendered statement must also parse with sqlglot in its dialect.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
import sqlglot
from click.testing import CliRunner
from sqlglot import exp

from manifest_loader.cli import main
from manifest_loader.commands import make_plan
from manifest_loader.plan import _json_pieces, plan_to_dict
from manifest_loader.state import state_dir
from manifest_loader.target import Target

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
EXAMPLES = sorted(p.relative_to(ROOT) for p in (ROOT / "manifests").glob("*.yaml"))

# Secrets here are fake but recognisable: the test checks they never reach the plan.
TARGETS = {
    "postgres": ("redshift", {"DW_SIMULATOR_REDSHIFT_URL": "postgresql://loader:pg-Secret-42@127.0.0.1:5439/dev"}),
    "redshift": ("redshift", {"DW_SIMULATOR_REDSHIFT_URL":
                              "redshift+redshift_connector://loader:rs-Secret-42@cluster.example.com:5439/dev"}),
    "snowflake": ("snowflake", {"DW_SIMULATOR_SNOWFLAKE_URL":
                                "snowflake://loader:sf-Secret-42@acme-xy12345/analytics?warehouse=load_wh"}),
    "fakesnow": ("snowflake", {}),
}
SQLGLOT_DIALECT = {"postgres": "postgres", "redshift": "redshift", "snowflake": "snowflake", "fakesnow": "snowflake"}
STATE_CACHES = Target.__dict__["cache_dir"]
_PLACEHOLDER = re.compile(r"%\(\w+\)s|\$\d+|(?<![:\w]):\w+")


def _env(extra: dict[str, str]) -> dict[str, str]:
    return {"DW_SIMULATOR_STAGE_BUCKET": "s3://local/dw-simulator/staging",
            "MANIFEST_LOADER_STATE_DIR": "/var/lib/manifest-loader-golden", "AWS_ACCESS_KEY_ID": "AKIAGOLDEN",
            "AWS_SECRET_ACCESS_KEY": "aws-Secret-42", **extra}


@pytest.fixture
def in_repo(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(ROOT)
    # The state dir above is a name the plans print; the caches plan keeps go to the test's folder.
    monkeypatch.setattr(Target, "cache_dir", property(lambda _: tmp_path / "cache"))
    monkeypatch.setattr("manifest_loader.manifest.state_dir", lambda env, start: tmp_path / "cache")
    for name in ("DW_SIMULATOR_REDSHIFT_URL", "DW_SIMULATOR_SNOWFLAKE_URL", "DW_SIMULATOR_STAGE_BUCKET",
                 "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("target", sorted(TARGETS))
@pytest.mark.parametrize("manifest", EXAMPLES, ids=str)
def test_plan_matches_golden(manifest: Path, target: str, update_golden: bool, in_repo: None,
                             tmp_path: Path) -> None:
    warehouse, extra = TARGETS[target]
    # --offline: the golden text must not depend on what listens on the URLs' ports here.
    result = CliRunner().invoke(main, ["plan", str(manifest), "--target-warehouse", warehouse, "--offline"],
                                env=_env(extra))
    assert result.exit_code == 0, result.output
    text = result.output
    assert "Secret-42" not in text
    golden = GOLDEN / target / f"{manifest.stem}.txt"
    if update_golden:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert golden.exists(), f"missing {golden}; run pytest --update-golden"
    assert text == golden.read_text(encoding="utf-8")
    # Planned again, the footers and statements come from the caches the first plan kept: the same text.
    again = CliRunner().invoke(main, ["plan", str(manifest), "--target-warehouse", warehouse, "--offline"],
                               env=_env(extra))
    assert any((tmp_path / "cache" / "rendered").iterdir())
    assert again.output == text


# Statements sqlglot cannot parse (it reads no CREATE FUNCTION), and the test that runs them instead.
RUN_NOT_PARSED = {"postgres/create_change_marker.sql.j2": "tests/test_outside_changes.py"}


@pytest.mark.parametrize("target", sorted(TARGETS))
@pytest.mark.parametrize("manifest", EXAMPLES, ids=str)
def test_every_statement_parses_in_its_dialect(manifest: Path, target: str, in_repo: None) -> None:
    warehouse, extra = TARGETS[target]
    plan, _ = make_plan(manifest, warehouse, env=_env(extra))
    assert plan.dialect == target
    for step in plan.steps:
        if step.template in RUN_NOT_PARSED:
            continue
        sql = _PLACEHOLDER.sub("'value'", step.sql)
        parsed = sqlglot.parse_one(sql, read=SQLGLOT_DIALECT[target])
        # sqlglot falls back to an opaque Command for text it does not understand.
        assert not isinstance(parsed, exp.Command), f"step {step.number} did not parse:\n{step.sql}"


@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_plan_output_is_byte_identical(fmt: str, in_repo: None) -> None:
    args = ["plan", "manifests/ecommerce.yaml", "--format", fmt, "--offline"]
    first = CliRunner().invoke(main, args, env=_env({}))
    second = CliRunner().invoke(main, args, env=_env({}))
    assert first.exit_code == 0, first.output
    assert first.output == second.output


def test_plan_writes_nothing_but_its_caches(tmp_path: Path, in_repo: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Target, "cache_dir", STATE_CACHES)   # in the state dir, as in use
    monkeypatch.setattr("manifest_loader.manifest.state_dir", state_dir)
    state = tmp_path / "state"
    result = CliRunner().invoke(main, ["plan", "manifests/ecommerce.yaml", "--target-warehouse", "snowflake"],
                                env={**_env({}), "MANIFEST_LOADER_STATE_DIR": str(state),
                                     "DW_SIMULATOR_STAGE_BUCKET": ""})
    assert result.exit_code == 0, result.output
    # No stage, no database, no run record: only what it read (footers), parsed, rendered and found
    # valid, for the next plan.
    assert sorted(p.name for p in state.iterdir()) == ["footers", "parsed", "rendered", "valid"]


def test_the_fingerprint_is_the_digest_of_the_plans_sorted_json(in_repo: None) -> None:
    """plan.py hashes the plan's JSON in pieces (never all of it at once); they join to exactly
    json.dumps of the whole, on a real plan and across the pieces' item boundaries."""
    plan, _ = make_plan(EXAMPLES[0], "redshift", env=_env({}))
    whole = json.dumps(plan_to_dict(replace(plan, fingerprint="")), sort_keys=True, default=str)
    assert plan.fingerprint == "sha256:" + hashlib.sha256(whole.encode()).hexdigest()
    for items in (0, 1, 99, 100, 101, 250):
        body = {"steps": [{"n": n, "v": [Decimal(n), "é\u2028", None]} for n in range(items)], "a": [],
                "b": {"z": 1.5, "y": "ü"}, "c": "text"}
        assert "".join(_json_pieces(body)) == json.dumps(body, sort_keys=True, default=str)
