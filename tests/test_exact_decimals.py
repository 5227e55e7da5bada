"""Decimal results are exact on both emulators, in `query` (CLI) and the API: a SUM over
NUMBER(18,2)/NUMERIC(18,2) equals the exact sum of the Parquet values, digit for digit."""

from __future__ import annotations

import json
import os
import random
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner
from emulatorkit import use_emulator, write_manifest
from fastapi.testclient import TestClient

from manifest_loader.api import create_app
from manifest_loader.apply import apply
from manifest_loader.cli import main

random.seed(15)
AMOUNTS = [Decimal(random.randint(-10**15, 10**15)) / 100 for _ in range(2000)]
EXACT = sum(AMOUNTS)


@pytest.mark.parametrize("warehouse", ["redshift", "snowflake"])
def test_decimal_sum_is_exact_in_cli_and_api(tmp_path: Path, warehouse: str, pg_database: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    use_emulator(warehouse, tmp_path, monkeypatch, pg_database)
    table = pa.table({"id": pa.array(range(len(AMOUNTS)), pa.int64()),
                      "amount": pa.array(AMOUNTS, pa.decimal128(18, 2))})
    manifest = write_manifest(tmp_path, warehouse, "  - name: ledger_lines\n    source: data/a.parquet\n",
                              {"data/a.parquet": table})
    apply(manifest, warehouse)
    sql = "select sum(amount) as total, sum(amount * 2) as doubled, min(amount) as low from ledger_lines"
    result = CliRunner().invoke(main, ["query", str(manifest), sql, "--format", "json"])
    assert result.exit_code == 0, result.output
    row = {k.lower(): v for k, v in json.loads(result.output)[0].items()}
    assert row == {"total": str(EXACT), "doubled": str(EXACT * 2), "low": str(min(AMOUNTS))}

    env = {k: v for k, v in os.environ.items() if k.startswith(("MANIFEST_LOADER", "DW_"))}
    with TestClient(create_app(tmp_path, env=env), base_url="http://127.0.0.1") as client:
        response = client.post("/api/query", json={"experiment": "m", "target_warehouse": warehouse,
                                                   "sql": "select sum(amount) from ledger_lines"})
    assert response.status_code == 200, response.text
    assert response.json()["rows"] == [[str(EXACT)]]
