"""A dw-simulator experiment written the way the simulator writes one, for tests.

The metadata tables have the simulator's columns (dw_simulator/persistence.py): experiments,
experiment_tables, generation_runs (timestamps as ISO text, row_counts as JSON text); each
run's Parquet files are generated/<experiment>/<run folder>/<table>/batch-NNNNN.parquet under
the data root. Data is made with numpy, vectorised, so a million rows take a moment.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

DDL = """
create table if not exists experiments (id integer primary key autoincrement, name varchar(255) not null unique,
  description text, schema_json text not null, created_at varchar(32) not null, warehouse_type varchar(32));
create table if not exists experiment_tables (id integer primary key autoincrement,
  experiment_name varchar(255) not null, table_name varchar(255) not null, target_rows integer not null,
  constraint uq_experiment_table unique (experiment_name, table_name));
create table if not exists generation_runs (id integer primary key autoincrement,
  experiment_name varchar(255) not null, status varchar(32) not null, started_at varchar(32) not null,
  completed_at varchar(32), row_counts text, output_path text, error_message text, seed integer);
"""


def ecommerce_schema(name: str = "shop", customers: int = 1000, products: int = 200, orders: int = 3000,
                     items: int = 8000, target_warehouse: str | None = None) -> dict[str, Any]:
    """The simulator's ecommerce example shape: four tables, three foreign keys."""
    def fk(table: str, column: str) -> dict[str, str]:
        return {"references_table": table, "references_column": column}

    schema: dict[str, Any] = {"name": name, "description": "customers, products, orders and their items", "tables": [
        {"name": "customers", "target_rows": customers, "columns": [
            {"name": "customer_id", "data_type": "INT", "is_unique": True, "required": True},
            {"name": "email", "data_type": "VARCHAR", "varchar_length": 100, "required": True},
            {"name": "country", "data_type": "VARCHAR", "varchar_length": 50, "required": False},
            {"name": "signup_date", "data_type": "DATE", "required": False},
            {"name": "is_active", "data_type": "BOOLEAN", "required": False}]},
        {"name": "products", "target_rows": products, "columns": [
            {"name": "product_id", "data_type": "INT", "is_unique": True, "required": True},
            {"name": "product_name", "data_type": "VARCHAR", "varchar_length": 100, "required": False},
            {"name": "price", "data_type": "FLOAT", "required": False}]},
        {"name": "orders", "target_rows": orders, "columns": [
            {"name": "order_id", "data_type": "INT", "is_unique": True, "required": True},
            {"name": "customer_id", "data_type": "INT", "required": True,
             "foreign_key": fk("customers", "customer_id")},
            {"name": "order_date", "data_type": "DATE", "required": False},
            {"name": "total_amount", "data_type": "FLOAT", "required": False}]},
        {"name": "order_items", "target_rows": items, "columns": [
            {"name": "item_id", "data_type": "INT", "is_unique": True, "required": True},
            {"name": "order_id", "data_type": "INT", "required": True, "foreign_key": fk("orders", "order_id")},
            {"name": "product_id", "data_type": "INT", "required": True, "foreign_key": fk("products", "product_id")},
            {"name": "quantity", "data_type": "INT", "required": False}]},
    ]}
    if target_warehouse:
        schema["target_warehouse"] = target_warehouse
    return schema


def _column(column: dict[str, Any], rows: int, rng: np.random.Generator,
            parents: dict[tuple[str, str], int]) -> pa.Array:
    kind = column["data_type"].upper()
    nulls = None if column.get("required", True) else rng.random(rows) < 0.05
    if column.get("foreign_key"):
        ref = column["foreign_key"]
        values: Any = rng.integers(0, parents[(ref["references_table"], ref["references_column"])], rows)
    elif column.get("is_unique"):
        values = np.arange(rows, dtype=np.int64)
    elif kind == "INT":
        values = rng.integers(0, 10_000, rows)
    elif kind in ("FLOAT", "MONEY"):   # MONEY: a type the loader refuses, for the bad-input tests
        values = np.round(rng.random(rows) * 1000, 2)
    elif kind == "BOOLEAN":
        values = rng.random(rows) < 0.5
    elif kind == "DATE":
        values = (np.datetime64("2023-01-01") + rng.integers(0, 730, rows)).astype("datetime64[D]")
    elif kind == "VARCHAR":
        # Unicode, and varying lengths up to the column's limit, as the simulator's Faker text has.
        words = pa.array(["alpha", "béta", "gamma", "δέλτα", "e", "zeta@example.com", "東京"])
        values = pc.binary_join_element_wise(words.take(rng.integers(0, len(words), rows)),
                                             pa.array(rng.integers(0, 10**6, rows)).cast(pa.string()), "")
        return pc.if_else(pa.array(nulls), pa.scalar(None, pa.string()), values) if nulls is not None else values
    else:
        raise ValueError(kind)
    return pa.array(values, mask=nulls)


@dataclass
class SimRun:
    id: int
    folder: Path
    rows: dict[str, int]


class Simulator:
    """A simulator's metadata database and data root under `root`."""

    def __init__(self, root: Path):
        self.root = root
        self.data_root = root / "data"
        self.db = self.data_root / "sqlite" / "dw_simulator.db"
        self.db.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(self.db) as conn:
            conn.executescript(DDL)

    @property
    def url(self) -> str:
        return f"sqlite:///{self.db}"

    def env(self) -> dict[str, str]:
        return {"DW_SIMULATOR_TARGET_DB_URL": self.url, "DW_SIMULATOR_DATA_ROOT": str(self.data_root)}

    def create(self, schema: dict[str, Any], warehouse_type: str | None = None) -> None:
        with sqlite3.connect(self.db) as conn:
            conn.execute("insert into experiments (name, description, schema_json, created_at, warehouse_type) "
                         "values (?, ?, ?, ?, ?)", (schema["name"], schema.get("description"), json.dumps(schema),
                                                    "2026-12-01T09:00:00+00:00", warehouse_type))
            conn.executemany("insert into experiment_tables (experiment_name, table_name, target_rows) "
                             "values (?, ?, ?)", [(schema["name"], t["name"], t["target_rows"])
                                                  for t in schema["tables"]])

    def generate(self, schema: dict[str, Any], folder_name: str, seed: int = 7, batch_rows: int = 10_000,
                 status: str = "COMPLETED", rows: dict[str, int] | None = None) -> SimRun:
        """Write a run's Parquet batches and its generation_runs row, as `dw-sim experiment generate` does."""
        rng = np.random.default_rng(seed)
        folder = self.data_root / "generated" / schema["name"] / folder_name
        counts: dict[str, int] = {}
        parents: dict[tuple[str, str], int] = {}
        for table in schema["tables"]:
            total = (rows or {}).get(table["name"], table["target_rows"])
            data = pa.table({c["name"]: _column(c, total, rng, parents) for c in table["columns"]})
            (folder / table["name"]).mkdir(parents=True, exist_ok=True)
            for index, start in enumerate(range(0, total, batch_rows)):
                pq.write_table(data.slice(start, batch_rows),
                               folder / table["name"] / f"batch-{index:05d}.parquet", compression="snappy")
            counts[table["name"]] = total
            for c in table["columns"]:
                if c.get("is_unique"):
                    parents[(table["name"], c["name"])] = total
        return SimRun(self.record_run(schema["name"], status, folder, counts, seed), folder, counts)

    def record_run(self, experiment: str, status: str, folder: Path | None, generated: dict[str, int],
                   seed: int | None = None, error: str | None = None) -> int:
        row_counts = json.dumps({"generated": generated, "loaded": {}}) if status == "COMPLETED" else None
        with sqlite3.connect(self.db) as conn:
            cursor = conn.execute(
                "insert into generation_runs (experiment_name, status, started_at, completed_at, row_counts, "
                "output_path, error_message, seed) values (?, ?, ?, ?, ?, ?, ?, ?)",
                (experiment, status, "2026-12-01T10:00:00+00:00",
                 "2026-12-01T10:01:00+00:00" if status == "COMPLETED" else None, row_counts,
                 str(folder) if folder else None, error, seed))
            return int(cursor.lastrowid or 0)
