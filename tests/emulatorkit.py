"""Both emulators from one test: the Snowflake emulator embedded on disk, the Redshift emulator on a
private PostgreSQL database, each with a file:// stage and state under the test's folder."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

WAREHOUSES = ("redshift", "snowflake")
_LOADER_VARIABLES = ("DW_SIMULATOR_REDSHIFT_URL", "DW_SIMULATOR_SNOWFLAKE_URL", "DW_SIMULATOR_STAGE_BUCKET",
                     "DW_SIMULATOR_TARGET_DB_URL", "AWS_ENDPOINT_URL")


def use_emulator(warehouse: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_url: str | None) -> None:
    """Point the loader at one emulator (the Redshift one at pg_url): state under tmp_path, nothing from
    the developer's shell."""
    monkeypatch.setenv("MANIFEST_LOADER_STATE_DIR", str(tmp_path / "state"))
    for name in _LOADER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    if warehouse == "redshift" and pg_url is not None:
        monkeypatch.setenv("DW_SIMULATOR_REDSHIFT_URL", pg_url)


def write_manifest(folder: Path, warehouse: str, tables: str, files: dict[str, pa.Table] | None = None) -> Path:
    """m.yaml in folder with the given `tables:` body (YAML text), and Parquet files by relative path."""
    for relative, table in (files or {}).items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, folder / relative)
    manifest = folder / "m.yaml"
    manifest.write_text(f"version: 1\nname: probe\ntarget: {{warehouse: {warehouse}}}\ntables:\n{tables}",
                        encoding="utf-8")
    return manifest
