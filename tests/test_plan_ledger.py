"""`plan` marks the files of append/merge tables that the target's ledger already holds."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from manifest_loader.apply import apply
from manifest_loader.cli import main

REFUSED_URL = "postgresql://loader@127.0.0.1:1/dev"   # nothing listens on port 1


def add_orders_file(workspace: Path) -> Path:
    """A third orders file with new order ids (orders is a merge table)."""
    folder = workspace.parent / "data" / "ecommerce" / "orders"
    table = pq.read_table(folder / "part-0.parquet")
    ids = table.column("order_id")
    new = folder / "part-2.parquet"
    pq.write_table(table.set_column(0, "order_id", pa.array([i + 100_000 for i in ids.to_pylist()], ids.type)), new)
    return new


@pytest.mark.online   # the embedded Snowflake emulator's database on disk
def test_plan_marks_what_the_ledger_holds_and_apply_loads_only_the_rest(workspace: Path, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    apply(workspace, "snowflake")
    add_orders_file(workspace)

    text = runner.invoke(main, ["plan", str(workspace), "--target-warehouse", "snowflake"])
    assert text.exit_code == 0, text.output
    held = [line for line in text.output.splitlines() if "the ledger holds" in line]
    assert len(held) == 1 and "holds 2 of these; apply loads only the other 1" in held[0]
    assert "orders/part-0.parquet" in held[0] and "orders/part-1.parquet" in held[0] and "part-2" not in held[0]

    saved = tmp_path / "plan.json"
    shown = runner.invoke(main, ["plan", str(workspace), "--target-warehouse", "snowflake", "--format", "json",
                                 "--out", str(saved)])
    tables = {t["name"]: t for t in json.loads(shown.output)["tables"]}
    assert {Path(f["source"]).name: f["in_ledger"] for f in tables["orders"]["files"]} == {
        "part-0.parquet": True, "part-1.parquet": True, "part-2.parquet": False}
    assert all("in_ledger" not in f for f in tables["customers"]["files"])   # replace reloads every file

    # What the ledger holds is not part of the fingerprint: the saved plan still applies.
    applied = runner.invoke(main, ["apply", str(workspace), "--target-warehouse", "snowflake", "--plan", str(saved),
                                   "--json"])
    assert applied.exit_code == 0, applied.output
    final = json.loads(applied.stderr.splitlines()[-1])
    assert {t["table"]: t["files"] for t in final["tables"]}["orders"] == 1

    # A target that cannot be reached: every file listed, and the plan says why nothing is marked.
    monkeypatch.setenv("DW_SIMULATOR_REDSHIFT_URL", REFUSED_URL)
    unread = runner.invoke(main, ["plan", str(workspace)])
    assert unread.exit_code == 0, unread.output
    assert "the ledger was not read, so every file is listed: cannot connect" in unread.output
    assert "the ledger holds" not in unread.output
