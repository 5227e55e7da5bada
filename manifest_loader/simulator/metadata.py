"""Read the simulator's metadata database: experiments, their tables and their generation runs.

Only reads: the simulator owns these rows. Our own per-experiment settings and the links from
loads to generation runs live in our tables (runs.py), beside theirs when both use the same URL.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ..errors import ConnectionFailed, UsageError
from ..target import mask_url

DB_ENV = "DW_SIMULATOR_TARGET_DB_URL"
DATA_ROOT_ENV = "DW_SIMULATOR_DATA_ROOT"
COMPLETED = "COMPLETED"
# The simulator's default database when only its data root is known (dw_simulator/config.py).
_DEFAULT_DB = Path("sqlite") / "dw_simulator.db"


@dataclass(frozen=True)
class Experiment:
    name: str
    description: str | None
    schema_json: str
    created_at: str
    warehouse_type: str | None


@dataclass(frozen=True)
class GenerationRun:
    id: int
    experiment_name: str
    status: str
    started_at: str | None
    completed_at: str | None
    output_path: str | None
    error_message: str | None
    seed: int | None
    generated: Mapping[str, int] = field(default_factory=dict)   # rows per table, from row_counts

    @property
    def completed(self) -> bool:
        return self.status.upper() == COMPLETED

    def describe(self) -> str:
        """One line for messages: `7 COMPLETED 2026-12-03T10:00:00`."""
        when = self.completed_at or self.started_at or ""
        return f"{self.id} {self.status} {when}".rstrip()


def generated_rows(row_counts: str | None) -> dict[str, int]:
    """Rows per table a run generated: `{"generated": {...}, "loaded": {...}}`, or the older flat `{table: n}`."""
    if not row_counts:
        return {}
    try:
        data = json.loads(row_counts)
    except ValueError:
        return {}
    if isinstance(data, dict) and isinstance(data.get("generated"), dict):
        data = data["generated"]
    if not isinstance(data, dict):
        return {}
    return {str(k): int(v) for k, v in data.items() if isinstance(v, int) and not isinstance(v, bool)}


def simulator_url(env: Mapping[str, str] | None = None) -> str | None:
    """The simulator's database: DW_SIMULATOR_TARGET_DB_URL, else its default under the data root."""
    env = os.environ if env is None else env
    if env.get(DB_ENV):
        return env[DB_ENV]
    root = env.get(DATA_ROOT_ENV)
    if root and (Path(root).expanduser() / _DEFAULT_DB).is_file():
        return f"sqlite:///{(Path(root).expanduser() / _DEFAULT_DB).resolve()}"
    return None


def data_root(env: Mapping[str, str] | None = None) -> Path | None:
    env = os.environ if env is None else env
    root = env.get(DATA_ROOT_ENV)
    return Path(root).expanduser().absolute() if root else None


class SimulatorDB:
    """The simulator's metadata, read on short connections."""

    def __init__(self, url: str):
        self.url = url
        try:
            self.engine = sa.create_engine(url)
            tables = set(sa.inspect(self.engine).get_table_names())
        except sa.exc.SQLAlchemyError as exc:
            detail = str(getattr(exc, "orig", exc)).splitlines()[0]
            raise ConnectionFailed(f"cannot open the simulator's metadata database {mask_url(url)}: {detail}",
                                   hint=f"check {DB_ENV}") from None
        missing = {"experiments", "generation_runs"} - tables
        if missing:
            raise UsageError(f"{mask_url(url)} is not a dw-simulator metadata database: it has no "
                             f"{' or '.join(sorted(missing))} table",
                             hint=f"point {DB_ENV} at the simulator's database (dw-sim doctor prints it)")
        meta = sa.MetaData()
        self.experiments = sa.Table("experiments", meta, autoload_with=self.engine)
        self.runs = sa.Table("generation_runs", meta, autoload_with=self.engine)

    @property
    def display_url(self) -> str:
        return mask_url(self.url)

    def _rows(self, query: sa.Select[Any]) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(query))

    def experiment_names(self) -> list[str]:
        return [r.name for r in self._rows(sa.select(self.experiments.c.name).order_by(self.experiments.c.name))]

    def list_experiments(self) -> list[Experiment]:
        return [_experiment(r) for r in self._rows(sa.select(self.experiments).order_by(self.experiments.c.name))]

    def find_experiment(self, name: str) -> Experiment | None:
        rows = self._rows(sa.select(self.experiments).where(self.experiments.c.name == name))
        return _experiment(rows[0]) if rows else None

    def experiment(self, name: str) -> Experiment:
        """The experiment, or exit 2 naming the ones there are."""
        found = self.find_experiment(name)
        if found is None:
            names = self.experiment_names()
            import difflib

            close = difflib.get_close_matches(name, names, n=1)
            known = f"experiments are: {', '.join(names)}" if names else "it has no experiments yet"
            raise UsageError(f"no experiment '{name}' in the simulator's metadata ({self.display_url}); {known}",
                             hint=f"did you mean '{close[0]}'?" if close else "create it with `dw-sim experiment "
                                  "create SCHEMA.json`")
        return found

    def generation_runs(self, experiment: str) -> list[GenerationRun]:
        """The experiment's runs, newest first."""
        query = (sa.select(self.runs).where(self.runs.c.experiment_name == experiment)
                 .order_by(self.runs.c.id.desc()))
        return [_run(r) for r in self._rows(query)]

    def generation_run(self, run_id: int) -> GenerationRun | None:
        rows = self._rows(sa.select(self.runs).where(self.runs.c.id == run_id))
        return _run(rows[0]) if rows else None


def _experiment(row: Any) -> Experiment:
    values = row._mapping
    return Experiment(name=values["name"], description=values.get("description"),
                      schema_json=values["schema_json"], created_at=str(values.get("created_at") or ""),
                      warehouse_type=values.get("warehouse_type"))


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _run(row: Any) -> GenerationRun:
    values = row._mapping
    return GenerationRun(id=int(values["id"]), experiment_name=values["experiment_name"], status=str(values["status"]),
                         started_at=_text(values.get("started_at")), completed_at=_text(values.get("completed_at")),
                         output_path=values.get("output_path"), error_message=values.get("error_message"),
                         seed=values.get("seed"), generated=generated_rows(values.get("row_counts")))


def open_simulator(env: Mapping[str, str] | None = None) -> SimulatorDB:
    """The configured simulator database, or exit 2 saying how to configure it."""
    url = simulator_url(env)
    if url is None:
        raise UsageError(f"no simulator metadata database: {DB_ENV} is not set",
                         hint=f"set {DB_ENV} to the simulator's database URL (e.g. sqlite:////path/to/data/sqlite/"
                              f"dw_simulator.db) or {DATA_ROOT_ENV} to its data root")
    return SimulatorDB(url)


def maybe_simulator(env: Mapping[str, str] | None = None) -> SimulatorDB | None:
    """The simulator database when one is configured and has the simulator's tables; else None."""
    url = simulator_url(env)
    if url is None:
        return None
    try:
        return SimulatorDB(url)
    except UsageError:
        return None
