"""`experiment status`: per generation run, its loads, their outcome and the row-count check, as text or JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .experiment import experiment_status


def _when(value: Any) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S}" if hasattr(value, "strftime") else str(value or "-")


def format_experiment_status(name: str, as_json: bool, env: Mapping[str, str] | None = None) -> str:
    status = experiment_status(name, env)
    if as_json:
        return json.dumps(status, default=str, indent=2) + "\n"
    lines = [f"experiment {name} (warehouse_type {status['warehouse_type'] or '-'}; chosen here: "
             f"{status['saved_warehouse'] or '-'})"]
    if not status["generation_runs"]:
        lines.append("  no generation runs yet")
    for run in status["generation_runs"]:
        generated = sum(run["generated"].values())
        when = _when(run["completed_at"] or run["started_at"])
        lines.append(f"generation run {run['id']}  {run['status']:<9}  {when}  {generated} rows generated  "
                     f"{run['output_path'] or ''}")
        if not run["loads"]:
            lines.append("    not loaded")
        for load in run["loads"]:
            check = {True: "rows match", False: "ROWS DIFFER: " + "; ".join(load["mismatches"]),
                     None: ""}[load["rows_match"]]
            error = f"  {load['error'].splitlines()[0][:80]}" if load["error"] else ""
            lines.append(f"    load {load['id'][:8]}  {load['warehouse']:<9} {load['schema']:<16} "
                         f"{load['status']:<10} {_when(load['started_at'])}  {load['rows']:>10} rows  {check}{error}")
    return "\n".join(lines) + "\n"
