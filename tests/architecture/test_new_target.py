"""docs/architecture.md's recipe for a new target, followed in a test: one registry record, one
dialect class, one template folder, and `plan` uses all three."""

from __future__ import annotations

from pathlib import Path

import pytest

from manifest_loader import registry
from manifest_loader.commands import make_plan, validate
from manifest_loader.dialects import DIALECTS
from manifest_loader.dialects.redshift import Redshift

ROOT = Path(__file__).resolve().parents[2]


class Serverless(Redshift):
    """A made-up Redshift Serverless dialect: Redshift's SQL and templates, one template of its own."""

    name = "serverless"
    parent = Redshift
    title = "Redshift Serverless (test)"


SERVERLESS = registry.TargetKind(
    name="redshift-serverless", warehouse="redshift", dialect_name="serverless", url_schemes=("serverless",),
    warehouse_class="manifest_loader.warehouses.sqlalchemy_warehouse:SqlAlchemyWarehouse",
    copy_manifest_file=True, plan_notes={"copy": "serverless: COPY runs on the workgroup's compute"},
)


@pytest.fixture
def serverless(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The target registered for this test only; returns its template folder's root."""
    monkeypatch.setitem(registry.TARGETS, SERVERLESS.name, SERVERLESS)
    monkeypatch.setitem(DIALECTS, Serverless.name, Serverless)
    folder = tmp_path / "templates" / "serverless"
    folder.mkdir(parents=True)
    (folder / "create_schema.sql.j2").write_text("CREATE SCHEMA IF NOT EXISTS {{ schema | ident }} -- serverless\n")
    return tmp_path / "templates"


def test_a_new_target_is_one_record_one_dialect_and_one_template_folder(serverless: Path) -> None:
    env = {"DW_SIMULATOR_REDSHIFT_URL": "serverless://loader@workgroup.example.com:5439/dev",
           "DW_SIMULATOR_STAGE_BUCKET": "s3://local/stage", "MANIFEST_LOADER_STATE_DIR": str(serverless.parent)}
    manifest = ROOT / "manifests" / "ecommerce.yaml"
    assert validate(manifest, env=env).tables     # the manifest check accepts the new scheme
    plan, target = make_plan(manifest, templates_dir=serverless, env=env)
    assert target.kind is SERVERLESS and plan.dialect == "serverless" and plan.dialect_title == Serverless.title
    templates = [step.template for step in plan.steps]
    assert templates[0] == f"{serverless}/serverless/create_schema.sql.j2"   # its own folder first
    assert plan.steps[0].sql.endswith("-- serverless")
    assert "redshift/copy.sql.j2" in templates                              # then its parent's
    copy = next(step for step in plan.steps if step.action == "copy")
    assert copy.notes[0] == "serverless: COPY runs on the workgroup's compute"
    assert "FORMAT AS PARQUET" in copy.sql                                   # Redshift's COPY, inherited


def test_without_the_record_its_url_is_refused(tmp_path: Path) -> None:
    from manifest_loader.errors import UsageError

    env = {"DW_SIMULATOR_REDSHIFT_URL": "serverless://loader@workgroup.example.com:5439/dev",
           "MANIFEST_LOADER_STATE_DIR": str(tmp_path)}
    with pytest.raises(UsageError, match="not a redshift URL"):
        make_plan(ROOT / "manifests" / "ecommerce.yaml", env=env)
