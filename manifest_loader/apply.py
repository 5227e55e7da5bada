"""`apply`: plan, compare with the ledger, stage, load in one transaction, record the run.

The run is recorded in the metadata database before anything else happens and finished on
every path, so a failed load is never forgotten; the data itself commits or rolls back as one.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import compat, run_events
from . import saved_plan as saved
from .drift import check_existing_tables
from .errors import LoaderError, LoadFailed, UsageError
from .execute import Execution, TableOutcome
from .ledger_read import EarlyRead, LedgerReading, read_ledger, read_ledger_and_rows
from .manifest import Manifest, load_manifest
from .plan import Plan, build_plan, plan_to_dict
from .progress import Progress
from .render import Renderer
from .resolve import ResolvedManifest, resolve
from .run_log import metadata_url, open_run_log
from .stage import remove_staged, start_staging
from .staged_gate import staged_gate
from .target import Target, resolve_target, with_server
from .warehouses import connect
from .warehouses.base import Warehouse

MAX_STALE_RETRIES = 3


class StaleLedger(Exception):
    """Another apply committed while this one waited for the lock: plan again."""


@dataclass
class ApplyResult:
    run_id: str
    changed: bool
    plan: Plan
    target: Target
    tables: list[TableOutcome] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)

    @property
    def bytes(self) -> int:
        return sum(t.bytes for t in self.tables)


def changed_outside(resolved: ResolvedManifest, reading: LedgerReading, progress: Progress) -> dict[str, set[str]]:
    """The ledger, without the tables whose row count no longer matches what it recorded.

    Someone (or a query that committed, before queries were sandboxed) deleted or added rows:
    the ledger alone would say "no changes" over a changed table. A replace table is reloaded;
    an append or merge table cannot be rebuilt from its current files, so the apply stops and
    says why.
    """
    checked = dict(reading.loaded)
    for table in resolved.tables:
        if table.name not in reading.held:
            continue
        held, expected = reading.held[table.name], reading.recorded[table.name]
        if held == expected or (table.spec.mode == "merge" and 0 < held <= expected):
            continue   # a merge replaces rows by key: it may hold fewer rows than it was sent
        if table.spec.mode == "append" and held > expected:
            # --force appends a file's rows again by design while its ledger entry stays one per file,
            # so an append table may hold more rows than the ledger sums; fewer means rows went missing.
            continue
        what = f"table {table.name} holds {held} rows but the ledger recorded {expected} loaded"
        if table.spec.mode == "replace":
            progress.event("message", message=f"{what}: it was changed outside the loader; reloading it")
            checked.pop(table.name)
            continue
        raise LoadFailed(f"{what}: it was changed outside the loader, and a {table.spec.mode} table cannot be "
                         f"rebuilt from its current files",
                         hint="reload it from its files with mode: replace"
                              + (" (without merge_keys)" if table.spec.mode == "merge" else "")
                              + " on that table, then set the mode back; or restore the rows")
    return checked


def needs_work(resolved: ResolvedManifest, loaded: Mapping[str, set[str]]) -> bool:
    """Whether any table's files differ from what its ledger holds (new files, for append/merge)."""
    for table in resolved.tables:
        hashes = {f.content_hash for f in table.files}
        held = loaded.get(table.name, set())
        if table.spec.mode in ("append", "merge"):
            if hashes - held:
                return True
        elif hashes != held:
            return True
    return False


def apply(manifest_path: str | Path, warehouse: str | None = None, *, templates_dir: Path | None = None,
          force: bool = False, generation_run: str | None = None, progress: Progress | None = None,
          lock_timeout: float = 600.0, env: Mapping[str, str] | None = None,
          saved_plan: Mapping[str, Any] | None = None, one_shot: bool = False) -> ApplyResult:
    """Load the manifest's tables into the target, all or nothing.

    `one_shot` is for a process that ends with this apply (the CLI): what is alive before the
    load is then frozen out of the garbage collector's walks (see _load).

    With `saved_plan` (saved_plan.read_saved), run exactly its steps or refuse, naming what changed
    since it was reviewed: the manifest, a file, the target or a template (checked before anything
    is recorded), or the ledger (checked once the target's ledger is read).
    """
    progress = progress or Progress()
    manifest = load_manifest(manifest_path, env)
    target = resolve_target(manifest, warehouse, env)
    # Statements rendered by an earlier plan or apply of this manifest come from the state folder's
    # render cache (render_cache.py): a re-apply with nothing to load imports no Jinja.
    renderer = target.renderer(manifest, templates_dir)
    # The target is opened and its ledger read while the sources are listed (ledger_read.py).
    # Not where that would start a managed emulator (below, before the run is recorded), nor for
    # an embedded database this process holds once at a time (a connection still opening when a
    # manifest problem ends this apply would hold the file against the next one).
    early = None if (target.url is None and target.managed) or target.kind.in_process_lock else EarlyRead(
        target, renderer, [t.name for t in manifest.tables], progress, lock_timeout, counts=not force)
    try:
        return _apply(manifest, target, renderer, early, templates_dir=templates_dir, force=force,
                      generation_run=generation_run, progress=progress, lock_timeout=lock_timeout, env=env,
                      saved_plan=saved_plan, one_shot=one_shot)
    finally:
        if early is not None:
            early.discard()   # when the load never took the connection over: close it
        if renderer.cache is not None:
            renderer.cache.save()


def _apply(manifest: Manifest, target: Target, renderer: Renderer, early: EarlyRead | None, *,
           templates_dir: Path | None, force: bool, generation_run: str | None, progress: Progress,
           lock_timeout: float, env: Mapping[str, str] | None, saved_plan: Mapping[str, Any] | None,
           one_shot: bool) -> ApplyResult:
    resolved = resolve(manifest, target.kind, cache=target.footer_cache())
    link = None
    if generation_run:
        from .simulator.link import check_link

        link = check_link(generation_run, manifest.name, resolved, env)
    store = open_run_log(metadata_url(target.state, env))
    plan = build_plan(resolved, target, renderer)
    if saved_plan is not None:
        if force:
            raise UsageError("--force cannot be combined with --plan: a saved plan runs exactly what was reviewed",
                             hint="drop --force, or make the plan again and review it")
        # Everything but the ledger, against the ledger the plan was made with: nothing recorded yet.
        saved.check(saved_plan, plan_to_dict(build_plan(resolved, target, renderer, loaded=saved.held(saved_plan),
                                                        drifts=saved.drifts(saved_plan))))
    # A managed emulator starts here, before the run is recorded, so the record names its URL.
    target = with_server(target, lambda message: progress.event("message", message=message), env,
                         min(lock_timeout, 60.0))
    run_id = store.start(manifest_name=manifest.name, manifest_file=manifest.display_path,
                         manifest_sha256=manifest.text_sha256, plan_fingerprint=plan.fingerprint,
                         warehouse=target.warehouse, dialect=target.dialect.name, target_url=target.display_url,
                         schema_name=target.schema, generation_run_id=generation_run)
    if link is not None:
        store.link_generation(run_id, link.experiment, link.generation_run_id, str(link.folder),
                              [(t.name, f.uri, f.rows, f.size) for t in resolved.tables for f in t.files])
    progress.event("run_started", run_id=run_id)
    connection: Warehouse | None = None

    events = run_events.attach(progress)   # S3 retries deep below reach this run's progress, and no other
    try:
        reading: LedgerReading | None = None
        if early is not None:
            connection, reading = early.result()
        else:
            connection = connect(target, progress, lock_timeout)
        if target.kind.compat_layer:
            # Redshift functions and STL views on the emulator; its own transaction, skipped when current.
            compat.ensure_installed(connection, templates_dir,
                                    warn=lambda message: progress.event("message", message=message))
        result = _load(connection, resolved, target, renderer, run_id, force, progress, one_shot, saved_plan,
                       reading)
    except LoaderError as exc:
        store.finish(run_id, "failed", error=str(exc))
        if connection is not None and target.kind.compat_layer:
            compat.record_failure(connection, run_id, plan, exc)   # for STL_LOAD_ERRORS; best effort
        _cleanup(plan, manifest.stage_cleanup, succeeded=False)
        raise
    except BaseException as exc:
        store.finish(run_id, "failed", error=f"{type(exc).__name__}: {exc}")
        raise
    finally:
        run_events.detach(events)
        if connection is not None:
            connection.close()
        _remove_mirror(plan)
        progress.close()
    status = "succeeded" if result.changed else "unchanged"
    store.finish(run_id, status, rows=result.rows, nbytes=result.bytes, tables=[
        dict(table_name=t.table, mode=t.mode, status=t.status, files=t.files, rows=t.rows, bytes=t.bytes,
             seconds=round(t.seconds, 3)) for t in result.tables])
    if result.changed:
        _cleanup(result.plan, manifest.stage_cleanup, succeeded=True)
    return result


def _load(connection: Warehouse, resolved: ResolvedManifest, target: Target, renderer: Renderer, run_id: str,
          force: bool, progress: Progress, one_shot: bool, saved_plan: Mapping[str, Any] | None,
          reading: LedgerReading | None) -> ApplyResult:
    """`reading`: the ledger and row counts read as the connection opened (EarlyRead), else read here."""
    drifts = check_existing_tables(connection, resolved, target, renderer)
    for _ in range(MAX_STALE_RETRIES):
        if reading is None:
            reading = LedgerReading(read_ledger(connection, target, renderer)) if force else \
                read_ledger_and_rows(connection, target, renderer, [t.name for t in resolved.tables])
        ledger = reading.loaded
        loaded = ledger if force else changed_outside(resolved, reading, progress)
        reading = None   # planning again after another apply committed reads it again
        plan = build_plan(resolved, target, renderer, loaded=None if force else loaded, drifts=drifts)
        if saved_plan is not None:
            saved.check(saved_plan, plan_to_dict(plan))   # the ledger as it is now
        for drift in drifts.values():   # the words `plan` shows beside the table
            progress.event("message", message=f"table {drift.table} differs from the manifest: "
                           f"{'; '.join(drift.differences)}; {drift.does(target.dialect.transactional_ddl)}")
        if not force and not drifts and not needs_work(resolved, loaded):
            # No message here: the caller says "No changes" once (ApplyResult.changed is False).
            return ApplyResult(run_id, False, plan, target)
        if one_shot:
            # The CLI kept the collector off while it started (cli._short_lived): on for staging and
            # the load, with what start-up left alive frozen out of its walks (see the freeze below).
            gc.freeze()
            gc.enable()
        staging = start_staging(plan, progress)
        # Where the loader streams the staged objects itself, the load starts now and reads each
        # object once it is staged; elsewhere the warehouse reads the stage, so it must be complete.
        streams = target.kind.streams_staged_objects
        try:
            if not streams:
                staging.finish()
            if one_shot:
                # Everything alive now (modules, the plan) lives until the process ends: keep the
                # collector from walking it again and again while batches stream (4.5% of a 10M-row
                # load's CPU went to full collections, py-spy, docs/benchmarks.md). Not in a server,
                # where garbage frozen here would never be collected.
                gc.freeze()

            def after_lock(expected: dict[str, set[str]] = ledger) -> None:
                if read_ledger(connection, target, renderer) != expected:
                    raise StaleLedger

            try:
                with staged_gate(staging) if streams else contextlib.nullcontext():
                    outcomes = Execution(plan, connection, run_id, progress, after_lock,
                                         versions=staging.result.version_ids,
                                         staging_done=staging.finish if streams else lambda: None).run()
            except StaleLedger:
                progress.event("message", message="another apply changed the ledger while waiting; planning again")
                continue
            except LoaderError:
                if streams:
                    staging.raise_failure()   # a stage that failed is why the load did (S3 gone, a file changed)
                raise
        finally:
            staging.close()
        return ApplyResult(run_id, True, plan, target, list(outcomes.values()))
    raise LoadFailed("other applies kept changing the target while this one waited", hint="apply again")


def _remove_mirror(plan: Plan) -> None:
    """The emulator's local copies of S3 objects are needed only during the load: keep the cache bounded."""
    remove_staged(f.load_uri for t in plan.tables for f in t.files if f.load_uri != f.staged_uri)


def _cleanup(plan: Plan, policy: str, succeeded: bool) -> None:
    if policy == "always" or (policy == "on_success" and succeeded):
        uris = [f.staged_uri for t in plan.tables for f in t.files]
        remove_staged(uris)
