"""A no-change re-apply on the Redshift emulator counts no unchanged table, yet still catches every
table written outside the loader (registry `marks_outside_changes`, ledger_read.py).

Each loaded table carries a statement trigger that marks it in `_manifest_loader_changed`; a table
with the trigger and no mark is not counted. The proof that it is not: another connection holds
an ACCESS EXCLUSIVE lock on every loaded table during the re-apply, with lock_timeout at 2 s for
the loader's connection, so a COUNT(*) (what every re-apply ran before) fails the apply.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import psycopg
import pyarrow as pa
import pytest
from click.testing import CliRunner
from emulatorkit import use_emulator, write_manifest

from manifest_loader.cli import main

TABLES = ("  - name: r\n    source: data/r.parquet\n    mode: replace\n"
          "  - name: a\n    source: data/a.parquet\n    mode: append\n"
          "  - name: g\n    source: data/a.parquet\n    mode: merge\n    merge_keys: [id]\n")
RELOADING = "it was changed outside the loader; reloading it"


@pytest.fixture
def loaded(tmp_path: Path, pg_database: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Tables r (replace), a (append) and g (merge), three rows each, loaded once."""
    use_emulator("redshift", tmp_path, monkeypatch, pg_database)
    rows = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "v": ["x", "y", "z"]})
    manifest = write_manifest(tmp_path, "redshift", TABLES, {"data/r.parquet": rows, "data/a.parquet": rows})
    assert _output(manifest)[0] == 0
    return manifest


def _output(manifest: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["apply", str(manifest)])
    return result.exit_code, result.output


def _marks(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [name for (name,) in conn.execute("SELECT table_name FROM probe._manifest_loader_changed "
                                                 "ORDER BY 1").fetchall()]


def test_an_unchanged_reapply_counts_no_table_and_the_load_leaves_no_mark(
        loaded: Path, pg_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with psycopg.connect(pg_database) as holder:
        holder.execute("LOCK TABLE probe.r, probe.a, probe.g IN ACCESS EXCLUSIVE MODE")
        monkeypatch.setenv("PGOPTIONS", "-c lock_timeout=2000")
        # COUNT(*) would wait for the lock and fail: what every re-apply ran before the marks.
        for _ in range(2):   # and again: a re-apply leaves nothing that makes the next one count
            code, output = _output(loaded)
            assert code == 0 and "No changes" in output, output
        monkeypatch.delenv("PGOPTIONS")
        holder.rollback()
    assert _marks(pg_database) == []   # the load's own writes marked every table; its commit cleared them
    with psycopg.connect(pg_database) as conn:
        triggers = conn.execute("SELECT c.relname, t.tgenabled FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                                "WHERE t.tgname = '_manifest_loader_changed' ORDER BY 1").fetchall()
    assert triggers == [("a", "O"), ("g", "O"), ("r", "O")]


@pytest.mark.parametrize("change", [
    "INSERT INTO probe.{t} VALUES (4, 'w')",
    "DELETE FROM probe.{t} WHERE id = 2",
    "TRUNCATE probe.{t}",
    "COPY probe.{t} (id, v) FROM STDIN",
])
def test_a_table_written_outside_the_loader_is_still_caught(loaded: Path, pg_database: str, change: str) -> None:
    with psycopg.connect(pg_database) as conn:   # someone else's connection, committed
        for table in ("r", "a"):
            if change.startswith("COPY"):
                with conn.cursor().copy(change.format(t=table)) as copy:
                    copy.write_row((9, "copied"))
            else:
                conn.execute(change.format(t=table))
    assert _marks(pg_database) == ["a", "r"]
    code, output = _output(loaded)
    if change.startswith(("INSERT", "COPY")):
        # More rows than recorded: the replace table is reloaded; an append table may hold more
        # (--force appends again), as before the marks.
        assert code == 0 and "table r holds 4 rows but the ledger recorded 3" in output and RELOADING in output
        assert "table a holds" not in output
        return
    held = 2 if change.startswith("DELETE") else 0
    # The replace table is reloaded before the append table refuses; a refusal loads nothing.
    assert code == 1 and f"table a holds {held} rows but the ledger recorded 3" in output, output
    with psycopg.connect(pg_database) as conn:
        assert conn.execute("SELECT count(*) FROM probe.r").fetchone() == (held,)
    assert _marks(pg_database) == ["a", "r"]   # still marked: the next apply counts them again


def test_an_update_marks_the_table_and_a_reload_clears_it(loaded: Path, pg_database: str,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    with psycopg.connect(pg_database) as conn:
        conn.execute("DELETE FROM probe.r WHERE id = 1")
        conn.execute("UPDATE probe.a SET v = 'changed' WHERE id = 1")   # same count: not a change to the ledger
    code, output = _output(loaded)
    assert code == 0 and "table r holds 2 rows" in output and RELOADING in output, output
    # The reload cleared every mark of r; a's mark is another transaction's and stays (counted next time).
    assert _marks(pg_database) == ["a"]
    with psycopg.connect(pg_database) as holder:
        holder.execute("LOCK TABLE probe.r IN ACCESS EXCLUSIVE MODE")
        monkeypatch.setenv("PGOPTIONS", "-c lock_timeout=2000")
        code, output = _output(loaded)   # r is not counted, a is (and still holds 3 rows)
        monkeypatch.delenv("PGOPTIONS")
        holder.rollback()
    assert code == 0 and "No changes" in output, output


@pytest.mark.parametrize("how", ["DROP TRIGGER _manifest_loader_changed ON probe.{t}",
                                 "ALTER TABLE probe.{t} DISABLE TRIGGER _manifest_loader_changed"])
def test_a_table_without_its_trigger_is_counted(loaded: Path, pg_database: str, how: str) -> None:
    with psycopg.connect(pg_database) as conn:
        for table in ("r", "a"):
            conn.execute(how.format(t=table))
            conn.execute(f"DELETE FROM probe.{table} WHERE id = 3")
    assert _marks(pg_database) == []   # nothing marked them: the count must catch it
    code, output = _output(loaded)
    assert code == 1 and "table a holds 2 rows but the ledger recorded 3" in output, output
    assert "table r holds 2 rows" in output and RELOADING in output
    with psycopg.connect(pg_database) as conn:
        enabled = conn.execute("SELECT tgenabled FROM pg_trigger WHERE tgname = '_manifest_loader_changed' "
                               "AND tgrelid = 'probe.r'::regclass").fetchall()
    # The refusal rolled the load back, so r's trigger is as the user left it; a load puts it back.
    assert enabled == ([] if how.startswith("DROP") else [("D",)])


def test_a_user_who_may_write_a_table_but_not_the_marks_still_can(loaded: Path, pg_database: str) -> None:
    role, password = f"writer_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    with psycopg.connect(pg_database, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        try:
            admin.execute(f"GRANT USAGE ON SCHEMA probe TO {role}")
            admin.execute(f"GRANT INSERT ON probe.r TO {role}")
            with psycopg.connect(pg_database, user=role, password=password) as writer:
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    writer.execute("SELECT * FROM probe._manifest_loader_changed")
                writer.rollback()
                writer.execute("INSERT INTO probe.r VALUES (4, 'w')")
                writer.commit()
            assert _marks(pg_database) == ["r"]
            code, output = _output(loaded)
            assert code == 0 and "table r holds 4 rows" in output and RELOADING in output, output
            assert _marks(pg_database) == []
        finally:
            admin.execute(f"DROP OWNED BY {role}")
            admin.execute(f"DROP ROLE {role}")


def _paused_apply(manifest: Path, at: str) -> subprocess.Popen[str]:
    """`apply` in its own process, stopped 2 s at each `at` point; returned once it first stops there."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
           "MANIFEST_LOADER_TEST_PAUSE_AT": at, "MANIFEST_LOADER_TEST_PAUSE_SECONDS": "2"}
    process = subprocess.Popen([sys.executable, "-m", "manifest_loader.cli", "apply", str(manifest)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=manifest.parent)
    assert process.stderr is not None
    for line in process.stderr:
        if f"paused at {at}" in line:
            return process
    raise AssertionError(f"apply never paused at {at}: {process.communicate()}")


def _new_files(manifest: Path) -> None:
    """A new file for the append table, and the replace table's file changed: the next apply loads both."""
    write_manifest(manifest.parent, "redshift", TABLES.replace("data/a.parquet", "data/a*.parquet", 1),
                   {"data/a2.parquet": pa.table({"id": pa.array([4, 5], pa.int64()), "v": ["u", "w"]}),
                    "data/r.parquet": pa.table({"id": pa.array([1, 2, 3, 4], pa.int64()), "v": list("wxyz")})})


def test_a_write_committed_after_the_apply_read_the_marks_is_not_lost(loaded: Path, pg_database: str) -> None:
    """Someone writes r and a after the apply read the marks, before its load's first statement."""
    _new_files(loaded)
    process = _paused_apply(loaded, "lock")
    with psycopg.connect(pg_database) as conn:
        conn.execute("DELETE FROM probe.a WHERE id = 1")
        conn.execute("INSERT INTO probe.r VALUES (100, 'late')")
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, out + err
    with psycopg.connect(pg_database) as conn:
        # The replace load's DELETE came after the write, so it removed the late row: r is exactly its file.
        assert conn.execute("SELECT count(*), sum(id) FROM probe.r").fetchone() == (4, 10)
        assert conn.execute("SELECT count(*) FROM probe.a").fetchone() == (4,)
    # a's mark is the other transaction's: the append load kept it, so the next apply counts a.
    assert _marks(pg_database) == ["a"]
    code, output = _output(loaded)
    assert code == 1 and "table a holds 4 rows but the ledger recorded 5" in output, output


def test_a_write_during_a_replace_load_waits_for_it_and_is_caught(loaded: Path, pg_database: str) -> None:
    """Between the replace load's DELETE and its COPY, someone inserts into r: the insert waits for the
    load's commit (the trigger's lock), lands after it and leaves its mark."""
    _new_files(loaded)
    process = _paused_apply(loaded, "copy")

    def insert_late() -> None:
        with psycopg.connect(pg_database) as conn:
            conn.execute("INSERT INTO probe.r VALUES (100, 'late')")

    writer = threading.Thread(target=insert_late)
    writer.start()
    out, err = process.communicate(timeout=120)
    writer.join(timeout=60)
    assert process.returncode == 0, out + err
    with psycopg.connect(pg_database) as conn:
        assert conn.execute("SELECT count(*), sum(id) FROM probe.r").fetchone() == (5, 110)
    assert _marks(pg_database) == ["r"]
    code, output = _output(loaded)
    assert code == 0 and "table r holds 5 rows but the ledger recorded 4" in output and RELOADING in output, output
