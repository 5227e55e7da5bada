"""Placeholders inside quoted names (issue 14, finding 9) on both emulators: a schema named `100%`
or `s%(table_name)s:table_name` loads, is listed by the ledger and reads back, where `%` once
failed after DDL committed and `%(table_name)s` spliced a value into the name."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from relkit import Emulator, isolated_emulator

from manifest_loader.apply import apply

SCHEMAS = ["100%", "s%(table_name)s:table_name?"]

# The embedded Snowflake emulator's database on disk, or `manifest-loader serve` in its own process.
pytestmark = pytest.mark.online


@pytest.fixture(params=["redshift", "snowflake"])
def emulator(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    return isolated_emulator(request, tmp_path, monkeypatch)


def test_schemas_holding_placeholders_load(emulator: Emulator, tmp_path: Path) -> None:
    folder = tmp_path / "manifests"
    (folder / "data").mkdir(parents=True)
    pq.write_table(pa.table({"id": pa.array([1, 2, 3], pa.int64())}), folder / "data" / "t.parquet")
    for i, schema in enumerate(SCHEMAS):
        manifest = folder / f"m{i}.yaml"
        manifest.write_text(f"version: 1\nname: m{i}\ntarget: {{warehouse: {emulator.warehouse}, schema: '{schema}'}}\n"
                            "tables:\n  - name: t\n    source: data/t.parquet\n", encoding="utf-8")
        assert apply(manifest).rows == 3
        assert not apply(manifest).changed   # the ledger was written under the same name
    assert {name: rows for name, rows in emulator.snapshot().items() if name.endswith(".t")} == {
        f"{schema.lower()}.t": 3 for schema in SCHEMAS}
