"""Generate -> Stage -> Load -> Query: a simulator-shaped experiment of 1,000,000 rows across four
tables (metadata DB with a COMPLETED run, Parquet in the simulator's layout), loaded with
`manifest-loader experiment load` through a moto S3 stage into each emulator, read back by
content; then a run whose items reference a product that does not exist is refused by the
foreign-key check and leaves the first run's data in place.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result
from simkit import Simulator, ecommerce_schema

from manifest_loader.cli import main

ROWS = {"customers": 100_000, "products": 20_000, "orders": 300_000, "order_items": 580_000}


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _expected(table: pa.Table) -> dict[str, float | int]:
    """What the warehouse must hold, per column: non-NULL count, and a sum of the values (numbers,
    booleans as 0/1, dates as days, strings by their length in characters)."""
    out: dict[str, float | int] = {"rows": table.num_rows}
    for name in table.column_names:
        column = table.column(name)
        out[f"{name}.count"] = column.length() - column.null_count
        if pa.types.is_string(column.type):
            column = pc.utf8_length(column)
        elif pa.types.is_boolean(column.type):
            column = pc.cast(column, pa.int64())
        elif pa.types.is_date(column.type):
            column = pc.cast(pc.cast(column, pa.int32()), pa.int64())
        out[f"{name}.sum"] = pc.sum(column).as_py() or 0
    return out


def _measure_sql(table: pa.Table, name: str, warehouse: str) -> str:
    """One query reading what _expected computes from the Parquet files."""
    parts = ["count(*)"]
    for column in table.column_names:
        kind = table.schema.field(column).type
        parts.append(f"count({column})")
        if pa.types.is_string(kind):
            parts.append(f"sum(length({column}))")
        elif pa.types.is_boolean(kind):
            parts.append(f"sum(case when {column} then 1 else 0 end)")
        elif pa.types.is_date(kind):
            # days since 1970-01-01, the way Arrow counts them (date - date is days on both warehouses)
            parts.append(f"sum({column} - '1970-01-01'::date)")
        else:
            parts.append(f"sum({column})")
    return f"select {', '.join(parts)} from {name}"


def _actual(table: pa.Table, name: str, warehouse: str) -> dict[str, float | int]:
    result = cli("query", "shop", _measure_sql(table, name, warehouse), "--target-warehouse", warehouse,
                 "--format", "csv")
    assert result.exit_code == 0, result.output
    values = result.output.splitlines()[1].split(",")
    keys = ["rows"] + [f"{c}.{what}" for c in table.column_names for what in ("count", "sum")]
    return {k: float(v) if "." in v or "e" in v.lower() else int(v or 0) for k, v in zip(keys, values, strict=True)}


@pytest.mark.parametrize("warehouse", ["redshift", "snowflake"])
def test_generate_stage_load_query_a_million_rows(warehouse: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  s3_env: str, request: pytest.FixtureRequest) -> None:
    started = time.perf_counter()
    sim = Simulator(tmp_path / "simulator")
    for name, value in sim.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MANIFEST_LOADER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DW_SIMULATOR_STAGE_BUCKET", f"s3://local/e2e-{tmp_path.name}/staging")
    monkeypatch.delenv("DW_SIMULATOR_SNOWFLAKE_URL", raising=False)
    if warehouse == "redshift":
        monkeypatch.setenv("DW_SIMULATOR_REDSHIFT_URL", request.getfixturevalue("pg_database"))
    else:
        monkeypatch.delenv("DW_SIMULATOR_REDSHIFT_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    schema = ecommerce_schema("shop", **{k if k != "order_items" else "items": v for k, v in ROWS.items()},
                              target_warehouse=warehouse)
    sim.create(schema, "sqlite")
    first = sim.generate(schema, "1733000000", batch_rows=100_000)
    generated = time.perf_counter()
    assert sum(first.rows.values()) == 1_000_000

    result = cli("experiment", "load", "shop", "--no-progress")   # the schema's target_warehouse picks it
    assert result.exit_code == 0, result.output
    assert "Rows match the generation run's row_counts." in result.output
    loaded = time.perf_counter()

    for name in ROWS:
        table = pq.read_table(first.folder / name)
        assert _actual(table, name, warehouse) == pytest.approx(_expected(table), rel=1e-9), name
    # Every foreign key holds: each item joins to its order and its product, each order to its customer.
    joined = cli("query", "shop", "select count(*) from order_items i join orders o on o.order_id = i.order_id "
                 "join products p on p.product_id = i.product_id join customers c on c.customer_id = o.customer_id",
                 "--target-warehouse", warehouse, "--format", "csv")
    assert joined.output.splitlines()[1] == str(ROWS["order_items"])
    status = json.loads(cli("experiment", "status", "shop", "--json").output)
    (run,) = status["generation_runs"]
    assert [(load["status"], load["warehouse"], load["rows_match"]) for load in run["loads"]] == [
        ("succeeded", warehouse, True)]
    queried = time.perf_counter()

    # A second run whose items reference a product that does not exist: the foreign-key check refuses it.
    small = ecommerce_schema("shop", 50, 20, 100, 300)
    second = sim.generate(small, "1733000500", seed=8)
    batch = second.folder / "order_items" / "batch-00000.parquet"
    items = pq.read_table(batch)
    ids = items.column("product_id").to_pylist()
    ids[7] = 999_999
    pq.write_table(items.set_column(items.column_names.index("product_id"), "product_id",
                                    pa.array(ids, pa.int64())), batch)
    refused = cli("experiment", "load", "shop", "--no-progress")
    assert refused.exit_code == 1, refused.output
    assert ("table order_items: 1 row have (product_id) values missing from products(product_id), e.g. '999999'"
            in refused.output)
    count = cli("query", "shop", "select count(*) from order_items", "--target-warehouse", warehouse,
                "--format", "csv")
    assert count.output.splitlines()[1] == str(ROWS["order_items"])   # run 1's rows, untouched
    status = json.loads(cli("experiment", "status", "shop", "--json").output)
    assert [(r["id"], [load["status"] for load in r["loads"]]) for r in status["generation_runs"]] == [
        (second.id, ["failed"]), (first.id, ["succeeded"])]
    print(f"\n{warehouse}: generate {generated - started:.1f}s, stage+load {loaded - generated:.1f}s, "
          f"query {queried - loaded:.1f}s, refused run {time.perf_counter() - queried:.1f}s")
