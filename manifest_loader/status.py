"""`status`: the load runs recorded in the metadata database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .runs import RunStore, metadata_url
from .target import state_dir


def _duration(row: dict[str, Any]) -> str:
    if row.get("finished_at") and row.get("started_at"):
        return f"{(row['finished_at'] - row['started_at']).total_seconds():.1f}s"
    return "-"


def _manifest_name(name_or_run: str) -> str:
    """A manifest file given where a name is expected (as every other command takes it): its name."""
    if name_or_run.endswith((".yaml", ".yml")) or Path(name_or_run).is_file():
        from .manifest import load_manifest

        return load_manifest(name_or_run).name
    return name_or_run


def show_status(name_or_run: str | None, warehouse: str | None, as_json: bool, limit: int) -> str:
    store = RunStore(metadata_url(state_dir()))
    if name_or_run:
        name_or_run = _manifest_name(name_or_run)
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
                lines.append(f"  {'error':<18} {values['error']}")
            lines.append("  tables:")
            lines += [f"    {t['table_name']:<24} {t['mode']:<8} {t['status']:<9} {t['rows']:>10} rows "
                      f"{t['files']:>4} file(s) {t['seconds'] or 0:7.2f}s" for t in record.tables]
            return "\n".join(lines) + "\n"
    runs = store.list(name_or_run, warehouse, limit)
    if as_json:
        return json.dumps(runs, default=str, indent=2) + "\n"
    if not runs:
        return f"no load runs of '{name_or_run}' recorded yet\n" if name_or_run else "no load runs recorded yet\n"
    lines = [f"{'run':<8}  {'manifest':<16} {'warehouse':<9} {'status':<10} {'started (UTC)':<19}  "
             f"{'duration':>8} {'rows':>10}  error"]
    for run in runs:
        error = (run.get("error") or "").splitlines()[0][:60] if run.get("error") else ""
        lines.append(f"{run['id'][:8]}  {run['manifest_name']:<16} {run['warehouse']:<9} {run['status']:<10} "
                     f"{run['started_at']:%Y-%m-%d %H:%M:%S}  {_duration(run):>8} {run['rows']:>10}  {error}")
    return "\n".join(lines) + "\n"
