"""The keys a manifest declares for a table, as the loader records them beside the table.

The emulators declare no key in their DDL (PostgreSQL and DuckDB would enforce what Redshift and
Snowflake only record; the loader checks keys instead), a merge key is in no DDL anywhere, and
Snowflake's catalog has no portable view of key columns. So each load writes the keys its manifest
declares for a table into the loader's own table (KEYS_TABLE), in the load's transaction, and the
next load compares them with what its manifest declares (drift.py): the same on every target.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from .manifest import TableSpec

# What each kind of key is called in messages, in the order they are compared.
LABELS = {"primary_key": "primary key", "merge_keys": "merge keys", "foreign_keys": "foreign keys",
          "distkey": "DISTKEY", "sortkey": "SORTKEY", "cluster_by": "CLUSTER BY"}
_PHYSICAL = ("distkey", "sortkey", "cluster_by")

Keys = Mapping[str, list[str]]


def declared_keys(spec: TableSpec, warehouse: str) -> dict[str, list[str]]:
    """The table's keys by the manifest, for the target's warehouse: only the kinds it declares."""
    physical = spec.warehouse_options(warehouse)
    keys: dict[str, list[str]] = {
        "primary_key": list(spec.primary_key), "merge_keys": list(spec.merge_keys),
        "foreign_keys": [f"({', '.join(fk.columns)}) references {fk.ref_table} ({', '.join(fk.ref_columns)})"
                         for fk in spec.foreign_keys]}
    for kind in _PHYSICAL:
        value = physical.get(kind)
        keys[kind] = [value] if isinstance(value, str) else list(value or [])
    return {kind: columns for kind, columns in keys.items() if columns}


def encode(keys: Keys) -> str:
    return json.dumps(dict(keys), sort_keys=True)


def decode(text: object) -> dict[str, list[str]]:
    """A recorded definition; one this version cannot read counts as none recorded."""
    try:
        value = json.loads(str(text))
    except ValueError:
        return {}
    return {str(k): [str(c) for c in v] for k, v in value.items() if isinstance(v, list)} \
        if isinstance(value, dict) else {}


def key_differences(recorded: Keys, wanted: Keys) -> list[str]:
    """`primary key (id) in the warehouse, (id, day) in the manifest`, per kind that differs.

    Merge keys are compared only when both declare them: they exist only in mode merge, and a table
    that was replaced (no merge keys) may start merging on any key.
    """
    found = []
    for kind, label in LABELS.items():
        was, now = list(recorded.get(kind, [])), list(wanted.get(kind, []))
        if kind == "merge_keys" and not (was and now):
            continue
        if was != now:
            found.append(f"{label} {_shown(kind, was)} in the warehouse, {_shown(kind, now)} in the manifest")
    return found


def _shown(kind: str, columns: list[str]) -> str:
    if not columns:
        return "none"
    if kind == "foreign_keys":
        return "; ".join(columns)
    return f"({', '.join(columns)})"
