"""Helpers for integration tests: an isolated copy of an example, and reading tables back.

Tables are compared with their Parquet sources by content: per-column fingerprints (count,
NULL count, checksum of normalized values), so a changed value, a lost NULL or an empty
string turned NULL all fail.
"""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from datasets import column_fingerprint

from manifest_loader.progress import Progress
from manifest_loader.query import run_query

ROOT = Path(__file__).resolve().parent.parent


def copy_example(tmp_path: Path, name: str = "ecommerce") -> Path:
    """Copy manifests/<name>.yaml and its data into tmp_path; return the manifest path."""
    folder = tmp_path / "manifests"
    shutil.copytree(ROOT / "manifests" / "data" / name, folder / "data" / name)
    shutil.copy(ROOT / "manifests" / f"{name}.yaml", folder / f"{name}.yaml")
    return folder / f"{name}.yaml"


def parquet_columns(folder: Path) -> dict[str, list[Any]]:
    """Every column of every Parquet file in a folder, concatenated in file order."""
    columns: dict[str, list[Any]] = {}
    for path in sorted(folder.glob("*.parquet")):
        table = pq.read_table(path)
        for name in table.column_names:
            columns.setdefault(name, []).extend(table.column(name).to_pylist())
    return columns


def _json_normalized(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def fingerprints(columns: dict[str, list[Any]], json_columns: set[str] = frozenset()) -> dict[str, Any]:
    out = {}
    for name, values in columns.items():
        if name in json_columns:
            values = [_drop_nulls(_json_normalized(v)) for v in values]
        out[name.lower()] = column_fingerprint(values)
    return out


def _drop_nulls(value: Any) -> Any:
    """JSON objects compare without null members: {"a": null} and {} hold the same facts."""
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    return value


def warehouse_columns(manifest: Path, table: str, warehouse: str, order_by: str) -> dict[str, list[Any]]:
    """A table's columns read back through `manifest-loader query`'s code path."""
    names, rows = run_query(manifest, f"select * from {table} order by {order_by}", warehouse)
    return {name.lower(): [row[i] for row in rows] for i, name in enumerate(names)}


def count(manifest: Path, table: str, warehouse: str) -> int:
    _, rows = run_query(manifest, f"select count(*) from {table}", warehouse)
    return int(rows[0][0])


def watching(kind: str) -> tuple[Progress, threading.Event]:
    """A Progress for one apply, and an event it sets once that apply reports an event of `kind`
    ("table_start", "table_rows"): a test holds a staging thread back until the load got that far."""
    seen = threading.Event()

    class Watching(Progress):
        def event(self, name: str, **fields: Any) -> None:
            if name == kind:
                seen.set()
            super().event(name, **fields)

    return Watching(), seen
