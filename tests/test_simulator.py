"""The dw-simulator flow on a simulator-shaped metadata DB and data root written by the tests:
init --from-experiment / --from-folder, experiment list|load|status|warehouse, experiment names
where a manifest is taken, run selection and the link check, bad inputs (exit 2, clear message).

The big Generate -> Stage -> Load -> Query test on both emulators is tests/test_simulator_e2e.py.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result
from simkit import Simulator, ecommerce_schema

from manifest_loader.cli import main
from manifest_loader.manifest import load_manifest


@pytest.fixture
def sim(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Simulator:
    """A simulator with experiment 'shop' (warehouse_type sqlite, as the simulator's default is) and
    one COMPLETED run; the working folder is a project folder with no manifests/."""
    simulator = Simulator(tmp_path / "simulator")
    for name in ("DW_SIMULATOR_REDSHIFT_URL", "DW_SIMULATOR_SNOWFLAKE_URL", "DW_SIMULATOR_STAGE_BUCKET",
                 "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in simulator.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MANIFEST_LOADER_STATE_DIR", str(tmp_path / "state"))
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    schema = ecommerce_schema()
    simulator.create(schema, "sqlite")
    simulator.generate(schema, "1733000000", batch_rows=1000)
    return simulator


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def test_sources_may_be_absolute_file_uris_or_variable_rooted(tmp_path: Path, sim: Simulator,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    folder = sim.data_root / "generated" / "shop" / "1733000000"
    manifest = tmp_path / "elsewhere" / "m.yaml"
    manifest.parent.mkdir()
    manifest.write_text(f"""version: 1
name: shop
target: {{warehouse: snowflake}}
tables:
  - {{name: customers, source: {folder / 'customers'}/}}
  - {{name: products, source: '{(folder / 'products').as_uri()}/'}}
  - {{name: orders, source: '${{DW_SIMULATOR_DATA_ROOT}}/generated/shop/1733000000/orders/*.parquet'}}
""")
    result = run("validate", str(manifest))
    assert result.exit_code == 0, result.output
    assert "valid (3 tables, 5 files)" in result.output    # 1 + 1 + 3 batches of up to 1000 rows
    monkeypatch.delenv("DW_SIMULATOR_DATA_ROOT")
    result = run("validate", str(manifest))
    assert result.exit_code == 2 and "environment variable DW_SIMULATOR_DATA_ROOT is not set" in result.output


def test_init_from_schema_file_writes_a_valid_stable_reviewed_manifest(tmp_path: Path, sim: Simulator) -> None:
    schema_file = tmp_path / "shop.json"
    schema_file.write_text(json.dumps(ecommerce_schema(target_warehouse="redshift")))
    out = tmp_path / "manifests" / "shop.yaml"
    assert run("init", "--from-experiment", str(schema_file), "--output", str(out)).exit_code == 0
    first = out.read_bytes()
    assert run("init", "--from-experiment", str(schema_file), "--output", str(out)).exit_code == 0
    assert out.read_bytes() == first                       # stable: the same inputs, the same bytes
    text = first.decode()
    # warehouse_type 'sqlite' is no warehouse of ours: the schema's target_warehouse decides.
    assert "  warehouse: redshift" in text and "review: the schema's target_warehouse" in text
    assert ('source: "${DW_SIMULATOR_DATA_ROOT}/generated/shop/1733000000/customers/"' in text)
    manifest = load_manifest(out)
    customers, products, orders, items = manifest.tables
    assert customers.primary_key == ("customer_id",) and items.primary_key == ("item_id",)
    types = {c.name: (str(c.type), c.nullable) for c in customers.columns}
    assert types == {"customer_id": ("bigint", False), "email": ("varchar(100)", False),
                     "country": ("varchar(50)", None), "signup_date": ("date", None), "is_active": ("boolean", None)}
    assert str(products.override("price").type) == "double"   # type: ignore[union-attr]
    assert [(fk.columns, fk.ref_table, fk.ref_columns) for fk in items.foreign_keys] == [
        (("order_id",), "orders", ("order_id",)), (("product_id",), "products", ("product_id",))]
    assert [(fk.columns, fk.ref_table) for fk in orders.foreign_keys] == [(("customer_id",), "customers")]
    assert "review:" in text and text.startswith("# Written by `manifest-loader init --from-experiment")
    # The files it names are there, and validate on the target it chose.
    result = run("validate", str(out), "--target-warehouse", "snowflake")
    assert result.exit_code == 0 and "valid (4 tables, 13 files)" in result.output


def test_init_from_experiment_name_with_layout_and_own_source_root(sim: Simulator) -> None:
    result = run("init", "--from-experiment", "shop", "--layout", "prefixed", "--source-root",
                 "${DW_SIMULATOR_RUN_DIR}")
    assert result.exit_code == 0, result.output
    assert "  schema: public" in result.output and "  - name: shop__order_items" in result.output
    assert "references: {table: shop__orders, columns: [order_id]}" in result.output
    assert 'source: "${DW_SIMULATOR_RUN_DIR}/customers/"' in result.output
    # No choice anywhere (warehouse_type sqlite, no target_warehouse): the embedded default.
    assert "  warehouse: snowflake" in result.output


def test_init_from_folder_infers_types(tmp_path: Path, sim: Simulator) -> None:
    folder = sim.data_root / "generated" / "shop" / "1733000000"
    out = tmp_path / "project" / "m.yaml"
    result = run("init", "--from-folder", str(folder), "--output", str(out), "--name", "shop")
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "      customer_id: {type: bigint}" in text and "      signup_date: {type: date}" in text
    assert f'source: "{folder}/order_items/"' in text and "review:" in text
    manifest = load_manifest(out)
    assert [t.name for t in manifest.tables] == ["customers", "order_items", "orders", "products"]
    again = run("init", "--from-folder", str(folder), "--name", "shop")
    assert again.output == text


@pytest.mark.parametrize(("args", "message"), [
    (["experiment", "load", "nope"], "no experiment 'nope' in the simulator's metadata (sqlite:///"),
    (["experiment", "load", "shop", "--run-id", "99"], "generation run 99 does not exist; experiment 'shop': "
                                                       "its runs are: "),
    (["init", "--from-experiment", "nope"], "no experiment 'nope'"),
    (["plan", "nope"], "no manifest file 'nope', and no experiment 'nope' in the simulator's metadata"),
])
def test_unknown_experiment_or_run_is_exit_2(sim: Simulator, args: list[str], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 2 and message in result.output, result.output
    assert "Traceback" not in result.output


def test_run_of_another_experiment_failed_run_and_missing_files_are_refused(sim: Simulator) -> None:
    other = ecommerce_schema("marketing", 10, 10, 10, 10)
    sim.create(other)
    theirs = sim.generate(other, "1733000100").id
    failed = sim.record_run("shop", "FAILED", None, {}, error="ValueError: boom\n\nTraceback: ...")
    result = run("experiment", "load", "shop", "--run-id", str(theirs))
    assert result.exit_code == 2
    assert (f"generation run {theirs} belongs to experiment 'marketing', not 'shop'; experiment 'shop': its runs "
            f"are: {failed} FAILED 2026-12-01T10:00:00+00:00; 1 COMPLETED 2026-12-01T10:01:00+00:00") in result.output
    result = run("experiment", "load", "shop", "--run-id", str(failed))
    assert result.exit_code == 2 and f"generation run {failed} of 'shop' is FAILED, not COMPLETED (ValueError: boom)" \
        in result.output
    batch = sim.data_root / "generated" / "shop" / "1733000000" / "orders" / "batch-00001.parquet"
    batch.unlink()
    result = run("experiment", "load", "shop")
    assert result.exit_code == 2
    assert "the files do not hold the rows the run generated (orders: run says 3000, files hold 2000)" in result.output
    for table in (batch.parent, batch.parent.parent / "products"):
        for file in table.iterdir():
            file.unlink()
    result = run("experiment", "load", "shop")
    assert result.exit_code == 2 and "has no Parquet files for 2 table(s): " in result.output
    empty = ecommerce_schema("empty")
    sim.create(empty)
    result = run("experiment", "load", "empty")
    assert result.exit_code == 2 and "experiment 'empty' has no COMPLETED generation run; it has no generation runs" \
        in result.output


def test_schema_with_an_unknown_type_is_exit_2(tmp_path: Path, sim: Simulator) -> None:
    schema = ecommerce_schema("odd")
    schema["tables"][1]["columns"][2]["data_type"] = "MONEY"
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(schema))
    result = run("init", "--from-experiment", str(path))
    assert result.exit_code == 2
    assert (f"{path}: tables[1] (products).columns[2] (price): unknown data_type 'MONEY'; the simulator's types are "
            "INT, INTEGER, BIGINT") in result.output
    sim.create(schema)
    sim.generate(schema, "1733000200", rows={"customers": 5, "products": 5, "orders": 5, "order_items": 5})
    result = run("experiment", "load", "odd")
    assert result.exit_code == 2 and "schema_json of experiment 'odd': tables[1] (products)" in result.output


@pytest.mark.online   # the embedded Snowflake emulator's database on disk
def test_load_status_and_names_as_manifests(sim: Simulator, tmp_path: Path) -> None:
    # warehouse_type sqlite and no target_warehouse: the default, the embedded Snowflake emulator.
    result = run("experiment", "load", "shop", "--no-progress")
    assert result.exit_code == 0, result.output
    assert "Generation run 1 of 'shop' via " in result.output and "Rows match" in result.output
    assert "order_items" in result.output and "12200 rows" in result.output
    query = run("query", "shop", "select count(*) as n, sum(order_id) as s from order_items", "--format", "json")
    assert query.exit_code == 0, query.output
    items = pq.read_table(sim.data_root / "generated" / "shop" / "1733000000" / "order_items")
    (row,) = json.loads(query.output)
    assert {k.lower(): int(v) for k, v in row.items()} == {"n": 8000, "s": sum(items.column("order_id").to_pylist())}
    assert run("experiment", "load", "shop").output.count("No changes") == 1
    status = json.loads(run("experiment", "status", "shop", "--json").output)
    (gen,) = status["generation_runs"]
    assert gen["id"] == 1 and gen["generated"] == {"customers": 1000, "products": 200, "orders": 3000,
                                                   "order_items": 8000}
    assert [(load["status"], load["rows_match"]) for load in gen["loads"]] == [("unchanged", True),
                                                                                 ("succeeded", True)]
    assert gen["loads"][1]["tables"]["orders"] == {"status": "loaded", "rows": 3000, "files": 3, "files_read": 3,
                                                   "file_rows": 3000}
    text = run("status", "shop").output
    assert "generation run 1  COMPLETED" in text and "rows match" in text
    plan = run("plan", "shop")
    assert plan.exit_code == 0 and "shop.order_items" in plan.output
    gc = run("stage", "gc", "shop")
    assert gc.exit_code == 0 and "no unreferenced objects" in gc.output, gc.output
    # A hand-written manifest that loads one table of the run: the others are reported not loaded.
    manifests = tmp_path / "project" / "manifests"
    manifests.mkdir()
    (manifests / "shop.yaml").write_text(
        "version: 1\nname: shop\ntarget: {warehouse: snowflake, schema: part}\n"
        "tables:\n  - {name: customers, source: '${DW_SIMULATOR_RUN_DIR}/customers/'}\n")
    result = run("experiment", "load", "shop")
    assert result.exit_code == 0 and "(checked in)" in result.output
    assert "orders: generated 3000, not loaded" in result.output
    assert "ROWS DIFFER: order_items: generated 8000, not loaded" in run("experiment", "status", "shop").output


def test_warehouse_choice_is_ours_and_the_simulators_rows_stay(sim: Simulator) -> None:
    with sqlite3.connect(sim.db) as conn:
        before = conn.execute("select * from experiments").fetchall()
    listed = json.loads(run("experiment", "list", "--json").output)
    assert [(e["name"], e["warehouse"], e["latest_completed_run"]) for e in listed] == [("shop", "snowflake", 1)]
    assert run("experiment", "warehouse", "shop", "redshift").exit_code == 0
    listed = json.loads(run("experiment", "list", "--json").output)
    assert listed[0]["warehouse"] == "redshift" and "manifest-loader" in listed[0]["warehouse_reason"]
    # The saved choice applies to loads: a Redshift URL that is not one stops it before anything, saying so.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DW_SIMULATOR_REDSHIFT_URL", "mysql://127.0.0.1/dev")
        result = run("experiment", "load", "shop")
    assert result.exit_code == 2 and "which is not a redshift URL" in result.output
    assert run("experiment", "warehouse", "shop", "--clear").exit_code == 0
    assert json.loads(run("experiment", "list", "--json").output)[0]["warehouse"] == "snowflake"
    with sqlite3.connect(sim.db) as conn:
        assert conn.execute("select * from experiments").fetchall() == before
    with sqlite3.connect(sim.db) as conn:
        conn.execute("update experiments set warehouse_type = 'redshift'")
    assert json.loads(run("experiment", "list", "--json").output)[0]["warehouse"] == "redshift"


@pytest.mark.online   # opens the embedded Snowflake emulator's database on disk
def test_prefixed_layout_and_apply_of_a_chosen_run_by_name(sim: Simulator) -> None:
    schema = ecommerce_schema()
    second = sim.generate(schema, "1733000900", seed=9, rows={"customers": 10, "products": 5, "orders": 20,
                                                            "order_items": 40})
    # `apply NAME --generation-run N` reads run N's files (not the latest's) and links the load to it.
    result = run("apply", "shop", "--generation-run", "1", "--no-progress")
    assert result.exit_code == 0, result.output
    assert "12200 rows" in result.output
    result = run("experiment", "load", "shop", "--layout", "prefixed", "--no-progress")
    assert result.exit_code == 0, result.output
    assert "schema public" in result.output and "shop__order_items" in result.output and "Rows match" in result.output
    rows = run("query", "--target-warehouse", "snowflake", "select count(*) from public.shop__order_items "
               "join public.shop__orders using (order_id)", "--format", "csv")
    assert rows.output.splitlines()[1] == "40"
    status = json.loads(run("experiment", "status", "shop", "--json").output)
    assert [(r["id"], [(load["schema"], load["rows_match"]) for load in r["loads"]])
            for r in status["generation_runs"]] == [(second.id, [("public", True)]), (1, [("shop", True)])]
