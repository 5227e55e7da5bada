"""One plain function per command; the CLI and the HTTP API both call these, and only these.

Neither shell reads a manifest or resolves a target itself: what a command needs from the
manifest, the target and the metadata database is done here, so a new shell (a notebook, a
test, another service) gets the same behaviour by calling the same function.

Heavy imports (pyarrow, boto3, drivers) happen inside the functions, so `--help` stays fast.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .apply import ApplyResult
    from .gc import Garbage
    from .localpg import LocalPostgres, Status
    from .manifest import Manifest
    from .plan import Plan
    from .preview import Preview
    from .progress import Progress
    from .query import QueryResult
    from .resolve import ResolvedManifest
    from .runs import RunStore
    from .simulator.experiment import ExperimentLoad, ExperimentTarget
    from .target import Target


# -- reading a manifest and its target ------------------------------------------------------------


def read_manifest(manifest_path: str | Path, env: Mapping[str, str] | None = None) -> Manifest:
    """The manifest, checked against the schema (its Parquet files are not read)."""
    from .manifest import load_manifest

    return load_manifest(manifest_path, env)


def target_of(manifest_path: str | Path, warehouse: str | None = None,
              env: Mapping[str, str] | None = None) -> tuple[Manifest, Target]:
    """The manifest and the target it loads into (`warehouse` overrides the manifest's)."""
    from .target import resolve_target

    manifest = read_manifest(manifest_path, env)
    return manifest, resolve_target(manifest, warehouse, env)


def process_lock_name(target: Target) -> str | None:
    """The name of the lock a process must hold while it uses this target, or None when it needs none."""
    # fakesnow patches the Snowflake connector process-wide and refuses a second patch:
    # in one process one load or query at a time uses the Snowflake emulator.
    return target.kind.name if target.kind.in_process_lock else None


# -- the commands ---------------------------------------------------------------------------------


def validate(manifest_path: str | Path, warehouse: str | None = None,
             env: Mapping[str, str] | None = None) -> ResolvedManifest:
    """Check a manifest against the schema, its Parquet footers and the target's rules."""
    from .resolve import resolve

    manifest, target = target_of(manifest_path, warehouse, env)
    return resolve(manifest, target.kind, hash_content=False, cache=target.footer_cache())


def validate_text(raw: bytes, folder: Path, name: str, warehouse: str | None = None,
                  env: Mapping[str, str] | None = None) -> ResolvedManifest:
    """validate() of posted text, as if it were the file `name` in `folder` (where its sources
    resolve); no file is written."""
    from .manifest import parse_manifest
    from .resolve import resolve
    from .target import resolve_target

    manifest = parse_manifest(raw, folder / name, name, env, caches=False)
    target = resolve_target(manifest, warehouse, env)
    return resolve(manifest, target.kind, hash_content=False, cache=target.footer_cache(writable=False))


def make_plan(manifest_path: str | Path, warehouse: str | None = None, templates_dir: Path | None = None,
              env: Mapping[str, str] | None = None, *, read_ledger: bool = False,
              against_ledger: bool = False) -> tuple[Plan, Target]:
    """Build the exact plan `apply` would run; writes nothing anywhere.

    With `read_ledger` (the CLI's `plan`), the files of append and merge tables that the target's
    ledger already holds are marked when the target can be reached (apply loads only the others).
    `against_ledger` (`plan --out`) reads the ledger and must: the plan then holds only the files
    apply would load now, and the ledger state it was made against, for `apply --plan`.
    """
    from dataclasses import replace

    from .plan import build_plan
    from .plan_reading import read_for_plan, read_target
    from .resolve import resolve

    manifest, target = target_of(manifest_path, warehouse, env)
    resolved = resolve(manifest, target.kind, cache=target.footer_cache())
    renderer = target.renderer(manifest, templates_dir)
    incremental = [t.name for t in resolved.tables if t.spec.mode in ("append", "merge")]
    if against_ledger:
        loaded, drifts = read_target(target, renderer, resolved)
        plan = build_plan(resolved, target, renderer, loaded=loaded, drifts=drifts)
        held = {name: frozenset(loaded.get(name, set())) for name in incremental}
        plan = replace(plan, ledger_held=held)   # marks beside the files; not fingerprinted
    elif not read_ledger:
        plan = build_plan(resolved, target, renderer)
    else:
        reading = read_for_plan(target, renderer, resolved)
        plan = build_plan(resolved, target, renderer, drifts=reading.drifts)
        plan = replace(plan, ledger_held=reading.held, ledger_note=reading.note)   # fingerprint: files, drift
    if renderer.cache is not None:
        renderer.cache.save()
    return plan, target


def apply(manifest_path: str | Path, warehouse: str | None = None, *, templates_dir: Path | None = None,
          force: bool = False, generation_run: str | None = None, progress: Progress | None = None,
          lock_timeout: float = 600.0, env: Mapping[str, str] | None = None,
          saved_plan: Path | None = None, one_shot: bool = False) -> ApplyResult:
    """Stage the manifest's files and load them in one transaction (see apply.apply)."""
    from .apply import apply as run
    from .saved_plan import read_saved

    saved = read_saved(saved_plan) if saved_plan is not None else None
    return run(manifest_path, warehouse, templates_dir=templates_dir, force=force, generation_run=generation_run,
               progress=progress, lock_timeout=lock_timeout, env=env, saved_plan=saved, one_shot=one_shot)


def run_store(env: Mapping[str, str] | None = None, project: Path | None = None) -> RunStore:
    """The metadata database of load runs: the state folder of `project` (else of the current folder)."""
    from .runs import RunStore, metadata_url
    from .state import state_dir

    return RunStore(metadata_url(state_dir(env, project), env))


def status(name_or_run: str | None, warehouse: str | None = None, as_json: bool = False, limit: int = 20) -> str:
    """The recorded runs (of one manifest, by name or file), or one run with per-table detail, as text."""
    from .status import show_status

    return show_status(name_or_run, warehouse, as_json, limit)


def query_target(manifest_path: str | Path | None, warehouse: str | None = None,
                 env: Mapping[str, str] | None = None) -> Target:
    """The target a query runs against: the manifest's (overridden by `warehouse`), or the warehouse's URL."""
    from .query import query_target as target

    return target(manifest_path, warehouse, env)


def query(manifest_path: str | Path | None, sql: str, warehouse: str | None = None, *,
          env: Mapping[str, str] | None = None, lock_timeout: float = 60.0) -> QueryResult:
    """Run one statement against the target and return its rows; nothing it does is committed."""
    from .query import execute_query

    return execute_query(manifest_path, sql, warehouse, env=env, lock_timeout=lock_timeout)


def describe_tables(manifest_path: str | Path, warehouse: str | None = None, *,
                    env: Mapping[str, str] | None = None, lock_timeout: float = 60.0) -> Preview:
    """Each table of the manifest in its target: loaded or not, row count, columns and types as stored."""
    from .preview import describe_tables as describe

    return describe(manifest_path, warehouse, env=env, lock_timeout=lock_timeout)


def first_rows(manifest_path: str | Path, table: str, warehouse: str | None = None, limit: int = 20, *,
               env: Mapping[str, str] | None = None, lock_timeout: float = 60.0) -> tuple[str, QueryResult]:
    """The first rows of one of the manifest's tables (by primary key), and the SQL that read them."""
    from .preview import first_rows as rows

    return rows(manifest_path, table, warehouse, limit, env=env, lock_timeout=lock_timeout)


def stage_gc(manifest_path: str | Path, warehouse: str | None = None, *, delete: bool = False,
             env: Mapping[str, str] | None = None) -> Garbage:
    """Staged objects of the manifest that no known ledger references; removed only when `delete` is true."""
    from .gc import stage_garbage

    return stage_garbage(manifest_path, warehouse, delete=delete, env=env)


def emulator_init(manifest_path: str | Path | None, templates_dir: Path | None = None,
                  env: Mapping[str, str] | None = None) -> tuple[bool, Target]:
    """Install the Redshift compatibility layer into the Redshift emulator of a manifest (or of the
    environment); False when it was current."""
    from .compat import init

    target = query_target(manifest_path, "redshift", env)
    return init(target, templates_dir), target


def emulator_sql(templates_dir: Path | None = None) -> str:
    """The Redshift compatibility layer's SQL, as one script."""
    from .compat import script

    return script(templates_dir)


def emulator_server(manifest_path: str | Path | None = None, env: Mapping[str, str] | None = None) -> LocalPostgres:
    """The managed PostgreSQL of the manifest's state folder (or of the environment's, without one)."""
    from .localpg import LocalPostgres
    from .target import state_dir

    state = target_of(manifest_path, "redshift", env)[1].state if manifest_path else state_dir(env)
    return LocalPostgres(state, env=env)


def emulator_up(manifest_path: str | Path | None = None, reset: bool = False,
                env: Mapping[str, str] | None = None) -> tuple[Status, bool]:
    """Start the managed Redshift emulator unless it runs (`reset`: from an empty cluster); (status, started)."""
    server = emulator_server(manifest_path, env)
    if reset:
        server.reset()
    _record, started = server.ensure_running()
    return server.status(), started


def emulator_down(manifest_path: str | Path | None = None,
                  env: Mapping[str, str] | None = None) -> tuple[Status, list[int]]:
    """Stop the managed Redshift emulator; (its status before, the pids stopped). Its data stays."""
    server = emulator_server(manifest_path, env)
    before = server.status()
    return before, server.stop()


def emulator_status(manifest_path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Status:
    """Where the managed Redshift emulator runs (URL masked), its pid, version, data size and uptime."""
    return emulator_server(manifest_path, env).status()


def schema_text() -> str:
    """The manifest JSON Schema, for editors and CI."""
    import json

    from .resources import manifest_schema

    return json.dumps(manifest_schema(), indent=2) + "\n"


# -- dw-simulator experiments (manifest_loader/simulator/) -------------------------------------------


@dataclass(frozen=True)
class ManifestRef:
    """What a MANIFEST argument stands for: the file, or a dw-simulator experiment's manifest for its
    latest COMPLETED generation run (with the environment that names that run, and its warehouse)."""

    path: Path
    warehouse: str | None
    env: Mapping[str, str] | None = None
    generation_run: str | None = None


def manifest_ref(argument: str | Path, warehouse: str | None = None, env: Mapping[str, str] | None = None,
                 manifests_dir: Path | None = None, generation_run: str | None = None) -> ManifestRef:
    """The file when it exists; else, when the name is a simulator experiment, its manifest for
    `generation_run` (default: its latest COMPLETED run)."""
    path = Path(argument)
    if path.exists():
        return ManifestRef(path, warehouse, env, generation_run)
    from .simulator.experiment import RUN_ID_ENV, manifest_for

    run_id = int(generation_run) if generation_run and generation_run.strip().isdigit() else None
    found, values, override = manifest_for(argument, env, manifests_dir, run_id)
    if values is None:
        return ManifestRef(found, warehouse, env, generation_run)
    return ManifestRef(found, warehouse or override, values, values[RUN_ID_ENV])


def experiment_list(env: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """The simulator's experiments with their warehouse choice and latest COMPLETED run."""
    from .simulator.experiment import list_experiments

    return list_experiments(env)


def experiment_load(name: str, *, warehouse: str | None = None, run_id: int | None = None, force: bool = False,
                    layout: str = "schema", manifests_dir: Path | None = None, progress: Progress | None = None,
                    env: Mapping[str, str] | None = None, one_shot: bool = False) -> ExperimentLoad:
    """Load a generation run of a simulator experiment (the latest COMPLETED one by default)."""
    from .simulator.experiment import load_experiment

    return load_experiment(name, warehouse=warehouse, run_id=run_id, force=force, layout=layout,
                           manifests_dir=manifests_dir, progress=progress, env=env, one_shot=one_shot)


def experiment_status(name: str, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Per generation run of the experiment: its loads, their outcome, the row-count check."""
    from .simulator.experiment import experiment_status as status_of

    return status_of(name, env)


def experiment_status_text(name: str, as_json: bool = False, env: Mapping[str, str] | None = None) -> str:
    from .simulator.status import format_experiment_status

    return format_experiment_status(name, as_json, env)


def set_experiment_warehouse(name: str, warehouse: str | None, env: Mapping[str, str] | None = None) -> None:
    """Save (None: forget) the warehouse chosen here for an experiment; the simulator's rows stay as they are."""
    from .simulator.experiment import set_warehouse

    set_warehouse(name, warehouse, env)


def init_from_experiment(schema_or_name: str, *, layout: str = "schema", source_root: str | None = None,
                         warehouse: str | None = None, run_id: int | None = None,
                         env: Mapping[str, str] | None = None) -> str:
    """The manifest text for a simulator schema file or experiment name (validated, stable)."""
    from .simulator.experiment import init_from_experiment as write

    return write(schema_or_name, layout=layout, root=source_root, warehouse=warehouse, run_id=run_id, env=env)


def init_from_folder(folder: Path, output: Path | None = None, name: str | None = None,
                     warehouse: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """The manifest text for a folder of Parquet tables, types from their footers (validated, stable)."""
    from .simulator.folder import init_from_folder as write

    return write(folder, output, name, warehouse, env)


def experiment_target(name: str, *, warehouse: str | None = None, run_id: int | None = None, layout: str = "schema",
                      manifests_dir: Path | None = None, env: Mapping[str, str] | None = None) -> ExperimentTarget:
    """The manifest, environment and warehouse that load a generation run (checked: run and files)."""
    from .simulator.experiment import experiment_target as target

    return target(name, warehouse=warehouse, run_id=run_id, layout=layout, manifests_dir=manifests_dir, env=env)


def simulator_experiment_names(env: Mapping[str, str] | None = None) -> list[str] | None:
    """The dw-simulator's experiments, or None when no simulator metadata database is configured."""
    from .simulator.metadata import maybe_simulator

    db = maybe_simulator(env)
    return None if db is None else db.experiment_names()


def simulator_display_url(env: Mapping[str, str] | None = None) -> str | None:
    from .simulator.metadata import maybe_simulator

    db = maybe_simulator(env)
    return None if db is None else db.display_url
