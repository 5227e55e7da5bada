"""Real-world Parquet the way apache/parquet-testing has it, generated here with pyarrow (that
corpus is not on the package index): files written with page checksums, legacy INT96 timestamps
past the nanosecond range, INT96 inside a struct. Both emulators load the good ones with every
value equal to pyarrow's and refuse the bad ones naming file and column (tests/bad_inputs has
the refusals: source_page_checksum_mismatch, int96_beyond_year_9999)."""

from __future__ import annotations

import datetime as dt
import re
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


def _corpus_files(folder: Path) -> dict[str, Path]:
    """parquet-testing's kinds that load, made with pyarrow (tests/reliability/badcorpus.py writes them)."""
    from reliability.badcorpus import write_file

    files = {}
    for table, special in (("repeated", "footer_says_zero_rows"), ("bss", "byte_stream_split_float16"),
                           ("maps", "map_int_keys"), ("encodings", "encodings"), ("nested", "nested"),
                           ("decimals", "decimals")):
        files[table] = folder / "data" / f"{table}.parquet"
        write_file(folder, files[table], {"special": special})
    return files


def _as_loaded(value: object) -> object:
    """A value as pyarrow gives it, in the form a query returns it (JSON columns as parsed JSON)."""
    import decimal
    import json

    if isinstance(value, str) and value[:1] in ("[", "{"):
        return json.loads(value)
    if isinstance(value, decimal.Decimal | float):
        return float(value)
    if isinstance(value, memoryview | bytearray):
        return bytes(value)
    return value


@pytest.mark.parametrize("warehouse", ["redshift", "snowflake"])
def test_corpus_kinds_load_with_pyarrows_values(tmp_path: Path, warehouse: str, pg_database: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A footer saying 0 rows over 6 (repeated_no_annotation), BYTE_STREAM_SPLIT on float16 and
    decimal (byte_stream_split_extended, which DuckDB cannot decode), MAPs with string and integer
    keys, every encoding (delta_*, RLE booleans, dictionary, data page v2 with CRCs, brotli), nested
    maps, lists and all-NULL structs (lz4), decimals stored as INT32/INT64/FIXED_LEN_BYTE_ARRAY,
    binary and dates (zstd): every value equal to pyarrow's, MAPs as objects with string keys on
    both emulators."""
    import json

    from click.testing import CliRunner

    from manifest_loader.cli import main

    use_emulator(warehouse, tmp_path, monkeypatch, pg_database)
    files = _corpus_files(tmp_path)
    tables = "".join(f"  - name: {name}\n    source: data/{name}.parquet\n" for name in files)
    manifest = write_manifest(tmp_path, warehouse, tables)
    plan = CliRunner().invoke(main, ["plan", str(manifest)])
    assert plan.exit_code == 0, plan.output
    assert 'MAP columns load into ' + ("SUPER" if warehouse == "redshift" else "VARIANT") in plan.output
    assert plan.output.count("MAP columns load into") == 2   # the tables that have one: maps, nested
    assert apply(manifest, warehouse).rows == sum(pq.read_table(p).num_rows for p in files.values())
    for name, path in files.items():
        expected = pq.read_table(path).to_pylist(maps_as_pydicts="lossy")
        columns = list(expected[0])
        _, rows = run_query(manifest, f"select {', '.join(columns)} from {name} order by id", warehouse)
        loaded = [{c: _as_loaded(v) for c, v in zip(columns, row, strict=True)} for row in rows]
        wanted = [{c: _as_loaded(json.loads(json.dumps(v, default=str)) if isinstance(v, list | dict) else v)
                   for c, v in row.items()} for row in expected]
        assert loaded == wanted, name
    _, rows = run_query(manifest, "select tags, names from maps order by id", warehouse)
    assert [tuple(_as_loaded(v) for v in row) for row in rows] == [
        ({"k1": 1, "k2": 100}, {"1": "one", "20": "twenty"}), ({}, None), (None, {"3": None})]


@pytest.mark.online   # the embedded Snowflake emulator's database on disk
def test_a_column_duckdb_cannot_read_is_named_with_its_source_file(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Where DuckDB fails on a file pyarrow reads (here BYTE_STREAM_SPLIT on float16, with the
    emulator's pyarrow rewrite turned off to stand for a kind it does not know yet), the error names
    table, column and source file (not the staged <sha256>.parquet) and a fix that both emulators take."""
    from click.testing import CliRunner

    from manifest_loader.cli import main
    from manifest_loader.warehouses import duckdb_parquet

    use_emulator("snowflake", tmp_path, monkeypatch, None)
    monkeypatch.setattr(duckdb_parquet, "DECODES", {})
    files = _corpus_files(tmp_path)
    manifest = write_manifest(tmp_path, "snowflake", "  - name: bss\n    source: data/bss.parquet\n")
    result = CliRunner().invoke(main, ["apply", str(manifest)])
    assert result.exit_code == 1, result.output
    assert ("error: table bss, column f16, file data/bss.parquet: the Snowflake emulator's reader (DuckDB) cannot "
            "decode this column as written: ") in result.output
    assert "BYTE_STREAM_SPLIT" in result.output and ".parquet" in result.output
    assert re.search(r"[0-9a-f]{64}", result.output) is None, "a staged object's name leaked"
    assert "write data/bss.parquet again with pyarrow.parquet.write_table's default encodings" in result.output
    # The fix works: written again with pyarrow's defaults, the file loads.
    pq.write_table(pq.read_table(files["bss"]), files["bss"])
    assert CliRunner().invoke(main, ["apply", str(manifest)]).exit_code == 0


def test_footer_row_counts_follow_the_row_groups_and_refuse_a_row_group_at_odds_with_its_columns(
        tmp_path: Path) -> None:
    from parquet_footer import set_row_counts

    from manifest_loader.footer_checks import FooterProblem, footer_rows

    table = pa.table({"id": pa.array(range(6), pa.int32()),
                      "tags": pa.array([[], ["a"], None, ["b", "c"], [], ["d"]], pa.list_(pa.string()))})
    pq.write_table(table, tmp_path / "f.parquet", row_group_size=4)
    set_row_counts(tmp_path / "f.parquet", file_rows=0)
    metadata = pq.read_metadata(tmp_path / "f.parquet")
    assert metadata.num_rows == 0
    assert footer_rows(metadata, "f.parquet") == 6 == pq.read_table(tmp_path / "f.parquet").num_rows
    for rows in (0, 9):   # fewer and more rows than the columns hold
        pq.write_table(table, tmp_path / "g.parquet")
        set_row_counts(tmp_path / "g.parquet", group_rows=rows)
        with pytest.raises(FooterProblem, match=rf"g.parquet: row group 0 says it has {rows} rows but column "
                                                r"id holds 6 values"):
            footer_rows(pq.read_metadata(tmp_path / "g.parquet"), "g.parquet")


def test_the_vendored_large_string_map_passes_2_gb_in_its_footer() -> None:
    """tests/data/parquet/large_string_map.parquet is what make_large_string_map.py writes: 2.4 GB of
    key strings in one row group, without the Arrow schema (so pyarrow reads them as 32-bit strings)."""
    metadata = pq.read_metadata(Path(__file__).parent / "data" / "parquet" / "large_string_map.parquet")
    chunk = metadata.row_group(0).column(1)
    assert chunk.path_in_schema == "m.key_value.key" and chunk.total_uncompressed_size == 2_400_000_086
    assert b"ARROW:schema" not in (metadata.metadata or {})
