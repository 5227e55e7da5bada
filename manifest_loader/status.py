"""`status`: the load runs recorded in the metadata database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .runs import RunStore, metadata_url
from .state import StateLocation, state_location
from .target import mask_url

# The list view keeps a run on one line; `status RUN_ID` shows the whole error and its hint.
LIST_ERROR_WIDTH = 60


def _duration(row: dict[str, Any]) -> str:
    if row.get("finished_at") and row.get("started_at"):
        return f"{(row['finished_at'] - row['started_at']).total_seconds():.1f}s"
    return "-"


def _is_manifest_file(name_or_run: str) -> bool:
    return name_or_run.endswith((".yaml", ".yml")) or Path(name_or_run).is_file()


def _where(state: StateLocation, url: str) -> str:
    """Which state folder and metadata database the runs shown come from."""
    line = f"state folder: {state}"
    if not url.startswith("sqlite:///") or not url.endswith(str(state.path / "metadata.sqlite")):
        line += f"; runs recorded in {mask_url(url)}"
    return line + "\n"


def show_status(name_or_run: str | None, warehouse: str | None, as_json: bool, limit: int) -> str:
    # A manifest file names its project: its state folder, not the current folder's.
    manifest_file = name_or_run if name_or_run and _is_manifest_file(name_or_run) else None
    state = state_location(start=manifest_file)
    url = metadata_url(state.path)
    store = RunStore(url)
    if manifest_file is not None:
        from .manifest import load_manifest

        name_or_run = load_manifest(manifest_file).name
    if name_or_run and len(name_or_run) >= 8 and all(c in "0123456789abcdef-" for c in name_or_run):
        record = store.get(name_or_run)
        if record is not None:
            if as_json:
                return json.dumps({**record.values, "tables": record.tables}, default=str, indent=2) + "\n"
            values = record.values
            lines = [f"run {record.run_id}", *(f"  {k:<18} {values[k]}" for k in (
                "manifest_name", "manifest_file", "warehouse", "dialect", "target_url", "schema_name", "status",
                "started_at", "finished_at", "rows", "bytes", "generation_run_id", "plan_fingerprint"))]
            if values.get("error"):
                # The whole message, hint included, each of its lines under the label.
                first, *rest = str(values["error"]).splitlines()
                lines.append(f"  {'error':<18} {first}")
                lines += [f"  {'':<18} {line.strip()}" for line in rest]
            lines.append("  tables:")
            lines += [f"    {t['table_name']:<24} {t['mode']:<8} {t['status']:<9} {t['rows']:>10} rows "
                      f"{t['files']:>4} file(s) {t['seconds'] or 0:7.2f}s" for t in record.tables]
            return "\n".join(lines) + "\n" + _where(state, url)
    runs = store.list(name_or_run, warehouse, limit)
    if as_json:
        return json.dumps(runs, default=str, indent=2) + "\n"
    generations = _generation_runs(name_or_run)
    if not runs:
        empty = f"no load runs of '{name_or_run}' recorded yet\n" if name_or_run else "no load runs recorded yet\n"
        return empty + generations + _where(state, url)
    lines = [f"{'run':<8}  {'manifest':<16} {'warehouse':<9} {'status':<10} {'started (UTC)':<19}  "
             f"{'duration':>8} {'rows':>10}  error"]
    cut = False
    for run in runs:
        error = _short_error(run.get("error"))
        cut = cut or error.endswith("…")
        lines.append(f"{run['id'][:8]}  {run['manifest_name']:<16} {run['warehouse']:<9} {run['status']:<10} "
                     f"{run['started_at']:%Y-%m-%d %H:%M:%S}  {_duration(run):>8} {run['rows']:>10}  {error}")
    if cut:
        lines.append("(errors cut to one line: `manifest-loader status RUN_ID` shows the whole message and hint)")
    return "\n".join(lines) + "\n" + generations + _where(state, url)


def _short_error(error: str | None) -> str:
    """The error's first line, cut to LIST_ERROR_WIDTH; '…' marks that there is more."""
    if not error:
        return ""
    lines = error.splitlines()
    first = lines[0]
    if len(first) > LIST_ERROR_WIDTH:
        return first[:LIST_ERROR_WIDTH - 1] + "…"
    return first + (" …" if len(lines) > 1 else "")


def _generation_runs(name: str | None) -> str:
    """For a dw-simulator experiment's name: its generation runs, each with its loads (experiment status)."""
    if not name:
        return ""
    from .simulator.metadata import maybe_simulator

    db = maybe_simulator()
    if db is None or db.find_experiment(name) is None:
        return ""
    from .simulator.status import format_experiment_status

    return "\n" + format_experiment_status(name, as_json=False)
