"""The metadata database: one row per apply in `load_runs`, one per table in `load_run_tables`.

Written on its own connection, committed at each change, so a rollback of the load can never
erase the record of its failure. SQLite under `.manifest-loader/` by default; any SQLAlchemy
URL via DW_SIMULATOR_TARGET_DB_URL (the simulator's own database, with its `generation_runs`).
apply writes its run records through run_log.py (sqlite3) once these tables exist in a SQLite file.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from .errors import ConnectionFailed
from .metadata_db import METADATA_ENV, now
from .metadata_db import metadata_url as metadata_url  # where callers have always found it
from .target import mask_url, url_secrets

metadata = sa.MetaData()
load_runs = sa.Table(
    "load_runs", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("manifest_name", sa.String(255), nullable=False),
    sa.Column("manifest_file", sa.String(1024), nullable=False),
    sa.Column("manifest_sha256", sa.String(64), nullable=False),
    sa.Column("plan_fingerprint", sa.String(80), nullable=False),
    sa.Column("warehouse", sa.String(32), nullable=False),
    sa.Column("dialect", sa.String(32), nullable=False),
    sa.Column("target_url", sa.String(1024), nullable=False),   # masked
    sa.Column("schema_name", sa.String(255), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),          # running|succeeded|unchanged|failed
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime),
    sa.Column("rows", sa.BigInteger, nullable=False, default=0),
    sa.Column("bytes", sa.BigInteger, nullable=False, default=0),
    sa.Column("error", sa.Text),
    sa.Column("generation_run_id", sa.String(255)),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
)
load_run_tables = sa.Table(
    "load_run_tables", metadata,
    sa.Column("run_id", sa.String(36), sa.ForeignKey("load_runs.id"), primary_key=True),
    sa.Column("table_name", sa.String(255), primary_key=True),
    sa.Column("mode", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("files", sa.Integer, nullable=False),
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("bytes", sa.BigInteger, nullable=False),
    sa.Column("seconds", sa.Float),
)

# A load of a simulator generation run: which run, of which experiment, from which folder.
generation_links = sa.Table(
    "load_run_generation", metadata,
    sa.Column("run_id", sa.String(36), sa.ForeignKey("load_runs.id"), primary_key=True),
    sa.Column("experiment_name", sa.String(255), nullable=False),
    sa.Column("generation_run_id", sa.String(255), nullable=False),
    sa.Column("run_folder", sa.String(1024), nullable=False),
)
# The files such a load read, so the link to its generation run can be checked afterwards.
load_run_files = sa.Table(
    "load_run_files", metadata,
    sa.Column("run_id", sa.String(36), sa.ForeignKey("load_runs.id"), primary_key=True),
    sa.Column("table_name", sa.String(255), primary_key=True),
    sa.Column("uri", sa.String(2048), primary_key=True),
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("bytes", sa.BigInteger, nullable=False),
)
# Choices made here for a simulator experiment (the web page's warehouse switch); the
# simulator's own rows are never rewritten.
experiment_settings = sa.Table(
    "experiment_settings", metadata,
    sa.Column("experiment_name", sa.String(255), primary_key=True),
    sa.Column("warehouse", sa.String(32)),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)


@dataclass
class RunRecord:
    run_id: str
    values: dict[str, Any]
    tables: list[dict[str, Any]]


class RunStore:
    """Reads and writes load runs; each write is its own short transaction."""

    def __init__(self, url: str):
        self.url = url
        if url.startswith("sqlite:///"):
            Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        # SQLite: concurrent applies share the file; wait for each other's short writes.
        connect_args = {"timeout": 60} if url.startswith("sqlite") else {}
        failure: ConnectionFailed | None = None
        try:
            self.engine = sa.create_engine(url, connect_args=connect_args)
            self._create_tables()
        except sa.exc.SQLAlchemyError as exc:
            detail = str(exc.orig if hasattr(exc, "orig") else exc).splitlines()[0]
            for secret in url_secrets(url):   # a driver may echo part of a password it misparsed
                detail = detail.replace(secret, "***")
            failure = ConnectionFailed(f"cannot open the metadata database {mask_url(url)}: {detail}",
                                       hint=f"check {METADATA_ENV}")
        if failure is not None:
            raise failure   # outside the handler: the driver's error is not chained as __context__

    def _create_tables(self) -> None:
        """create_all, tolerating another process creating the same tables at the same moment."""
        for attempt in range(5):
            try:
                metadata.create_all(self.engine)
                return
            except (sa.exc.OperationalError, sa.exc.IntegrityError, sa.exc.ProgrammingError) as exc:
                if "already exists" not in str(exc) and "locked" not in str(exc) or attempt == 4:
                    raise
                time.sleep(0.1 * (attempt + 1))

    def link_generation(self, run_id: str, experiment: str, generation_run_id: str, run_folder: str,
                        files: list[tuple[str, str, int, int]]) -> None:
        """Record that load `run_id` reads generation run `generation_run_id`: (table, uri, rows, bytes) per file."""
        with self.engine.begin() as conn:
            conn.execute(generation_links.insert().values(run_id=run_id, experiment_name=experiment,
                                                          generation_run_id=generation_run_id,
                                                          run_folder=run_folder))
            if files:
                conn.execute(load_run_files.insert(), [dict(run_id=run_id, table_name=t, uri=u, rows=r, bytes=b)
                                                       for t, u, r, b in files])

    def generation_loads(self, experiment: str | None = None, generation_run_id: str | None = None,
                         limit: int = 200) -> list[dict[str, Any]]:
        """Loads linked to generation runs, newest first, each with its per-table rows and its files' count."""
        query = (sa.select(load_runs, generation_links.c.experiment_name, generation_links.c.run_folder)
                 .join(generation_links, generation_links.c.run_id == load_runs.c.id)
                 .order_by(load_runs.c.started_at.desc()).limit(limit))
        if experiment is not None:
            query = query.where(generation_links.c.experiment_name == experiment)
        if generation_run_id is not None:
            query = query.where(generation_links.c.generation_run_id == generation_run_id)
        with self.engine.connect() as conn:
            loads = [_with_liveness(dict(r._mapping)) for r in conn.execute(query)]
            ids = [load["id"] for load in loads]
            tables = conn.execute(sa.select(load_run_tables).where(load_run_tables.c.run_id.in_(ids))).all() \
                if ids else []
            files = conn.execute(sa.select(load_run_files.c.run_id, load_run_files.c.table_name,
                                           sa.func.count(), sa.func.sum(load_run_files.c.rows))
                                 .where(load_run_files.c.run_id.in_(ids))
                                 .group_by(load_run_files.c.run_id, load_run_files.c.table_name)).all() \
                if ids else []
        per_run: dict[str, dict[str, Any]] = {load["id"]: {} for load in loads}
        for row in tables:
            per_run[row.run_id][row.table_name] = {"status": row.status, "rows": row.rows, "files": row.files}
        for run_id, table, count, rows in files:
            per_run[run_id].setdefault(table, {"status": None, "rows": None})
            per_run[run_id][table].update(files_read=count, file_rows=int(rows or 0))
        for load in loads:
            load["tables"] = per_run[load["id"]]
        return loads

    def load_files(self, run_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(
                sa.select(load_run_files).where(load_run_files.c.run_id == run_id)
                .order_by(load_run_files.c.table_name, load_run_files.c.uri))]

    def experiment_warehouse(self, experiment: str) -> str | None:
        """The warehouse chosen here for a simulator experiment, if any."""
        with self.engine.connect() as conn:
            return conn.execute(sa.select(experiment_settings.c.warehouse)
                                .where(experiment_settings.c.experiment_name == experiment)).scalar()

    def set_experiment_warehouse(self, experiment: str, warehouse: str | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(experiment_settings.delete().where(experiment_settings.c.experiment_name == experiment))
            conn.execute(experiment_settings.insert().values(experiment_name=experiment, warehouse=warehouse,
                                                             updated_at=now()))

    def start(self, **values: Any) -> str:
        run_id = str(uuid.uuid4())
        row = dict(id=run_id, status="running", started_at=now(), rows=0, bytes=0,
                   host=socket.gethostname(), pid=os.getpid(), **values)
        with self.engine.begin() as conn:
            conn.execute(load_runs.insert().values(**row))
        return run_id

    def finish(self, run_id: str, status: str, rows: int = 0, nbytes: int = 0, error: str | None = None,
               tables: list[dict[str, Any]] | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(load_runs.update().where(load_runs.c.id == run_id).values(
                status=status, finished_at=now(), rows=rows, bytes=nbytes, error=error))
            for table in tables or []:
                conn.execute(load_run_tables.insert().values(run_id=run_id, **table))

    def list(self, manifest_name: str | None = None, warehouse: str | None = None,
             limit: int = 50) -> list[dict[str, Any]]:
        query = sa.select(load_runs).order_by(load_runs.c.started_at.desc()).limit(limit)
        if manifest_name:
            query = query.where(load_runs.c.manifest_name == manifest_name)
        if warehouse:
            query = query.where(load_runs.c.warehouse == warehouse)
        with self.engine.connect() as conn:
            return [_with_liveness(dict(r._mapping)) for r in conn.execute(query)]

    def get(self, run_id: str) -> RunRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(load_runs).where(load_runs.c.id.startswith(run_id))).first()
            if row is None:
                return None
            tables = conn.execute(sa.select(load_run_tables).where(load_run_tables.c.run_id == row.id)
                                  .order_by(load_run_tables.c.table_name)).all()
        return RunRecord(row.id, _with_liveness(dict(row._mapping)), [dict(t._mapping) for t in tables])


def _with_liveness(row: dict[str, Any]) -> dict[str, Any]:
    """A run still 'running' whose process is gone (same host) is shown as abandoned."""
    if row["status"] == "running" and row["host"] == socket.gethostname() and not _alive(row["pid"]):
        row["status"] = "abandoned"
    return row


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
