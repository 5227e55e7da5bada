"""Four applies of one manifest started at once, on each emulator, two of them with --force.

They serialize (PostgreSQL: the advisory lock taken in the transaction; fakesnow: DuckDB's file
lock, held by the whole connection), so: every process exits 0, the tables hold exactly their
files (the append table once per run that loaded, since --force loads a file again by design),
the ledger has one entry per file, each replace table's entries come from one run, and
all four runs are recorded (the forced ones `succeeded`, the others `succeeded` or `unchanged`).
Each load pauses 1 s before COMMIT (the test hook), so the others are sure to find the lock
taken, and at least one says it is waiting.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from crashkit import TABLES, make_workspace, observe
from relkit import ROOT, Emulator

from manifest_loader.runs import RunStore, metadata_url

ROWS = 20_000


@pytest.fixture(params=["redshift", "snowflake"])
def emulator(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    for name in ("DW_SIMULATOR_REDSHIFT_URL", "DW_SIMULATOR_STAGE_BUCKET", "DW_SIMULATOR_TARGET_DB_URL",
                 "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    pg_url = request.getfixturevalue("pg_database") if request.param == "redshift" else None
    return Emulator(request.param, tmp_path / "state", pg_url)


def test_four_applies_at_once_serialize(emulator: Emulator, tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path, ROWS)
    env = {**os.environ, **emulator.env(), "PYTHONPATH": str(ROOT), "MANIFEST_LOADER_TEST_PAUSE_AT": "commit",
           "MANIFEST_LOADER_TEST_PAUSE_SECONDS": "1"}
    base = [sys.executable, "-m", "manifest_loader.cli", "apply", str(workspace.manifest), "--target-warehouse",
            emulator.warehouse, "--progress", "log", "--lock-timeout", "120"]
    flags = [[], ["--force"], [], ["--force"]]
    processes = [subprocess.Popen(base + extra, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  cwd=tmp_path) for extra in flags]
    outputs = [p.communicate(timeout=240) for p in processes]
    report = "\n---\n".join(out + err for out, err in outputs)
    assert [p.returncode for p in processes] == [0, 0, 0, 0], report
    assert any("waiting: another " in err for _, err in outputs), report

    recorded = RunStore(metadata_url(emulator.state)).list()
    loaded = {r["id"] for r in recorded if r["status"] == "succeeded"}
    content, ledger = observe(emulator)
    expected = workspace.expected()
    # --force on an append table loads its file again, by design: once per run that loaded.
    journal = expected.pop("journal")
    assert content.pop("journal") == tuple(len(loaded) * n for n in journal)
    assert content == expected
    for table in TABLES:
        entries, hashes, _ = ledger[table]
        assert entries == hashes == len(list((workspace.data / table).glob("*.parquet"))), (table, ledger)
    for table in ("accounts", "events"):    # replace: one run's files, never a mix
        (runs,), = emulator.rows(f"SELECT count(DISTINCT run_id) FROM crash._manifest_loader_ledger "
                                 f"WHERE table_name = '{table}'")
        assert runs == 1, table

    by_pid = {r["pid"]: r for r in recorded}
    assert len(recorded) == 4 and set(by_pid) == {p.pid for p in processes}
    statuses = [by_pid[p.pid]["status"] for p in processes]
    assert statuses[1] == statuses[3] == "succeeded", statuses
    assert set(statuses) <= {"succeeded", "unchanged"}, statuses
    assert all(r["finished_at"] is not None and r["error"] is None for r in recorded)
    (last,), = emulator.rows("SELECT DISTINCT run_id FROM crash._manifest_loader_ledger WHERE table_name = 'events'")
    assert last in loaded
