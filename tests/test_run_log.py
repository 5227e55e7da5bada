"""apply records its run through sqlite3 once the SQLite metadata database has its tables, and
what it writes reads back through SQLAlchemy's RunStore (status, the API) exactly."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path

from manifest_loader import runs
from manifest_loader.run_log import TABLES, SqliteRunLog, open_run_log


def test_the_table_list_is_runs_metadata() -> None:
    assert set(TABLES) == set(runs.metadata.tables)


def test_a_new_database_gets_the_tables_sqlalchemy_would_create(tmp_path: Path) -> None:
    """A first apply creates the tables through sqlite3, exactly as RunStore's create_all would."""
    import sqlite3

    url = f"sqlite:///{tmp_path / 'state' / 'metadata.sqlite'}"
    assert isinstance(open_run_log(url), SqliteRunLog)
    assert isinstance(open_run_log(url), SqliteRunLog)
    runs.RunStore(f"sqlite:///{tmp_path / 'by-sqlalchemy.sqlite'}")

    def schema(path: Path) -> list[tuple[str, str, str]]:
        connection = sqlite3.connect(path)
        try:
            return connection.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
        finally:
            connection.close()

    created = schema(tmp_path / "state" / "metadata.sqlite")
    assert created == schema(tmp_path / "by-sqlalchemy.sqlite")
    assert {name for kind, name, _ in created if kind == "table"} == set(TABLES)


def test_a_database_missing_a_table_gets_it(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "metadata.sqlite"
    runs.RunStore(f"sqlite:///{path}")
    connection = sqlite3.connect(path)
    connection.execute("DROP TABLE experiment_settings")
    connection.commit()
    connection.close()
    assert isinstance(open_run_log(f"sqlite:///{path}"), SqliteRunLog)
    assert runs.RunStore(f"sqlite:///{path}").list() == []
    connection = sqlite3.connect(path)
    assert connection.execute("SELECT count(*) FROM experiment_settings").fetchone() == (0,)
    connection.close()


def test_sqlite3_writes_read_back_through_sqlalchemy(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'metadata.sqlite'}"
    store = runs.RunStore(url)
    log = open_run_log(url)
    assert isinstance(log, SqliteRunLog)
    run_id = log.start(manifest_name="ecommerce", manifest_file="m.yaml", manifest_sha256="a" * 64,
                       plan_fingerprint="sha256:x", warehouse="redshift", dialect="postgres",
                       target_url="postgresql://u:***@h/db", schema_name="ecommerce", generation_run_id=None)
    running = store.get(run_id)
    assert running is not None and running.values["status"] == "running"
    log.finish(run_id, "succeeded", rows=2274, nbytes=58_000, tables=[
        dict(table_name="customers", mode="replace", status="loaded", files=2, rows=200, bytes=17_000, seconds=0.5)])
    record = store.get(run_id)
    assert record is not None
    values = record.values
    assert values["status"] == "succeeded" and values["rows"] == 2274 and values["bytes"] == 58_000
    assert isinstance(values["started_at"], datetime) and isinstance(values["finished_at"], datetime)
    assert values["finished_at"] >= values["started_at"] and values["error"] is None
    assert record.tables == [dict(run_id=run_id, table_name="customers", mode="replace", status="loaded", files=2,
                                  rows=200, bytes=17_000, seconds=0.5)]
    assert [r["id"] for r in store.list()] == [run_id]


def test_apply_imports_neither_sqlalchemy_nor_pyarrow() -> None:
    code = ("import sys, manifest_loader.apply, manifest_loader.cli; "
            "print(sorted(m for m in ('sqlalchemy', 'pyarrow', 'boto3', 'sqlglot') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
