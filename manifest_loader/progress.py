"""Progress of a load: rich bars on a terminal, one log line per table elsewhere, JSON events for machines.

The loader calls a `Progress`; it never prints directly, so the CLI, the HTTP API and tests
can each watch a load their own way.
"""

from __future__ import annotations

import json
import sys
import time
from typing import IO, Any


class Progress:
    """Receives events; the base class ignores them (used by the API and tests)."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[str, Any]] = {}

    def event(self, kind: str, **fields: Any) -> None:
        """Record the event (for `snapshot`) and show it."""
        table = fields.get("table")
        if table is not None:
            state = self.tables.setdefault(table, {"rows": 0, "bytes": 0, "status": "pending"})
            if kind == "table_rows":
                state["rows"] = fields["rows"]
            elif kind == "table_start":
                state.update(status="loading", expected_rows=fields.get("rows", 0), started=time.monotonic())
            elif kind == "table_done":
                state.update(status="loaded", rows=fields["rows"])
            elif kind == "stage_file":
                state["bytes"] += fields.get("bytes", 0)
        self.show(kind, fields)

    def show(self, kind: str, fields: dict[str, Any]) -> None:
        pass

    def close(self) -> None:
        pass


class LogProgress(Progress):
    """One line per stage, table and outcome: for CI logs and pipes (never looks hung)."""

    def __init__(self, stream: IO[str] | None = None):
        super().__init__()
        self.stream = stream or sys.stderr

    def show(self, kind: str, fields: dict[str, Any]) -> None:
        text = {
            "stage_start": lambda f: f"staging {f['files']} file(s), {f['bytes']} bytes to {f['stage']}",
            "stage_done": lambda f: f"staged: {f['uploaded']} uploaded, {f['skipped']} already there",
            "table_start": lambda f: f"loading {f['table']}: {f['rows']} rows from {f['files']} file(s)",
            "table_done": lambda f: f"loaded {f['table']}: {f['rows']} rows in {f['seconds']:.2f}s",
            "retry": lambda f: f"retrying {f['what']} in {f['delay']} after {f['error']} (retry {f['attempt']})",
            "waiting": lambda f: f"waiting: {f['message']}",
            "message": lambda f: f['message'],
        }.get(kind)
        if text is not None:
            print(text(fields), file=self.stream, flush=True)


class JsonProgress(Progress):
    """JSON lines on stderr, one per event, for machines."""

    def __init__(self, stream: IO[str] | None = None):
        super().__init__()
        self.stream = stream or sys.stderr

    def show(self, kind: str, fields: dict[str, Any]) -> None:
        print(json.dumps({"event": kind, **fields}, default=str), file=self.stream, flush=True)


class RichProgress(Progress):
    """Bars for staging (bytes) and for each table (rows), on a terminal."""

    def __init__(self) -> None:
        super().__init__()
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as Bars

        self.console = Console(stderr=True)
        self.bars = Bars(TextColumn("{task.description:<24}"), BarColumn(), TextColumn("{task.fields[detail]}"),
                         TimeElapsedColumn(), console=self.console, transient=False)
        self._download_column = DownloadColumn
        self.tasks: dict[str, Any] = {}
        self.bars.start()

    def show(self, kind: str, fields: dict[str, Any]) -> None:
        if kind == "stage_start":
            self.tasks["stage"] = self.bars.add_task("staging", total=max(fields["bytes"], 1),
                                                     detail=f"{fields['files']} file(s)")
        elif kind == "stage_file" and "stage" in self.tasks:
            self.bars.advance(self.tasks["stage"], fields.get("bytes", 0))
        elif kind == "stage_done" and "stage" in self.tasks:
            task = self.tasks["stage"]
            self.bars.update(task, completed=self.bars.tasks[task].total,
                             detail=f"{fields['uploaded']} uploaded, {fields['skipped']} already staged")
        elif kind == "table_start":
            self.tasks[fields["table"]] = self.bars.add_task(fields["table"], total=max(fields["rows"], 1),
                                                             detail="0 rows")
        elif kind == "table_rows" and fields["table"] in self.tasks:
            self.bars.update(self.tasks[fields["table"]], completed=fields["rows"], detail=f"{fields['rows']} rows")
        elif kind == "table_done" and fields["table"] in self.tasks:
            task = self.tasks[fields["table"]]
            self.bars.update(task, completed=self.bars.tasks[task].total, detail=f"{fields['rows']} rows")
        elif kind in ("retry", "waiting", "message"):
            retry = f"retrying {fields.get('what')} in {fields.get('delay')} after {fields.get('error')}"
            self.bars.console.print(fields.get("message") or retry)

    def close(self) -> None:
        self.bars.stop()


def make_progress(mode: str) -> Progress:
    """`auto` picks bars on a terminal (not in CI), log lines otherwise."""
    import os

    if mode == "json":
        return JsonProgress()
    if mode == "none":
        return Progress()
    if mode == "auto" and sys.stderr.isatty() and os.environ.get("CI", "").lower() != "true":
        return RichProgress()
    return LogProgress()
