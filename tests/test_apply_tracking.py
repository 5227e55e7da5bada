"""Load tracking, drift of existing tables, stage cleanup, progress and concurrency."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from loadkit import ROOT, count

from manifest_loader.apply import apply
from manifest_loader.cli import main
from manifest_loader.errors import UsageError
from manifest_loader.progress import JsonProgress, LogProgress, Progress
from manifest_loader.query import run_query

# Applies to the embedded Snowflake emulator's database on disk.
pytestmark = pytest.mark.online


def _rewrite(path: Path, column: str, values: pa.Array) -> None:
    table = pq.read_table(path)
    index = table.column_names.index(column)
    pq.write_table(table.set_column(index, column, values), path)


@pytest.mark.parametrize("warehouse", ["redshift", "snowflake"])
def test_changed_column_type_is_reported_and_a_replace_table_takes_it(workspace: Path, warehouse: str,
                                                                      pg_database: str,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DW_SIMULATOR_REDSHIFT_URL", pg_database)
    apply(workspace, warehouse)
    products = workspace.parent / "data" / "ecommerce" / "products" / "products.parquet"
    weights = pq.read_table(products).column("weight_kg").to_pylist()
    _rewrite(products, "weight_kg", pa.array([None if w is None else f"{w} kg" for w in weights]))
    messages: list[str] = []

    class Recorder(Progress):
        def event(self, kind: str, **fields: object) -> None:
            if kind == "message":
                messages.append(str(fields["message"]))

    apply(workspace, warehouse, progress=Recorder())   # products is a replace table: created again
    drift = [m for m in messages if "column ecommerce.products.weight_kg: " in m]
    assert drift and "in the warehouse, varchar" in drift[0], messages
    assert count(workspace, "products", warehouse) == 50
    _, rows = run_query(workspace, "select weight_kg from products where weight_kg is not null", warehouse)
    assert all(str(r[0]).endswith(" kg") for r in rows) and rows


def test_status_lists_runs_and_shows_one(workspace: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["apply", str(workspace), "--target-warehouse", "snowflake"]).exit_code == 0
    assert runner.invoke(main, ["apply", str(workspace), "--target-warehouse", "snowflake"]).exit_code == 0
    listing = runner.invoke(main, ["status", "ecommerce", "--json"])
    runs = json.loads(listing.output)
    assert [r["status"] for r in runs] == ["unchanged", "succeeded"]
    assert runs[1]["rows"] == 2274 and runs[1]["warehouse"] == "snowflake"
    detail = runner.invoke(main, ["status", runs[1]["id"]])
    assert "customers" in detail.output and "order_items" in detail.output and "1524 rows" in detail.output
    text = runner.invoke(main, ["status"]).output
    assert "succeeded" in text and "unchanged" in text
    assert runner.invoke(main, ["status", "--target-warehouse", "redshift", "--json"]).output.strip() == "[]"
    # The manifest file, as every other command takes it, means its name.
    by_file = json.loads(runner.invoke(main, ["status", str(workspace), "--json"]).output)
    assert [r["id"] for r in by_file] == [r["id"] for r in runs]
    assert runner.invoke(main, ["status", "other"]).output.startswith("no load runs of 'other' recorded yet\n"
                                                                      "state folder: ")


def test_generation_run_is_a_completed_run_of_the_manifests_experiment(workspace: Path, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from simkit import Simulator

    sim = Simulator(tmp_path / "simulator")
    monkeypatch.setenv("DW_SIMULATOR_TARGET_DB_URL", sim.url)
    data = workspace.parent / "data" / "ecommerce"
    good = sim.record_run("ecommerce", "COMPLETED", data, {})
    failed = sim.record_run("ecommerce", "FAILED", data, {}, error="disk full")
    other = sim.record_run("marketing", "COMPLETED", data, {})
    elsewhere = sim.record_run("ecommerce", "COMPLETED", tmp_path / "elsewhere", {})
    for run, message in [("99", "generation run 99 does not exist; experiment 'ecommerce': its runs are: "),
                         (str(failed), f"generation run {failed} of 'ecommerce' is FAILED, not COMPLETED "
                                       "\\(disk full\\)"),
                         (str(other), f"generation run {other} belongs to experiment 'marketing', not 'ecommerce'"),
                         (str(elsewhere), "table customers reads data/ecommerce/customers/part-0.parquet, which is "
                                          f"not a file of generation run {elsewhere}"),
                         ("gen-7", "'gen-7' is not a generation run id")]:
        with pytest.raises(UsageError, match=message):
            apply(workspace, "snowflake", generation_run=run)
    result = apply(workspace, "snowflake", generation_run=str(good))
    with sqlite3.connect(sim.db) as conn:   # our tables live beside the simulator's
        rows = conn.execute("select generation_run_id, status from load_runs where id = ?", (result.run_id,)).fetchall()
        link = conn.execute("select experiment_name, generation_run_id, run_folder from load_run_generation").fetchall()
        files = conn.execute("select table_name, sum(rows) from load_run_files where run_id = ? group by table_name "
                             "order by table_name", (result.run_id,)).fetchall()
    assert rows == [(str(good), "succeeded")]
    assert link == [("ecommerce", str(good), str(data))]
    assert files == [("customers", 200), ("order_items", 1524), ("orders", 500), ("products", 50)]


def test_stage_cleanup_on_success_removes_staged_objects(workspace: Path, tmp_path: Path) -> None:
    text = workspace.read_text().replace("cleanup: never", "cleanup: on_success")
    workspace.write_text(text)
    apply(workspace, "snowflake")
    staged = list((tmp_path / "state" / "stage").rglob("*.parquet"))
    assert staged == []
    assert count(workspace, "customers", "snowflake") == 200


def test_progress_lines_and_json_events(workspace: Path) -> None:
    import io

    stream = io.StringIO()
    apply(workspace, "snowflake", progress=LogProgress(stream))
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("staging 6 file(s), 59811 bytes")
    assert "loaded order_items: 1524 rows" in "\n".join(lines)
    stream = io.StringIO()
    apply(workspace, "snowflake", force=True, progress=JsonProgress(stream))
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    done = {e["table"]: e["rows"] for e in events if e["event"] == "table_done"}
    assert done == {"customers": 200, "products": 50, "orders": 500, "order_items": 1524}
    # The CLI's --json is --progress json: one event per line.
    result = CliRunner().invoke(main, ["apply", str(workspace), "--target-warehouse", "snowflake", "--force", "--json"])
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert {e["table"]: e["rows"] for e in events if e["event"] == "table_done"} == done


def test_concurrent_applies_serialize_on_the_redshift_emulator(workspace: Path, pg_database: str,
                                                               tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DW_SIMULATOR_REDSHIFT_URL", pg_database)
    env = {**os.environ, "DW_SIMULATOR_REDSHIFT_URL": pg_database, "PYTHONPATH": str(ROOT),
           "MANIFEST_LOADER_STATE_DIR": str(tmp_path / "state")}
    command = [sys.executable, "-m", "manifest_loader.cli", "apply", str(workspace), "--progress", "log"]
    processes = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(4)]
    outputs = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0, 0], outputs
    assert sum("Loaded 'ecommerce'" in out for out, _ in outputs) >= 1
    for table, rows in {"customers": 200, "orders": 500, "order_items": 1524}.items():
        assert count(workspace, table, "redshift") == rows
    import psycopg

    with psycopg.connect(pg_database) as conn:
        entries = conn.execute("select count(*), count(distinct (table_name, content_hash)) "
                               "from ecommerce._manifest_loader_ledger").fetchone()
    assert entries == (6, 6)


def test_stage_gc_lists_then_removes_only_unreferenced_objects(workspace: Path, tmp_path: Path) -> None:
    apply(workspace, "snowflake")
    stage = tmp_path / "state" / "stage" / "ecommerce"
    stray = stage / "customers" / ("0" * 64 + ".parquet")
    stray.write_bytes(b"old")
    runner = CliRunner()
    listed = runner.invoke(main, ["stage", "gc", str(workspace), "--target-warehouse", "snowflake"])
    assert listed.exit_code == 0, listed.output
    assert stray.as_uri() in listed.output and "1 object(s) no ledger references" in listed.output
    assert "would remove them" in listed.output
    assert stray.exists()
    removed = runner.invoke(main, ["stage", "gc", str(workspace), "--target-warehouse", "snowflake", "--delete"])
    assert "removed 1" in removed.output
    assert not stray.exists()
    assert len(list(stage.rglob("*.parquet"))) == 6
    again = runner.invoke(main, ["stage", "gc", str(workspace), "--target-warehouse", "snowflake"])
    assert again.output == ("no unreferenced objects: the ledgers read (snowflake (none) schema ecommerce) "
                            "reference every staged object\n")
    # The manifest's own target is redshift: without its URL, gc (like apply) uses the managed emulator,
    # whose ledger is empty, and still keeps what the Snowflake ledger references.
    no_url = runner.invoke(main, ["stage", "gc", str(workspace)])
    assert no_url.exit_code == 0, no_url.output
    assert "Redshift emulator: PostgreSQL" in no_url.output and "started at" in no_url.output
    assert no_url.output.endswith("no unreferenced objects: the ledgers read (redshift (managed local "
                                  "PostgreSQL) schema ecommerce; snowflake (none) schema ecommerce) reference every "
                                  "staged object\n")


def test_stage_gc_keeps_what_the_other_warehouses_ledger_references(workspace: Path, tmp_path: Path,
                                                                    pg_database: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """One manifest loaded into both emulators shares its staged objects: gc for one target must keep
    what the other's ledger still references, and refuse to delete while a known ledger cannot be read."""
    monkeypatch.setenv("DW_SIMULATOR_REDSHIFT_URL", pg_database)
    apply(workspace, "redshift")
    apply(workspace, "snowflake")
    products = workspace.parent / "data" / "ecommerce" / "products" / "products.parquet"
    weights = pq.read_table(products).column("weight_kg").to_pylist()
    _rewrite(products, "weight_kg", pa.array([None if w is None else w * 2 for w in weights]))
    apply(workspace, "redshift")   # Redshift's ledger moves to the new products file; Snowflake's keeps the old
    stage = tmp_path / "state" / "stage" / "ecommerce"
    staged = sorted(stage.rglob("*.parquet"))
    assert len(staged) == 7

    runner = CliRunner()
    kept = runner.invoke(main, ["stage", "gc", str(workspace), "--target-warehouse", "redshift", "--delete"])
    assert kept.exit_code == 0, kept.output
    assert "no unreferenced objects" in kept.output and "snowflake (none) schema ecommerce" in kept.output
    assert sorted(stage.rglob("*.parquet")) == staged
    assert count(workspace, "products", "snowflake") == 50   # the Snowflake emulator's data is untouched

    # Without the Redshift URL its ledger is known (a succeeded run) but unreadable: list, never delete.
    monkeypatch.delenv("DW_SIMULATOR_REDSHIFT_URL")
    apply(workspace, "snowflake")   # Snowflake now references the new file only
    refused = runner.invoke(main, ["stage", "gc", str(workspace), "--target-warehouse", "snowflake", "--delete"])
    assert refused.exit_code == 2, refused.output
    assert "not deleting: 1 ledger(s)" in refused.output and "DW_SIMULATOR_REDSHIFT_URL" in refused.output
    assert sorted(stage.rglob("*.parquet")) == staged

    # With every ledger readable, the old products file is garbage for both, and goes.
    monkeypatch.setenv("DW_SIMULATOR_REDSHIFT_URL", pg_database)
    removed = runner.invoke(main, ["stage", "gc", str(workspace), "--target-warehouse", "snowflake", "--delete"])
    assert removed.exit_code == 0, removed.output
    assert "removed 1" in removed.output
    assert len(list(stage.rglob("*.parquet"))) == 6


def test_lock_timeout_fails_clearly_while_another_apply_holds_the_schema(workspace: Path, pg_database: str,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import psycopg

    monkeypatch.setenv("DW_SIMULATOR_REDSHIFT_URL", pg_database)
    with psycopg.connect(pg_database) as holder:
        holder.execute("select pg_advisory_xact_lock(hashtextextended('manifest-loader:ecommerce', 0))")
        result = CliRunner().invoke(main, ["apply", str(workspace), "--lock-timeout", "1", "--progress", "log"])
    assert result.exit_code == 1
    assert "another apply holds the lock on schema ecommerce" in result.output
    assert "another apply is loading schema ecommerce" in result.output and "--lock-timeout" in result.output
    assert count(workspace, "information_schema.tables where table_schema = 'ecommerce'", "redshift") == 0


def test_truncate_mode_and_zero_row_files(workspace: Path, pg_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DW_SIMULATOR_REDSHIFT_URL", pg_database)
    text = workspace.read_text().replace("    source: data/ecommerce/products/\n",
                                         "    source: data/ecommerce/products/\n    mode: truncate\n")
    workspace.write_text(text)
    products = workspace.parent / "data" / "ecommerce" / "products"
    empty = pq.read_table(products / "products.parquet").slice(0, 0)
    pq.write_table(empty, products / "zero-rows.parquet")
    for warehouse in ("redshift", "snowflake"):
        result = apply(workspace, warehouse)
        assert {t.table: (t.files, t.rows) for t in result.tables}["products"] == (2, 50)
        assert count(workspace, "products", warehouse) == 50
        assert apply(workspace, warehouse, force=True).changed
        assert count(workspace, "products", warehouse) == 50


def test_a_second_process_sees_the_embedded_snowflake_tables(workspace: Path, tmp_path: Path) -> None:
    apply(workspace, "snowflake")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MANIFEST_LOADER_STATE_DIR": str(tmp_path / "state")}
    result = subprocess.run([sys.executable, "-m", "manifest_loader.cli", "query", str(workspace),
                             "select count(*) as n, sum(quantity) as q from order_items", "--target-warehouse",
                             "snowflake", "--format", "json"], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    expected = sum(pq.read_table(workspace.parent / "data" / "ecommerce" / "order_items").column("quantity")
                   .to_pylist())
    (row,) = json.loads(result.stdout)
    assert {k.lower(): int(v) for k, v in row.items()} == {"n": 1524, "q": expected}


def test_apply_of_a_saved_plan_refuses_it_once_a_source_changed(workspace: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    saved = tmp_path / "plan.json"
    planned = runner.invoke(main, ["plan", str(workspace), "--target-warehouse", "snowflake", "--out", str(saved)])
    assert planned.exit_code == 0, planned.output
    products = workspace.parent / "data" / "ecommerce" / "products" / "products.parquet"
    original = products.read_bytes()
    pq.write_table(pq.read_table(products).slice(0, 49), products)
    stale = runner.invoke(main, ["apply", str(workspace), "--target-warehouse", "snowflake", "--plan", str(saved)])
    assert stale.exit_code == 2 and "the saved plan is stale" in stale.output
    products.write_bytes(original)
    applied = runner.invoke(main, ["apply", str(workspace), "--target-warehouse", "snowflake", "--plan", str(saved)])
    assert applied.exit_code == 0, applied.output
    assert count(workspace, "products", "snowflake") == 50
