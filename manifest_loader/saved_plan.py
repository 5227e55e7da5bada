"""A plan saved by `plan --out`, applied only as it was reviewed (`apply --plan`).

The saved plan holds the ledger it was made against: per table, the content hashes the ledger
held and the ones the plan loads. `apply --plan` runs exactly those steps, or refuses and says
what changed since: the manifest, a file, the target, a template, or the ledger (Terraform
refuses a saved plan once the state it was made against changed).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .drift import TableDrift
from .errors import UsageError

HINT = "run `manifest-loader plan --out` again and review it"


def read_saved(path: Path) -> dict[str, Any]:
    """The saved plan's JSON; a file `plan --out` did not write is refused."""
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        str(saved["fingerprint"])
    except (ValueError, KeyError, TypeError, OSError):
        raise UsageError(f"{path} is not a plan saved by `manifest-loader plan --out`") from None
    if not isinstance(saved.get("ledger"), dict):
        raise UsageError(f"{path} holds no ledger state: it was saved by an older manifest-loader", hint=HINT)
    return dict(saved)


def held(saved: Mapping[str, Any]) -> dict[str, set[str]]:
    """The ledger the saved plan was made against: content hashes per table."""
    return {table: set(state["held"]) for table, state in saved["ledger"].items()}


def drifts(saved: Mapping[str, Any]) -> dict[str, TableDrift]:
    """The existing tables' drift the saved plan was made with (its rebuild steps depend on it)."""
    return {t["name"]: TableDrift.from_dict(t["name"], t["mode"], t["drift"])
            for t in saved.get("tables", ()) if isinstance(t.get("drift"), dict)}


def check(saved: Mapping[str, Any], current: Mapping[str, Any]) -> None:
    """Refuse unless the plan made now (as plan_to_dict gives it) is the saved one, naming what changed."""
    if saved["fingerprint"] == current["fingerprint"]:
        return
    reasons = changes(saved, current)
    what = "; ".join(reasons) if reasons else "the plan differs"
    raise UsageError(f"the saved plan is stale: {what} since it was made ({str(saved['fingerprint'])[:19]}… ≠ "
                     f"{str(current['fingerprint'])[:19]}…)", hint=HINT)


def changes(saved: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """What differs between two plans (as plan_to_dict gives them), most fundamental first."""
    found: list[str] = []
    if saved["manifest"] != current["manifest"]:
        found.append(f"the manifest {current['manifest']['file']} changed")
    if saved["target"] != current["target"] or saved.get("stage") != current.get("stage"):
        was, now = saved["target"], current["target"]
        found.append(f"the target changed (was {was.get('title')} at {was.get('url')}, schema {was.get('schema')}; "
                     f"now {now.get('title')} at {now.get('url')}, schema {now.get('schema')})"
                     if was != now else f"the stage changed (was {saved.get('stage')}, now {current.get('stage')})")
    found += _file_changes(saved, current)
    found += _ledger_changes(saved, current)
    found += _drift_changes(saved, current)
    if not found and saved["steps"] != current["steps"]:
        found.append(_template_change(saved["steps"], current["steps"]))
    return found


def _files(plan: Mapping[str, Any]) -> dict[tuple[str, str], str]:
    return {(t["name"], f["source"]): f["content_hash"] for t in plan["tables"] for f in t["files"]}


def _file_changes(saved: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    before, after = _files(saved), _files(current)
    found = []
    for key in sorted(before.keys() | after.keys()):
        table, source = key
        if key not in after:
            found.append(f"a file of table {table} is gone: {source}")
        elif key not in before:
            found.append(f"a file of table {table} is new: {source}")
        elif before[key] != after[key]:
            found.append(f"a file of table {table} changed: {source} ({before[key][:19]}… is now {after[key][:19]}…)")
    return found


def _ledger_changes(saved: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    before, after = saved.get("ledger") or {}, current.get("ledger") or {}
    found = []
    for table in sorted(before.keys() | after.keys()):
        was = set(before.get(table, {}).get("held", ()))
        now = set(after.get(table, {}).get("held", ()))
        if was != now:
            found.append(f"the ledger of table {table} changed (it held {len(was)} file(s), now {len(now)}: "
                         f"{len(now - was)} loaded and {len(was - now)} removed since; another apply ran)")
    return found


def _drift_changes(saved: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    before = {t["name"]: t.get("drift") for t in saved.get("tables", ())}
    after = {t["name"]: t.get("drift") for t in current.get("tables", ())}
    found = []
    for table in sorted(before.keys() & after.keys()):
        if before[table] != after[table]:
            now = "; ".join((after[table] or {}).get("differences", ())) or "it now matches the manifest"
            found.append(f"table {table} in the warehouse changed ({now})")
    return found


def _template_change(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> str:
    for old, new in zip(before, after, strict=False):
        if old != new:
            return (f"a template changed: step {new['number']} ({new['template']}) no longer renders what was "
                    "reviewed")
    return f"a template changed: the plan now has {len(after)} steps, not {len(before)}"
