"""Live progress of the loads this server runs, for GET /api/runs/{id}."""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from ..progress import Progress


class ApiProgress(Progress):
    """Keeps the run id and per-table rows and bytes while a load runs, for GET /api/runs/{id}."""

    def __init__(self, tables: list[str]):
        super().__init__()
        self.lock = threading.Lock()
        self.started = threading.Event()
        self.finished = threading.Event()
        self.run_id: str | None = None
        self.error: BaseException | None = None
        self.phase = "starting"
        self.stage_bytes = 0
        self.staged_bytes = 0
        self.messages: deque[str] = deque(maxlen=20)
        self.table_files: dict[str, int] = {}
        for name in tables:
            self.tables[name] = {"rows": 0, "bytes": 0, "status": "pending"}

    def event(self, kind: str, **fields: Any) -> None:
        with self.lock:
            if kind == "run_started":
                self.run_id = fields["run_id"]
            elif kind == "stage_start":
                self.phase, self.stage_bytes = "staging", fields.get("bytes", 0)
            elif kind == "stage_file":
                self.staged_bytes += fields.get("bytes", 0)
            elif kind == "table_start":
                self.phase = "loading"
                self.table_files[fields["table"]] = fields.get("files", 0)
            elif kind in ("message", "waiting"):
                self.messages.append(fields.get("message", ""))
            elif kind == "retry":
                self.messages.append(f"retrying {fields.get('what')} after {fields.get('error')}")
            super().event(kind, **fields)
        if kind == "run_started":
            self.started.set()

    def done(self, error: BaseException | None) -> None:
        with self.lock:
            self.error = error
            self.phase = "failed" if error else "finished"
        self.finished.set()
        self.started.set()

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            tables = {}
            for name, state in self.tables.items():
                entry = {k: v for k, v in state.items() if k != "started"}
                if name in self.table_files:
                    entry["files"] = self.table_files[name]
                tables[name] = entry
            return dict(live=not self.finished.is_set(), phase=self.phase,
                        rows=sum(t.get("rows", 0) for t in tables.values()),
                        bytes=sum(t.get("bytes", 0) for t in tables.values()),
                        stage_bytes=self.stage_bytes, staged_bytes=self.staged_bytes, tables=tables,
                        messages=list(self.messages))

