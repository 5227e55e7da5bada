"""A saved plan is exact: `plan --out` records the ledger it was made against, and `apply --plan`
runs exactly its steps or refuses, naming what changed (manifest, file, target, template, ledger).

On the embedded Snowflake emulator (its database on disk), so these tests are `online`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result
from loadkit import ROOT, count

from manifest_loader.cli import main
from manifest_loader.query import run_query

pytestmark = pytest.mark.online


def _run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, [*args], env=env)


def _plan_out(manifest: Path, saved: Path, *extra: str) -> dict[str, object]:
    result = _run("plan", str(manifest), "--target-warehouse", "snowflake", "--out", str(saved), *extra)
    assert result.exit_code == 0, result.output
    plan: dict[str, object] = json.loads(saved.read_text(encoding="utf-8"))
    return plan


def _apply(manifest: Path, *extra: str, env: dict[str, str] | None = None) -> Result:
    return _run("apply", str(manifest), "--target-warehouse", "snowflake", "--no-progress", *extra, env=env)


def _new_orders_file(manifest: Path) -> Path:
    """A third orders file: ten orders of part-0 with another status (a merge updates them)."""
    folder = manifest.parent / "data" / "ecommerce" / "orders"
    table = pq.read_table(folder / "part-0.parquet").slice(0, 10)
    status = table.schema.get_field_index("status")
    table = table.set_column(status, "status", pc.cast(pc.binary_join_element_wise(
        table["status"], "-again", ""), table.schema.field("status").type))
    path = folder / "part-2.parquet"
    pq.write_table(table, path)
    return path


def test_a_saved_plan_holds_the_ledger_and_applies_exactly_its_steps(workspace: Path, tmp_path: Path) -> None:
    assert _apply(workspace).exit_code == 0
    orders_before = count(workspace, "orders", "snowflake")
    _new_orders_file(workspace)
    saved = tmp_path / "plan.json"
    plan = _plan_out(workspace, saved)
    ledger = plan["ledger"]
    assert isinstance(ledger, dict)
    assert len(ledger["orders"]["held"]) == 2 and len(ledger["orders"]["loads"]) == 1   # only the new file
    copies = [s for s in plan["steps"] if s["action"] == "copy"]   # type: ignore[attr-defined]
    orders_copy = next(s for s in copies if s["table"] == "orders")
    assert orders_copy["sql"].count(".parquet") == 1                       # COPY names one staged object
    # replace tables reload their files whatever the ledger holds; the plan says which ones
    assert ledger["customers"]["loads"] == ledger["customers"]["held"] and ledger["customers"]["held"]
    applied = _apply(workspace, "--plan", str(saved))
    assert applied.exit_code == 0, applied.output
    _, rows = run_query(workspace, "select count(*) from orders where status like '%-again'", "snowflake")
    assert rows[0][0] == 10 and count(workspace, "orders", "snowflake") == orders_before


def test_a_saved_plan_is_refused_once_another_apply_changed_the_ledger(workspace: Path, tmp_path: Path) -> None:
    assert _apply(workspace).exit_code == 0
    _new_orders_file(workspace)
    saved = tmp_path / "plan.json"
    _plan_out(workspace, saved)
    assert _apply(workspace).exit_code == 0                      # someone else loads the new file first
    stale = _apply(workspace, "--plan", str(saved))
    assert stale.exit_code == 2, stale.output
    assert "the saved plan is stale: the ledger of table orders changed (it held 2 file(s), now 3: 1 loaded" \
        in stale.output
    assert "plan --out` again" in stale.output


def test_a_stale_saved_plan_says_what_changed(workspace: Path, tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(ROOT / "templates" / "default", templates / "default")
    saved = tmp_path / "plan.json"
    _plan_out(workspace, saved, "--templates-dir", str(templates))

    def refused(*extra: str, env: dict[str, str] | None = None) -> str:
        result = _apply(workspace, "--plan", str(saved), "--templates-dir", str(templates), *extra, env=env)
        assert result.exit_code == 2, result.output
        line = next(line for line in result.output.splitlines() if line.startswith("error:"))
        return line

    schema = templates / "default" / "create_schema.sql.j2"
    original = schema.read_text(encoding="utf-8")
    schema.write_text(original.replace("CREATE SCHEMA", "CREATE SCHEMA /* reviewed? */"), encoding="utf-8")
    assert "the saved plan is stale: a template changed: step 1 (" in refused()
    schema.write_text(original, encoding="utf-8")

    other = tmp_path / "elsewhere"
    assert "the saved plan is stale: the target changed (was the Snowflake emulator (fakesnow)" in \
        refused(env={"DW_SIMULATOR_SNOWFLAKE_URL": f"fakesnow://{other}"})

    text = workspace.read_text(encoding="utf-8")
    workspace.write_text(text.replace("description: Customers", "description: All customers"), encoding="utf-8")
    assert f"the saved plan is stale: the manifest {workspace} changed" in refused()
    workspace.write_text(text, encoding="utf-8")

    products = workspace.parent / "data" / "ecommerce" / "products" / "products.parquet"
    pq.write_table(pq.read_table(products).slice(0, 49), products)
    assert "the saved plan is stale: a file of table products changed: " in refused()
    # nothing ran: no run was recorded for the refusals, nothing was created
    assert "no load runs" in _run("status", "ecommerce").output
