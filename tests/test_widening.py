"""Files of one table that differ only in width within a family of types load, cast to the declared
or the widest type (with a plan note); across families they stay refused, naming the override."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner
from emulatorkit import use_emulator, write_manifest

from manifest_loader.apply import apply
from manifest_loader.cli import main
from manifest_loader.commands import make_plan, validate
from manifest_loader.errors import ManifestError
from manifest_loader.query import run_query
from manifest_loader.types import parse_type, widen

PARTS = {
    "data/part-0.parquet": pa.table({"k": pa.array([2**40, None], pa.int64()),
                                     "f": pa.array([1.5, None], pa.float32()),
                                     "d": pa.array([Decimal("12345678.90"), None], pa.decimal128(10, 2))}),
    "data/part-1.parquet": pa.table({"k": pa.array([-(2**31), 7], pa.int32()),
                                     "f": pa.array([1e300, -0.0], pa.float64()),
                                     "d": pa.array([Decimal("99999999.9999"), Decimal("-0.0001")],
                                                   pa.decimal128(12, 4))}),
}


@pytest.mark.parametrize(("a", "b", "wider"), [
    ("smallint", "bigint", "bigint"), ("integer", "smallint", "integer"), ("real", "double", "double"),
    ("decimal(10,2)", "decimal(12,4)", "decimal(12,4)"), ("decimal(10,2)", "decimal(5,5)", "decimal(13,5)"),
    ("bigint", "decimal(20,0)", "decimal(20,0)"), ("integer", "decimal(4,2)", "decimal(12,2)"),
    ("decimal(38,0)", "decimal(38,10)", None), ("integer", "double", None), ("bigint", "varchar", None),
    ("date", "timestamp", None), ("timestamp", "timestamptz", None),
])
def test_widen_stays_in_one_family(a: str, b: str, wider: str | None) -> None:
    expected = parse_type(wider) if wider else None
    assert widen(parse_type(a), parse_type(b)) == expected
    assert widen(parse_type(b), parse_type(a)) == expected


@pytest.mark.parametrize(("warehouse", "declared"), [("redshift", None), ("snowflake", None), ("redshift", "bigint")])
def test_files_differing_in_width_load_as_the_wider_type(tmp_path: Path, warehouse: str, declared: str | None,
                                                         pg_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    use_emulator(warehouse, tmp_path, monkeypatch, pg_database)
    columns = f"    columns: {{k: {{type: {declared}}}}}\n" if declared else ""
    manifest = write_manifest(tmp_path, warehouse, f"  - name: t\n    source: data/\n{columns}", PARTS)
    plan, _ = make_plan(manifest, warehouse)
    notes = [n for s in plan.steps for n in s.notes]
    assert ("column f: real in data/part-0.parquet, double in data/part-1.parquet; every file loads as double, "
            "the widest (a type override chooses another)") in notes
    assert any(n.startswith("column d: decimal(10,2) in data/part-0.parquet, decimal(12,4) in") for n in notes)
    assert any(n.startswith("column k: ") for n in notes) is (declared is None)
    assert apply(manifest, warehouse).rows == 4
    _, rows = run_query(manifest, "select k, f, d from t order by k nulls first", warehouse)
    assert [(r[0], float(r[1]) if r[1] is not None else None, r[2]) for r in rows] == [
        (None, None, None), (-(2**31), 1e300, Decimal("99999999.9999")), (7, -0.0, Decimal("-0.0001")),
        (2**40, 1.5, Decimal("12345678.9000"))]


@pytest.mark.online   # opens the embedded Snowflake emulator's database on disk
def test_across_families_is_refused_naming_the_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_emulator("snowflake", tmp_path, monkeypatch, None)
    files = {"data/a.parquet": pa.table({"k": pa.array([1], pa.int64())}),
             "data/b.parquet": pa.table({"k": pa.array([0.5], pa.float64())})}
    manifest = write_manifest(tmp_path, "snowflake", "  - name: t\n    source: data/\n", files)
    with pytest.raises(ManifestError) as refused:
        validate(manifest)
    assert "add columns: {k: {type: double}} to table 't' to load every file as double" in str(refused.value)
    # and the override it names is one that works
    manifest.write_text(manifest.read_text() + "    columns: {k: {type: double}}\n")
    assert apply(manifest).rows == 2


@pytest.mark.parametrize("warehouse", ["redshift", "snowflake"])
def test_a_declared_type_narrower_than_a_file_names_the_override_that_fits(
        tmp_path: Path, warehouse: str, pg_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    use_emulator(warehouse, tmp_path, monkeypatch, pg_database)
    files = {"data/a.parquet": pa.table({"k": pa.array([1], pa.int32())}),
             "data/b.parquet": pa.table({"k": pa.array([2**40], pa.int64())})}
    manifest = write_manifest(tmp_path, warehouse, "  - name: t\n    source: data/\n"
                              "    columns: {k: {type: integer}}\n", files)
    result = CliRunner().invoke(main, ["apply", str(manifest)])
    assert result.exit_code == 1, result.output
    assert "column k" in result.output and "data/b.parquet" in result.output, result.output
    assert "columns: {k: {type: bigint}}" in result.output, result.output
