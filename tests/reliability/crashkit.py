"""Crash trials: a generated multi-table load, an apply process killed with SIGKILL, and checks.

The load has one table per mode, so a crash is checked against what each mode promises:

``accounts``  replace  2,000 or 3,000 rows (versions A and B alternate)
``events``    replace  the big table (``rows`` rows, three files) whose COPY a kill can hit;
                       every event points at an account (foreign key) and has a unique id
``balances``  merge    the same 2,000 keys in every version, new values each time
``journal``   append   one new file per trial: exactly-once per file is what a re-run must keep

A table's *content* is (count, sum of id, sum of value); the content a complete load gives
is computed from the source files, so "old contents or the complete new load" is
``observed in (before, after)`` for every table at once (all tables come from one transaction).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from relkit import Emulator

ROOT = Path(__file__).resolve().parents[2]
TABLES = ("accounts", "events", "balances", "journal")
Content = dict[str, tuple[int, int, int]]
NOTES = pa.array([f"event note {i}" for i in range(50)])

MANIFEST = """\
version: 1
name: crash
target: {warehouse: redshift, schema: crash}
tables:
  - name: accounts
    source: data/accounts/
    primary_key: [id]
  - name: events
    source: data/events/
    primary_key: [id]
    foreign_keys:
      - {columns: [account_id], references: {table: accounts, columns: [id]}}
  - name: balances
    source: data/balances/
    mode: merge
    merge_keys: [id]
  - name: journal
    source: data/journal/
    mode: append
"""


@dataclass
class CrashWorkspace:
    manifest: Path
    rows: int                      # events rows in version A (B has 10% more)
    version: str = "A"
    journal_files: int = 0

    @property
    def data(self) -> Path:
        return self.manifest.parent / "data"

    def write(self, version: str) -> None:
        """Make the source files those of `version`, and add one journal file."""
        self.version = version
        big = version == "B"
        accounts = range(1, (3000 if big else 2000) + 1)
        _write(self.data / "accounts" / "part-0.parquet", {"id": accounts, "value": [i * (3 if big else 2)
                                                                                   for i in accounts]})
        events = self.rows + (self.rows // 10 if big else 0)
        bounds = [1 + events * i // 3 for i in range(4)]
        for i in range(3):
            part = range(bounds[i], bounds[i + 1])
            _write(self.data / "events" / f"part-{i}.parquet",
                   {"id": part, "account_id": [n % 2000 + 1 for n in part], "value": [n % 997 for n in part],
                    "note": pa.DictionaryArray.from_arrays(pa.array([n % 50 for n in part], pa.int32()), NOTES)})
        keys = range(1, 2001)
        # Merge skips files its ledger has seen, so every version's balances are new values.
        _write(self.data / "balances" / "part-0.parquet", {"id": keys, "value": [k * (5 + self.journal_files)
                                                                                 for k in keys]})
        start = self.journal_files * 100 + 1
        journal = range(start, start + 100)
        _write(self.data / "journal" / f"part-{self.journal_files:03d}.parquet",
               {"id": journal, "value": [n % 13 for n in journal]})
        self.journal_files += 1

    def flip(self) -> None:
        self.write("B" if self.version == "A" else "A")

    def expected(self) -> Content:
        """What every table holds after a complete load of the current files."""
        out: Content = {}
        for table in TABLES:
            data = pq.read_table(self.data / table, columns=["id", "value"])
            out[table] = (data.num_rows, pc.sum(data.column("id")).as_py() or 0,
                          pc.sum(data.column("value")).as_py() or 0)
        return out


def _write(path: Path, columns: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table({k: v if isinstance(v, pa.Array) else pa.array(v, pa.int64()) for k, v in columns.items()})
    temp = path.with_suffix(".tmp")
    pq.write_table(table, temp, row_group_size=128 * 1024)
    os.replace(temp, path)


def make_workspace(tmp_path: Path, rows: int) -> CrashWorkspace:
    folder = tmp_path / "crash"
    folder.mkdir()
    manifest = folder / "crash.yaml"
    manifest.write_text(MANIFEST)
    workspace = CrashWorkspace(manifest, rows)
    workspace.write("A")
    return workspace


def observe(emulator: Emulator) -> tuple[Content, dict[str, tuple[int, int, int]]]:
    """Each table's content, and each table's ledger (entries, distinct hashes, rows), read directly."""
    union = " UNION ALL ".join(
        f"SELECT '{t}', count(*), coalesce(sum(id), 0), coalesce(sum(value), 0) FROM crash.{t}" for t in TABLES)
    ledger = ("SELECT 'ledger:' || table_name, count(*), count(DISTINCT content_hash), sum(row_count) "
              "FROM crash._manifest_loader_ledger GROUP BY table_name")
    content: Content = {}
    entries: dict[str, tuple[int, int, int]] = {}
    for name, n, s, v in emulator.rows(f"{union} UNION ALL {ledger}"):
        if str(name).startswith("ledger:"):
            entries[str(name)[len("ledger:"):]] = (int(n), int(s), int(v or 0))
        else:
            content[str(name)] = (int(n), int(s), int(v))
    return content, entries


@dataclass
class Killed:
    pid: int
    trigger: str
    seconds: float
    killed: bool              # False: the process finished before the trigger fired
    returncode: int | None
    stderr: list[str] = field(default_factory=list)

    @property
    def last_event(self) -> str:
        """Where the process was when it died, by its last progress line."""
        for line in reversed(self.stderr):
            if line.startswith("manifest-loader: paused at "):
                return line.rsplit(" ", 1)[-1]
            fields = event(line)
            if fields and "event" in fields:
                return " ".join(str(fields[k]) for k in ("event", "table") if k in fields)
        return "starting"


def run_and_kill(manifest: Path, warehouse: str, env: dict[str, str], trigger: Callable[[str, float], bool],
                 name: str, deadline: float = 120.0, pause_at: str | None = None) -> Killed:
    """Start `manifest-loader apply`; SIGKILL it the moment trigger(stderr_line, elapsed) says so.

    trigger is also polled every 20 ms with an empty line, for time-based kills.
    """
    child_env = {**env, "PYTHONPATH": str(ROOT)}
    if pause_at:
        child_env["MANIFEST_LOADER_TEST_PAUSE_AT"] = pause_at
        child_env["MANIFEST_LOADER_TEST_PAUSE_SECONDS"] = "60"
    command = [sys.executable, "-m", "manifest_loader.cli", "apply", str(manifest), "--target-warehouse",
               warehouse, "--progress", "json"]
    started = time.monotonic()
    process = subprocess.Popen(command, env=child_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True, cwd=manifest.parent)
    lines: list[str] = []
    fire = threading.Event()

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line.rstrip("\n"))
            if not fire.is_set() and trigger(line, time.monotonic() - started):
                _kill(process)
                fire.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    while process.poll() is None and not fire.is_set():
        if trigger("", time.monotonic() - started):
            _kill(process)
            fire.set()
            break
        if time.monotonic() - started > deadline:
            _kill(process)
            raise AssertionError(f"{name}: apply neither finished nor hit its trigger in {deadline}s:\n"
                                 + "\n".join(lines[-20:]))
        time.sleep(0.02)
    returncode = process.wait(30)
    reader.join(10)
    return Killed(process.pid, name, time.monotonic() - started, fire.is_set(), returncode, lines)


def _kill(process: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(process.pid, signal.SIGKILL)


def event(line: str) -> dict[str, Any] | None:
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        return json.loads(line)
    except ValueError:
        return None
