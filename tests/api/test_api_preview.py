"""Table previews (GET /api/experiments/{name}/tables, …/tables/{table}/rows) and what a failed query
tells the page (its position), against the Redshift emulator on the test PostgreSQL and fakesnow."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from loadkit import copy_example, parquet_columns

from manifest_loader.api import create_app
from manifest_loader.sql_position import in_message, line_col, token_start


@pytest.fixture
def client(tmp_path: Path, pg_database: str) -> Iterator[TestClient]:
    manifest = copy_example(tmp_path)
    env = {"MANIFEST_LOADER_STATE_DIR": str(tmp_path / "state"), "DW_SIMULATOR_REDSHIFT_URL": pg_database,
           "DW_SIMULATOR_STAGE_BUCKET": (tmp_path / "stage").as_uri()}
    with TestClient(create_app(manifest.parent, env=env), raise_server_exceptions=False,
                    base_url="http://127.0.0.1") as c:
        yield c


def _load(client: TestClient, warehouse: str) -> None:
    accepted = client.post("/api/experiments/ecommerce/load", json={"target_warehouse": warehouse}).json()
    deadline = time.monotonic() + 120
    while (run := client.get(f"/api/runs/{accepted['run_id']}").json())["status"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert run["status"] == "succeeded", run


def _ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.mark.parametrize("warehouse", ["redshift", "snowflake"])
def test_tables_show_columns_types_and_rows_as_the_warehouse_holds_them(client: TestClient, tmp_path: Path,
                                                                       warehouse: str) -> None:
    before = _ok(client.get(f"/api/experiments/ecommerce/tables?target_warehouse={warehouse}"))
    assert [(t["name"], t["loaded"], t["row_count"], t["columns"]) for t in before["tables"]] == \
        [(name, False, None, []) for name in ("customers", "products", "orders", "order_items")]
    _load(client, warehouse)
    listed = _ok(client.get(f"/api/experiments/ecommerce/tables?target_warehouse={warehouse}"))
    assert listed["target"] == {"warehouse": warehouse, "dialect": "postgres" if warehouse == "redshift" else
                                "fakesnow", "schema": "ecommerce"}
    tables = {t["name"]: t for t in listed["tables"]}
    assert {name: t["row_count"] for name, t in tables.items()} == \
        {"customers": 200, "products": 50, "orders": 500, "order_items": 1524}
    customers = {c["name"].lower(): (c["type"], c["nullable"]) for c in tables["customers"]["columns"]}
    if warehouse == "redshift":
        assert tables["customers"]["stored_name"] == "customers"
        assert customers["customer_id"] == ("bigint", False)
        assert customers["email"] == ("character varying(320)", True)
        assert customers["country"] == ("character(2)", True)
        assert customers["lifetime_value"] == ("numeric(12,2)", True)
    else:
        assert tables["customers"]["stored_name"] == "CUSTOMERS"
        assert customers["customer_id"] == ("NUMBER(19,0)", False)
        assert customers["lifetime_value"] == ("NUMBER(12,2)", True)
        assert customers["signup_date"] == ("DATE", True)
    assert len(customers) == 9

    rows = _ok(client.get(f"/api/experiments/ecommerce/tables/orders/rows?target_warehouse={warehouse}&limit=3"))
    data = parquet_columns(tmp_path / "manifests" / "data" / "ecommerce" / "orders")
    first = sorted(zip(data["order_id"], data["total"], data["notes"], strict=True))[:3]
    names = [c.lower() for c in rows["columns"]]
    got = [(int(r[names.index("order_id")]), Decimal(r[names.index("total")]), r[names.index("notes")])
           for r in rows["rows"]]
    assert got == first
    assert rows["column_kinds"][names.index("total")] == "number"
    assert isinstance(rows["rows"][0][names.index("total")], str)   # exact: a decimal travels as its text
    assert rows["sql"] == "SELECT * FROM ecommerce.orders\nORDER BY order_id\nLIMIT 3"
    assert rows["table"] == "orders" and rows["row_count"] == 3 and not rows["truncated"]


def test_rows_of_a_table_the_manifest_does_not_name_are_refused(client: TestClient) -> None:
    response = client.get("/api/experiments/ecommerce/tables/pg_authid/rows?target_warehouse=redshift")
    assert response.status_code == 404, response.text
    assert "no table 'pg_authid' in manifest ecommerce; its tables are customers, products, orders, order_items" \
        in response.json()["detail"]
    response = client.get("/api/experiments/ecommerce/tables/orders/rows?target_warehouse=redshift&limit=0")
    assert response.status_code == 422


def test_a_failed_query_says_where(client: TestClient) -> None:
    def problem(sql: str, warehouse: str) -> dict[str, Any]:
        response = client.post("/api/query", json={"experiment": "ecommerce", "target_warehouse": warehouse,
                                                   "sql": sql})
        assert response.status_code in (400, 422), response.text
        return dict(response.json())

    # The Redshift translator cannot read it: the position is in the user's SQL, at the token's start.
    body = problem("select 1\nform orders", "redshift")
    assert body["position"] == {"line": 2, "column": 6, "in": "sql"}
    # PostgreSQL rejects the translation: the position is in the SQL that ran, which comes along.
    body = problem("select 1, no_such_column from pg_class", "redshift")
    assert body["translated_sql"] == "SELECT\n  1,\n  no_such_column\nFROM pg_class"
    assert body["position"] == {"line": 3, "column": 3, "in": "translated_sql"}
    # fakesnow's parser (sqlglot) names the line and column in its message.
    body = problem("select 1\nform orders", "snowflake")
    assert body["position"] == {"line": 2, "column": 6, "in": "sql"}


def test_big_integers_stay_exact_in_json(client: TestClient) -> None:
    body = _ok(client.post("/api/query", json={"target_warehouse": "redshift", "sql":
                                               "select 9007199254740993::bigint as big, 42 as small, null as n"}))
    assert body["rows"] == [["9007199254740993", 42, None]]
    assert body["column_kinds"] == ["number", "number", "null"]


def test_positions_from_offsets_and_tokens() -> None:
    assert line_col("select\n  x\nfrom t", 10) == (2, 3)
    assert line_col("select x", 1) == (1, 1)
    assert token_start(1, 20, "orders") == (1, 15)
    assert token_start(3, 2, "longer than the column") == (3, 2)
    # sqlglot (through fakesnow) points at the last character of the word it stopped at.
    assert in_message("Invalid expression / Unexpected token. Line 2, Col: 11.", "select 1\nform orders") == (2, 6)
    assert in_message("Unexpected token. Line 1, Col: 9.", "select 1,") == (1, 9)
    assert in_message("Line 7, Col: 1.", "select 1") == (7, 1)
    assert in_message("no position here", "select 1") is None
