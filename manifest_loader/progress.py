"""Progress of a load: rich bars on a terminal, one log line per table elsewhere, JSON events for machines.

The loader calls a `Progress`; it never prints directly, so the CLI, the HTTP API and tests
can each watch a load their own way.
"""

from __future__ import annotations

import json
import sys
import time
from typing import IO, TYPE_CHECKING, Any

from .output import detach, write_line

if TYPE_CHECKING:
    from .apply import ApplyResult

# The events that end a `--json` stream: exactly one of them is its last line.
FINAL_EVENTS = ("run_succeeded", "unchanged", "run_failed")


class Progress:
    """Receives events; the base class ignores them (used by the API and tests)."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[str, Any]] = {}
        self.output_lost = False   # the reader of our output went away: keep loading, stop showing

    def event(self, kind: str, **fields: Any) -> None:
        """Record the event (for `snapshot`) and show it; showing never fails the load."""
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
        if self.output_lost:
            return
        try:
            self.show(kind, fields)
        except OSError:   # a closed pipe or terminal (rich writes on its own): the load goes on
            self.output_lost = True
            detach(sys.stderr)

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
        if text is not None and not write_line(text(fields), self.stream):
            self.output_lost = True


class JsonProgress(Progress):
    """JSON lines on stderr, one per event, for machines; `finish` writes the one final event.

    With `apply --json` nothing else is written, to either stream: the CLI ends every run, and
    every failure (a wrong manifest or command line included), with `finish`.
    """

    def __init__(self, stream: IO[str] | None = None):
        super().__init__()
        self.stream = stream or sys.stderr
        self.run_id: str | None = None
        self.finished = False

    def show(self, kind: str, fields: dict[str, Any]) -> None:
        if kind == "run_started":
            self.run_id = fields.get("run_id")
        self.emit({"event": kind, **fields})

    def emit(self, record: dict[str, Any]) -> None:
        if not self.output_lost and not write_line(json.dumps(record, default=str), self.stream):
            self.output_lost = True

    def finish(self, record: dict[str, Any]) -> None:
        """The last line of the stream: how the run ended (written once; later calls are ignored).

        A failure before the run was recorded has run_id null."""
        assert record["event"] in FINAL_EVENTS, record
        if self.finished:
            return
        self.finished = True
        self.emit({"event": record["event"], "run_id": record.get("run_id", self.run_id),
                   **{k: v for k, v in record.items() if k not in ("event", "run_id")}})


def outcome_event(result: ApplyResult) -> dict[str, Any]:
    """The final event of an apply that finished: `run_succeeded` or `unchanged`."""
    common = {"run_id": result.run_id, "manifest": result.plan.manifest_name, "warehouse": result.target.warehouse,
              "target": result.target.dialect.title, "schema": result.target.schema}
    if not result.changed:
        return {"event": "unchanged", **common, "rows": 0, "bytes": 0}
    tables = [{"table": t.table, "mode": t.mode, "status": t.status, "rows": t.rows, "bytes": t.bytes,
               "files": t.files, "seconds": round(t.seconds, 3)} for t in result.tables]
    return {"event": "run_succeeded", **common, "rows": result.rows, "bytes": result.bytes, "tables": tables}


def failure_event(exc: BaseException, exit_code: int) -> dict[str, Any]:
    """The final event of an apply that failed, whatever failed: the message, hint and exit code the
    text output would show, and a manifest's positioned problems."""
    from .errors import LoaderError, ManifestError

    event: dict[str, Any] = {"event": "run_failed", "rows": 0, "exit_code": exit_code}
    if isinstance(exc, ManifestError):
        return {**event, "error": f"{len(exc.problems)} problem(s) in the manifest", "hint": None,
                "problems": [str(p) for p in exc.problems]}
    if isinstance(exc, LoaderError):
        return {**event, "error": exc.message, "hint": exc.hint}
    if isinstance(exc, KeyboardInterrupt):
        return {**event, "error": "interrupted; nothing was committed", "hint": None}
    if hasattr(exc, "format_message"):   # click's usage errors
        return {**event, "error": exc.format_message(), "hint": "see `manifest-loader apply --help`"}
    return {**event, "error": f"unexpected {type(exc).__name__}: {exc}",
            "hint": "run again with --debug for the traceback, and report it"}


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
        try:
            self.bars.stop()
        except OSError:
            detach(sys.stderr)


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
