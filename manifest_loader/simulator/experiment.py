"""The simulator commands' logic: list experiments, load a generation run, show its loads, write
a manifest for an experiment, and stand an experiment's name in for a manifest file.

Plain functions; the CLI and the HTTP API are thin shells around them.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..target import URL_ENV, state_dir
from .manifestgen import LAYOUTS, ExperimentManifest, manifest_from_schema, table_name
from .metadata import DATA_ROOT_ENV, Experiment, GenerationRun, SimulatorDB, data_root, maybe_simulator, open_simulator
from .schema import SimSchema, parse_schema
from .selection import check_run_files, run_folder, select_run

if TYPE_CHECKING:
    from ..apply import ApplyResult
    from ..progress import Progress
    from ..runs import RunStore

RUN_DIR_ENV = "DW_SIMULATOR_RUN_DIR"
RUN_ID_ENV = "DW_SIMULATOR_RUN_ID"
# The warehouse that works with nothing set: target.py makes it the embedded fakesnow emulator.
EMBEDDED_WAREHOUSE = "snowflake"
WAREHOUSES = tuple(URL_ENV)


def _env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def _store(env: Mapping[str, str] | None) -> RunStore:
    from ..runs import RunStore, metadata_url

    return RunStore(metadata_url(state_dir(env), env))


def check_warehouse(value: str) -> str:
    if value not in WAREHOUSES:
        raise UsageError(f"'{value}' is not a warehouse; use one of {', '.join(WAREHOUSES)}")
    return value


def choose_warehouse(experiment: Experiment, schema: SimSchema, chosen: str | None, saved: str | None,
                     env: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(warehouse, why): the command line, else the choice saved here, else the experiment's
    warehouse_type, else its schema's target_warehouse, else the default (a Redshift URL that is
    set, as the simulator prefers Redshift, else the embedded emulator)."""
    if chosen:
        return check_warehouse(chosen), "chosen on the command line"
    if saved is not None and saved in WAREHOUSES:
        return saved, "chosen for this experiment with manifest-loader (web page or API)"
    # The simulator also knows 'sqlite', which is no warehouse of ours: then the next choice applies.
    if (own := (experiment.warehouse_type or "").lower()) in WAREHOUSES:
        return own, "the experiment's warehouse_type"
    if (declared := (schema.target_warehouse or "").lower()) in WAREHOUSES:
        return declared, "the schema's target_warehouse"
    return default_warehouse(env, "the experiment names none")


def default_warehouse(env: Mapping[str, str] | None = None, why: str = "none chosen") -> tuple[str, str]:
    """A warehouse whose URL is set (Redshift first, as the simulator prefers), else the embedded one."""
    env = _env(env)
    for warehouse, variable in URL_ENV.items():
        if env.get(variable):
            return warehouse, f"{why}; {variable} is set"
    return EMBEDDED_WAREHOUSE, f"{why}; the embedded emulator needs nothing set"


def source_root(run: GenerationRun | None, env: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(text, why) the table folders hang from: the run's folder under ${DW_SIMULATOR_DATA_ROOT}
    when it lies there (the manifest stays portable), else its absolute path; with no run,
    ${DW_SIMULATOR_RUN_DIR}, which `experiment load` sets to the run it loads."""
    if run is None:
        return f"${{{RUN_DIR_ENV}}}", f"{RUN_DIR_ENV}: set by `manifest-loader experiment load` to the run it loads"
    folder = run_folder(run).absolute()
    root = data_root(env)
    why = f"generation run {run.id}, {run.status} {run.completed_at or run.started_at or ''}".rstrip()
    if root is not None and folder.is_relative_to(root):
        return f"${{{DATA_ROOT_ENV}}}/{folder.relative_to(root).as_posix()}", f"review: {why}"
    return str(folder), f"review: {why}; outside {DATA_ROOT_ENV}"


def render_manifest(experiment: Experiment, schema: SimSchema, run: GenerationRun | None, warehouse: tuple[str, str],
                    layout: str = "schema", root: str | None = None, env: Mapping[str, str] | None = None,
                    command: str | None = None) -> str:
    """The manifest `init --from-experiment` writes; checked to validate before anyone sees it."""
    if layout not in LAYOUTS:
        raise UsageError(f"unknown table layout '{layout}'; use one of {', '.join(LAYOUTS)}")
    text_root, why = (root, "given with --source-root") if root else source_root(run, env)
    header = (f"Written by `{command or 'manifest-loader init --from-experiment ' + experiment.name}` from the",
              f"dw-simulator schema of experiment '{experiment.name}'"
              + (f", generation run {run.id}." if run else "."))
    text = manifest_from_schema(schema, ExperimentManifest(experiment.name, warehouse[0], warehouse[1], text_root,
                                                           why, layout, header))
    check_valid(text, env)
    return text


def check_valid(text: str, env: Mapping[str, str] | None) -> None:
    """The written manifest must load (schema and semantic checks); variables it names get placeholders."""
    from ..manifest import load_manifest

    values = {**_env(env)}
    values.setdefault(RUN_DIR_ENV, "/run")
    values.setdefault(DATA_ROOT_ENV, "/data")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "manifest.yaml"
        path.write_text(text, encoding="utf-8")
        load_manifest(path, values)


def _experiment_and_schema(db: SimulatorDB, name: str) -> tuple[Experiment, SimSchema]:
    experiment = db.experiment(name)
    return experiment, parse_schema(experiment.schema_json, f"schema_json of experiment '{name}'")


def init_from_experiment(schema_or_name: str, *, layout: str = "schema", root: str | None = None,
                         warehouse: str | None = None, run_id: int | None = None,
                         env: Mapping[str, str] | None = None) -> str:
    """The manifest for SCHEMA.json (the experiment of that name, if the simulator has it, gives the
    run and warehouse) or for an experiment NAME in the simulator's database."""
    path = Path(schema_or_name)
    db = maybe_simulator(env)
    if path.suffix.lower() == ".json" or path.is_file():
        if not path.is_file():
            raise UsageError(f"no schema file {schema_or_name}")
        schema = parse_schema(path.read_text(encoding="utf-8"), schema_or_name)
        experiment = (db.find_experiment(schema.name) if db else None) or Experiment(
            schema.name, schema.description, "", "", None)
    else:
        db = db or open_simulator(env)
        experiment, schema = _experiment_and_schema(db, schema_or_name)
    run = None
    if db is not None and db.find_experiment(experiment.name) is not None and root is None:
        runs = db.generation_runs(experiment.name)
        if run_id is not None or any(r.completed for r in runs):
            run = select_run(db, experiment.name, run_id)
    saved = _store(env).experiment_warehouse(experiment.name) if db is not None else None
    command = f"manifest-loader init --from-experiment {schema_or_name}"
    return render_manifest(experiment, schema, run, choose_warehouse(experiment, schema, warehouse, saved, env),
                           layout, root, env, command)


@dataclass
class ExperimentTarget:
    """A manifest standing for an experiment's generation run, and how to apply it."""

    experiment: Experiment
    schema: SimSchema
    run: GenerationRun
    manifest: Path
    checked_in: bool
    warehouse: str | None          # the override to pass (None: the manifest's own)
    warehouse_reason: str
    env: dict[str, str] = field(default_factory=dict)
    file_rows: dict[str, int] = field(default_factory=dict)


def checked_in_manifest(name: str, manifests_dir: Path | None) -> Path | None:
    folder = manifests_dir or Path("manifests")
    for suffix in (".yaml", ".yml"):
        if (folder / f"{name}{suffix}").is_file():
            return folder / f"{name}{suffix}"
    return None


def experiment_target(name: str, *, warehouse: str | None = None, run_id: int | None = None, layout: str = "schema",
                      manifests_dir: Path | None = None, env: Mapping[str, str] | None = None,
                      check_files: bool = True) -> ExperimentTarget:
    """Pick the run, check its files, and find (checked in) or write (under the state folder) its manifest."""
    env = _env(env)
    db = open_simulator(env)
    experiment, schema = _experiment_and_schema(db, name)
    run = select_run(db, name, run_id)
    files = check_run_files(run, [t.name for t in schema.tables]) if check_files else None
    saved = _store(env).experiment_warehouse(name)
    chosen, why = choose_warehouse(experiment, schema, warehouse, saved, env)
    values = {**env, RUN_DIR_ENV: str(run_folder(run).absolute()), RUN_ID_ENV: str(run.id)}
    if env.get(DATA_ROOT_ENV):
        values[DATA_ROOT_ENV] = str(data_root(env))
    checked_in = checked_in_manifest(name, manifests_dir)
    if checked_in is not None:
        # The reviewed manifest keeps its own warehouse unless one was chosen for this load or saved here.
        override = chosen if warehouse or saved in WAREHOUSES else None
        return ExperimentTarget(experiment, schema, run, checked_in, True, override, why, values,
                                files.rows if files else {})
    text = render_manifest(experiment, schema, run, (chosen, why), layout, None, values,
                           f"manifest-loader experiment load {name}")
    folder = state_dir(env) / "experiments" / name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"run-{run.id}-{layout}-{chosen}.yaml"
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return ExperimentTarget(experiment, schema, run, path, False, chosen, why, values, files.rows if files else {})


@dataclass
class ExperimentLoad:
    target: ExperimentTarget
    result: ApplyResult
    mismatches: list[str]


def load_experiment(name: str, *, warehouse: str | None = None, run_id: int | None = None, force: bool = False,
                    layout: str = "schema", manifests_dir: Path | None = None, progress: Progress | None = None,
                    env: Mapping[str, str] | None = None, one_shot: bool = False,
                    lock_timeout: float = 600.0) -> ExperimentLoad:
    """Load a generation run's files (the latest COMPLETED run unless `run_id`), linked to that run."""
    from ..apply import apply

    target = experiment_target(name, warehouse=warehouse, run_id=run_id, layout=layout, manifests_dir=manifests_dir,
                               env=env)
    result = apply(target.manifest, target.warehouse, force=force, generation_run=str(target.run.id),
                   progress=progress, env=target.env, one_shot=one_shot, lock_timeout=lock_timeout)
    loaded = {t.table: t.rows for t in result.tables} if result.changed else \
        {t.name: sum(f.source.rows for f in t.files) for t in result.plan.tables}
    return ExperimentLoad(target, result, row_mismatches(name, target.run.generated, loaded))


def simulator_table(experiment: str, table: str) -> str:
    """A loaded table's name in the simulator's schema (the prefixed layout adds <experiment>__)."""
    prefix = table_name(experiment, "", "prefixed")
    return table[len(prefix):] if table.startswith(prefix) else table


def row_mismatches(experiment: str, generated: Mapping[str, int], loaded: Mapping[str, int | None]) -> list[str]:
    """'table: generated N, loaded M' for each table whose loaded rows differ from row_counts.generated."""
    by_table = {simulator_table(experiment, t): rows for t, rows in loaded.items()}
    out = []
    for table, rows in sorted(generated.items()):
        got = by_table.get(table)
        if got is None:
            out.append(f"{table}: generated {rows}, not loaded")
        elif got != rows:
            out.append(f"{table}: generated {rows}, loaded {got}")
    return out


def _loaded_rows(load: Mapping[str, Any]) -> dict[str, int | None]:
    """Rows per table a load left in the warehouse: what it loaded, or (no changes) what its files hold."""
    tables = load.get("tables", {})
    if load["status"] == "unchanged":
        return {t: v.get("file_rows") for t, v in tables.items()}
    return {t: v.get("rows") for t, v in tables.items()}


def experiment_status(name: str, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Per generation run of the experiment: what it generated, its loads, their outcome, and whether
    a successful load holds the generated rows."""
    db = open_simulator(env)
    experiment = db.experiment(name)
    loads = _store(env).generation_loads(experiment=name)
    runs = []
    for run in db.generation_runs(name):
        mine = [load for load in loads if load["generation_run_id"] == str(run.id)]
        out = []
        for load in mine:
            done = load["status"] in ("succeeded", "unchanged")
            mismatches = row_mismatches(name, run.generated, _loaded_rows(load)) if done and run.generated else []
            out.append({"id": load["id"], "status": load["status"], "warehouse": load["warehouse"],
                        "schema": load["schema_name"], "started_at": load["started_at"],
                        "finished_at": load["finished_at"], "rows": load["rows"], "error": load["error"],
                        "tables": {t: v for t, v in sorted(load["tables"].items())},
                        "rows_match": (not mismatches) if done and run.generated else None,
                        "mismatches": mismatches})
        runs.append({"id": run.id, "status": run.status, "started_at": run.started_at,
                     "completed_at": run.completed_at, "output_path": run.output_path,
                     "error_message": run.error_message, "generated": dict(run.generated), "loads": out})
    saved = _store(env).experiment_warehouse(name)
    return {"experiment": name, "warehouse_type": experiment.warehouse_type, "saved_warehouse": saved,
            "generation_runs": runs}


def list_experiments(env: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """Every experiment with its tables, warehouse choice and latest COMPLETED run."""
    db = open_simulator(env)
    store = _store(env)
    out = []
    for experiment in db.list_experiments():
        runs = db.generation_runs(experiment.name)
        latest = next((r for r in runs if r.completed), None)
        try:
            schema = parse_schema(experiment.schema_json, f"schema_json of experiment '{experiment.name}'")
            warehouse, why = choose_warehouse(experiment, schema, None, store.experiment_warehouse(experiment.name),
                                              env)
            tables, error = [t.name for t in schema.tables], None
        except UsageError as exc:
            warehouse, why, tables, error = None, None, [], str(exc)
        out.append({"name": experiment.name, "description": experiment.description,
                    "created_at": experiment.created_at, "warehouse_type": experiment.warehouse_type,
                    "warehouse": warehouse, "warehouse_reason": why, "tables": tables, "error": error,
                    "runs": len(runs), "latest_completed_run": latest.id if latest else None})
    return out


def set_warehouse(name: str, warehouse: str | None, env: Mapping[str, str] | None = None) -> None:
    """Save (or with None clear) the warehouse chosen here for an experiment; the simulator's rows stay."""
    open_simulator(env).experiment(name)
    _store(env).set_experiment_warehouse(name, check_warehouse(warehouse) if warehouse else None)


def looks_like_name(argument: str | Path) -> bool:
    text = str(argument)
    return "/" not in text and os.sep not in text and not text.endswith((".yaml", ".yml", ".json"))


def manifest_for(argument: str | Path, env: Mapping[str, str] | None = None, manifests_dir: Path | None = None,
                 run_id: int | None = None) -> tuple[Path, dict[str, str] | None, str | None]:
    """(manifest path, environment, warehouse override) for a command's MANIFEST argument: the file
    when it exists, else a simulator experiment's manifest (its latest COMPLETED run, or `run_id`) by name."""
    path = Path(argument)
    if path.exists() or not looks_like_name(argument):
        return path, None, None
    db = maybe_simulator(env)
    if db is None:
        return path, None, None
    if db.find_experiment(str(argument)) is None:
        names = db.experiment_names()
        raise UsageError(f"no manifest file '{argument}', and no experiment '{argument}' in the simulator's "
                         f"metadata ({db.display_url})" + (f"; experiments are: {', '.join(names)}" if names else ""))
    target = experiment_target(str(argument), run_id=run_id, manifests_dir=manifests_dir, env=env, check_files=False)
    return target.manifest, target.env, target.warehouse
