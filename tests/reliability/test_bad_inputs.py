"""Bad inputs at apply time: tests/bad_inputs/ (apply-level mistakes and attacks), and every
validate-level case of tests/manifests/invalid/ run through `apply` instead of `validate`.

Each case runs `manifest-loader apply` on each emulator and must exit with its code and print
its messages, without a traceback. When it fails, nothing was written: no table of either
emulator changed or appeared (the Snowflake emulator's DDL commits on its own, as Snowflake's
does, and a failed load drops again what it created), no file appeared next to the manifest;
a manifest or source mistake (exit 2) also staged nothing and recorded no run; a failed load
(exit 1) is recorded as failed and left on the stage only complete, content-addressed copies of
its source files (the default `stage.cleanup: never`; `stage gc` lists them). When an attack
input is accepted (exit 0), the named tables hold exactly their rows, and nothing else changed.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from badcorpus import Case, cases
from click.testing import CliRunner, Result
from relkit import ROOT, Emulator, staged_files

from manifest_loader.cli import main
from manifest_loader.runs import RunStore, metadata_url

CASES = cases()
PARAMS = [pytest.param(case, warehouse, id=f"{case.name}-{warehouse}")
          for case in CASES for warehouse in case.warehouses]
INVALID = sorted((ROOT / "tests" / "manifests" / "invalid").glob("*.yaml"))
_AMBIENT = ("DW_SIMULATOR_REDSHIFT_URL", "DW_SIMULATOR_SNOWFLAKE_URL", "DW_SIMULATOR_STAGE_BUCKET",
            "DW_SIMULATOR_TARGET_DB_URL", "AWS_ENDPOINT_URL")


@pytest.fixture(scope="module")
def shared_pg(pg_url: str) -> Iterator[str]:
    """One database for the whole corpus: every case checks that it left it exactly as it was."""
    from services import create_database, database_name, drop_database

    url = create_database(pg_url)
    yield url
    drop_database(pg_url, database_name(url))


def _environment(monkeypatch: pytest.MonkeyPatch, state: Path, pg_url: str, extra: dict[str, str | None]) -> None:
    for name in list(os.environ):
        if name in _AMBIENT or name.startswith(("ML_BAD_", "ML_CORPUS_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("MANIFEST_LOADER_STATE_DIR", str(state))
    monkeypatch.setenv("DW_SIMULATOR_REDSHIFT_URL", pg_url)
    for name, value in extra.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if not p.is_relative_to(folder / "state")}


def _drop_new_schemas(emulator: Emulator, before: set[str]) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(emulator.pg_url, autocommit=True) as conn:   # type: ignore[arg-type]
        for (schema,) in conn.execute("SELECT nspname FROM pg_namespace").fetchall():
            if schema.lower() in emulator.schemas() - before:
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def _assert_nothing_written(case: str, emulator: Emulator, before: dict[str, int], code: int,
                            result: Result) -> None:
    after = emulator.snapshot()
    # The Snowflake emulator commits DDL first, as Snowflake does: a failed load drops again the
    # tables it created, so neither emulator keeps anything.
    assert after == before, f"{case}: the {emulator.warehouse} emulator changed: {before} -> {after}"
    staged = staged_files(emulator.state)
    runs = RunStore(metadata_url(emulator.state)).list() if (emulator.state / "metadata.sqlite").exists() else []
    if code == 2:
        assert staged == [], f"{case}: a rejected manifest staged {staged}"
        assert after == {} or emulator.warehouse == "redshift", f"{case}: tables were created: {after}"
        assert [r["status"] for r in runs] in ([], ["failed"]), runs
        return
    for path in staged:   # complete, content-addressed copies only: no partial uploads, no strays
        assert not path.name.startswith("."), f"{case}: a partial upload was left: {path}"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == path.stem, f"{case}: {path} is not what its name says"
    error = next(line for line in result.output.splitlines() if line.startswith("error: "))[len("error: "):]
    assert runs and runs[0]["status"] == "failed" and runs[0]["error"].startswith(error), runs[:1]


def test_corpus_is_complete() -> None:
    assert len(CASES) >= 60
    corpus = CASES[0].manifest.parent
    assert {p.stem for p in corpus.glob("*.json")} == {c.name for c in CASES}
    kinds = {c.expected_exit(w) for c in CASES for w in c.warehouses}
    assert kinds == {0, 1, 2}


@pytest.mark.parametrize(("case", "warehouse"), PARAMS)
def test_bad_input(case: Case, warehouse: str, tmp_path: Path, shared_pg: str,
                   monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "case"
    folder.mkdir()
    case.build(folder)
    state = folder / "state"
    _environment(monkeypatch, state, shared_pg, case.env)
    monkeypatch.chdir(folder)
    emulator = Emulator(warehouse, state, shared_pg)
    before, schemas, files = emulator.snapshot(), emulator.schemas(), _files(folder)

    result = CliRunner().invoke(main, ["apply", "m.yaml", "--target-warehouse", warehouse, "--progress", "log"])
    try:
        assert "Traceback" not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        code = case.expected_exit(warehouse)
        assert result.exit_code == code, result.output
        for message in case.expected_messages(warehouse):
            assert message in result.output, f"{message!r} not in:\n{result.output}"
        assert _files(folder) == files, f"files appeared next to the manifest: {_files(folder) - files}"
        if code != 0:
            _assert_nothing_written(case.name, emulator, before, code, result)
            return
        after = emulator.snapshot()
        for table, rows in case.spec.get("tables", {}).items():
            assert after.get(table.lower()) == rows, f"{table}: {after}"
        changed = {t for t in after if after[t] != before.get(t)}
        assert changed <= {t.lower() for t in case.spec.get("tables", {})} | {
            t for t in after
            if t.endswith(("._manifest_loader_ledger", "._manifest_loader_keys", "._manifest_loader_changed"))}, changed
    finally:
        if warehouse == "redshift":
            _drop_new_schemas(emulator, schemas)


@pytest.mark.parametrize("manifest", INVALID, ids=lambda p: p.stem)
def test_validation_corpus_fails_the_same_way_at_apply(manifest: Path, tmp_path: Path, shared_pg: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """tests/manifests/invalid/: apply reports exactly what validate does, and writes nothing."""
    args_file = manifest.with_suffix(".args")
    args = json.loads(args_file.read_text()) if args_file.exists() else {}
    state = tmp_path / "state"
    _environment(monkeypatch, state, shared_pg, args.get("env", {}))
    monkeypatch.chdir(ROOT)
    emulator = Emulator("redshift", state, shared_pg)
    before = emulator.snapshot()
    command = ["apply", str(manifest.relative_to(ROOT))]
    if "warehouse" in args:
        command += ["--target-warehouse", args["warehouse"]]
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == manifest.with_suffix(".expected").read_text(encoding="utf-8").splitlines()
    assert emulator.snapshot() == before
    assert not state.exists() or staged_files(state) == []


@pytest.mark.online   # the embedded Snowflake emulator's database on disk
def test_sub_microsecond_timestamps_are_not_cut_on_the_snowflake_emulator(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "data").mkdir()
    pq.write_table(pa.table({"x": pa.array([1_000_000_001], pa.timestamp("ns"))}), tmp_path / "data" / "t.parquet")
    (tmp_path / "m.yaml").write_text("version: 1\nname: probe\ntarget: {warehouse: snowflake}\n"
                                     "tables:\n  - {name: t, source: data/t.parquet}\n")
    _environment(monkeypatch, tmp_path / "state", "", {"DW_SIMULATOR_REDSHIFT_URL": None})
    result = CliRunner().invoke(main, ["apply", str(tmp_path / "m.yaml")])
    # DuckDB's TIMESTAMP holds microseconds: the emulator refuses the file, as the Redshift emulator
    # does, instead of cutting the nanoseconds (real Snowflake's TIMESTAMP_NTZ(9) keeps them).
    assert result.exit_code == 1, result.output
    assert ("error: table t, column x, file data/t.parquet: values do not fit the microsecond timestamps of "
            "the Snowflake emulator") in result.output
    assert "would lose data" in result.output


@pytest.mark.online   # the embedded Snowflake emulator's database on disk
def test_whole_microsecond_nanosecond_timestamps_load_on_the_snowflake_emulator(tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "data").mkdir()
    values = [1_700_000_000_123_456_000, None, 0]   # nanoseconds, each a whole number of microseconds
    pq.write_table(pa.table({"x": pa.array(values, pa.timestamp("ns"))}), tmp_path / "data" / "t.parquet")
    (tmp_path / "m.yaml").write_text("version: 1\nname: probe\ntarget: {warehouse: snowflake}\n"
                                     "tables:\n  - {name: t, source: data/t.parquet}\n")
    _environment(monkeypatch, tmp_path / "state", "", {"DW_SIMULATOR_REDSHIFT_URL": None})
    result = CliRunner().invoke(main, ["apply", str(tmp_path / "m.yaml")])
    assert result.exit_code == 0, result.output
    query = CliRunner().invoke(main, ["query", str(tmp_path / "m.yaml"), "select x from t order by x nulls last",
                                      "--format", "json"])
    assert query.exit_code == 0, query.output
    assert [row["X"] for row in json.loads(query.output)] == \
        ["1970-01-01T00:00:00", "2023-11-14T22:13:20.123456", None]
