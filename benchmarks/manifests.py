"""Manifests the benchmark applies and plans: the load manifest, and a generated 200-table one."""

from __future__ import annotations

from pathlib import Path

from benchmarks.dataset import CODE_BYTES, NOTE_BYTES


def load_manifest(folder: Path, name: str, source: str, stage: str, checks: bool) -> Path:
    """One table `events` from the staged dataset; checks on: NOT NULL, primary key, VARCHAR bytes."""
    text = f"""\
version: 1
name: {name}
target:
  warehouse: redshift
  schema: {name}
stage:
  url: {stage}
  cleanup: never
tables:
  - name: events
    source: {source}
    primary_key: [id]
    columns:
      id: {{type: bigint, nullable: false}}
      code: {{type: varchar({CODE_BYTES})}}
      note: {{type: varchar({NOTE_BYTES})}}
{"" if checks else "    checks: false" + chr(10)}"""
    path = folder / f"{name}.yaml"
    path.write_text(text)
    return path


def wide_manifest(folder: Path, tables: int = 200) -> Path:
    """A manifest of `tables` tables over small local Parquet files, with keys and foreign keys."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    lines = ["version: 1", "name: wide", "target:", "  warehouse: redshift", "  schema: wide",
             "stage:", "  cleanup: never", "tables:"]
    rng = np.random.default_rng(200)
    for i in range(tables):
        name = f"t{i:03d}"
        path = data / f"{name}.parquet"
        if not path.exists():
            rows = 100
            pq.write_table(pa.table({
                "id": pa.array(np.arange(1, rows + 1, dtype=np.int64)),
                "parent_id": pa.array(rng.integers(1, rows + 1, size=rows, dtype=np.int64)),
                "name": pa.array([f"{name}-{j}" for j in range(rows)]),
                "amount": pa.array(rng.normal(size=rows)),
                "created": pa.array(rng.integers(0, 10**15, size=rows, dtype=np.int64)).cast(pa.timestamp("us")),
                "flag": pa.array(rng.random(rows) < 0.5),
            }), path)
        lines += [f"  - name: {name}", f"    source: data/{name}.parquet", "    primary_key: [id]",
                  "    columns:", "      name: {type: varchar(64)}"]
        if i:
            parent = f"t{(i - 1) // 2:03d}"
            lines += ["    foreign_keys:",
                      f"      - {{columns: [parent_id], references: {{table: {parent}, columns: [id]}}}}"]
    path = folder / "wide.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path
