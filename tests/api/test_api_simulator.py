"""The HTTP API on dw-simulator experiments: listed beside the manifest files, their generation runs
with their loads, a per-experiment warehouse choice kept by us, and POST .../load with the
simulator API's body ({"target_warehouse": ..., "run_id": ...})."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from loadkit import copy_example
from simkit import Simulator, ecommerce_schema

from manifest_loader.api import create_app


@pytest.fixture
def sim(tmp_path: Path) -> Simulator:
    simulator = Simulator(tmp_path / "simulator")
    schema = ecommerce_schema("shop", 100, 20, 300, 800)
    simulator.create(schema, "sqlite")
    simulator.generate(schema, "1733000000")
    other = ecommerce_schema("marketing", 5, 5, 5, 5)
    simulator.create(other, "snowflake")
    simulator.generate(other, "1733000100")
    return simulator


@pytest.fixture
def client(tmp_path: Path, sim: Simulator) -> Iterator[TestClient]:
    manifests = copy_example(tmp_path).parent
    env = {"MANIFEST_LOADER_STATE_DIR": str(tmp_path / "state"), **sim.env()}
    with TestClient(create_app(manifests, env=env), raise_server_exceptions=False, base_url="http://127.0.0.1") as c:
        yield c


def _wait(client: TestClient, run_id: str, timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while (run := client.get(f"/api/runs/{run_id}").json())["status"] == "running":
        assert time.monotonic() < deadline, run
        time.sleep(0.1)
    return run


def test_experiments_lists_simulator_experiments_beside_manifests(client: TestClient, sim: Simulator) -> None:
    body = client.get("/api/experiments").json()
    assert [e["name"] for e in body["experiments"]] == ["ecommerce"]       # the manifest file
    simulator = body["simulator"]
    assert simulator["metadata_db"] == sim.url
    listed = {e["name"]: (e["warehouse"], e["latest_completed_run"], e["tables"]) for e in simulator["experiments"]}
    assert listed == {"marketing": ("snowflake", 2, ["customers", "products", "orders", "order_items"]),
                      "shop": ("snowflake", 1, ["customers", "products", "orders", "order_items"])}


def test_warehouse_choice_persists_without_touching_the_simulators_rows(client: TestClient, sim: Simulator) -> None:
    with sqlite3.connect(sim.db) as conn:
        before = conn.execute("select * from experiments order by id").fetchall()
    answer = client.put("/api/experiments/shop/warehouse", json={"warehouse": "redshift"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["warehouse"] == "redshift"
    assert client.get("/api/experiments/shop/runs").json()["saved_warehouse"] == "redshift"
    shop = next(e for e in client.get("/api/experiments").json()["simulator"]["experiments"] if e["name"] == "shop")
    assert shop["warehouse"] == "redshift"
    assert client.put("/api/experiments/shop/warehouse", json={"warehouse": None}).json()["warehouse"] == "snowflake"
    assert client.put("/api/experiments/nope/warehouse", json={"warehouse": "redshift"}).status_code == 404
    assert client.put("/api/experiments/shop/warehouse", json={"warehouse": "sqlite"}).status_code == 422
    with sqlite3.connect(sim.db) as conn:
        assert conn.execute("select * from experiments order by id").fetchall() == before


@pytest.mark.online   # the embedded Snowflake emulator's database on disk
def test_load_a_generation_run_and_see_it_per_run(client: TestClient) -> None:
    refused = client.post("/api/experiments/shop/load", json={"target_warehouse": "snowflake", "run_id": 2})
    assert refused.status_code == 422
    assert "generation run 2 belongs to experiment 'marketing', not 'shop'" in refused.json()["detail"]
    assert client.post("/api/experiments/ecommerce/load", json={"run_id": 1}).status_code == 422
    assert client.post("/api/experiments/nothing/load", json={"run_id": 1}).status_code == 404

    accepted = client.post("/api/experiments/shop/load", json={"target_warehouse": "snowflake", "run_id": 1})
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["generation_run_id"] == 1 and accepted.json()["target_warehouse"] == "snowflake"
    run = _wait(client, accepted.json()["run_id"])
    assert run["status"] == "succeeded" and run["generation_run_id"] == "1" and run["rows"] == 1220

    runs = client.get("/api/experiments/shop/runs").json()["generation_runs"]
    assert [(r["id"], [(load["status"], load["rows_match"]) for load in r["loads"]]) for r in runs] == [
        (1, [("succeeded", True)])]
    assert runs[0]["loads"][0]["tables"]["order_items"]["rows"] == 800
    listing = client.get("/api/runs").json()
    assert [(g["experiment"], g["id"], len(g["loads"])) for g in listing["generation_runs"]] == [("shop", 1, 1)]
    assert client.get("/api/experiments/nothing/runs").status_code == 404
    rows = client.post("/api/query", json={"experiment": "shop", "sql": "select count(*) as n from orders",
                                           "target_warehouse": "snowflake"})
    assert rows.status_code == 200, rows.text
    assert json.dumps(rows.json()["rows"]) == "[[300]]"
    plan = client.get("/api/experiments/shop/plan", params={"target_warehouse": "snowflake"})
    assert plan.status_code == 200 and plan.json()["manifest"]["name"] == "shop"
