"""/api/experiments/{name}/load and /api/runs: start loads in the background and follow them."""

from __future__ import annotations

import re
import threading
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query

from ..errors import LoaderError
from .models import ExperimentName, LoadAccepted, LoadRequest, RunDetail, RunList, Warehouse
from .problems import ApiProblem, loader_problem, problem_doc
from .progress import ApiProgress
from .service import ServiceDep, run_row

_RUN_ID = re.compile(r"[0-9a-fA-F-]{8,36}\Z")

router = APIRouter(tags=["runs"])


@router.post("/api/experiments/{name}/load", status_code=202, response_model=LoadAccepted,
             responses=problem_doc(400, 404, 409, 422, 500, 502))
def load_experiment(service: ServiceDep, name: ExperimentName, body: LoadRequest | None = None) -> dict[str, Any]:
    """Start `apply` in the background; answers 202 with the run id once the run is recorded.

    Follow it at `status_url`. A manifest or command-line problem is answered here (422),
    as the CLI would exit 2 before loading anything.
    """
    from ..commands import apply, simulator_experiment_names, target_of

    body = body or LoadRequest()
    env, generation_run, generation_run_id = service.env, body.generation_run, None
    warehouse: str | None = body.target_warehouse
    if name in (simulator_experiment_names(service.env) or ()):
        # A dw-simulator experiment: the run's files, through its checked-in manifest in the folder
        # or the one `init --from-experiment` writes; the load is linked to the run.
        from ..commands import experiment_target

        chosen = experiment_target(name, warehouse=body.target_warehouse, run_id=body.run_id, layout=body.layout,
                                   manifests_dir=service.dir, env=service.env)
        path, env, warehouse = chosen.manifest, chosen.env, chosen.warehouse
        generation_run_id = chosen.run.id
        generation_run = str(generation_run_id)
    else:
        path = service.manifest_path(name)
        if body.run_id is not None:
            raise ApiProblem(422, "Invalid request", f"run_id names a dw-simulator generation run, and {name} is a "
                             "manifest, no simulator experiment", hint="use generation_run to link its load to a run")
    manifest, target = target_of(path, warehouse, env)
    lock = service.process_lock(target)
    if lock is not None and not lock.acquire(blocking=False):
        raise ApiProblem(409, "Snowflake emulator busy", "the Snowflake emulator is in use by another load or "
                         "query of this server; try again when it has finished")
    progress = ApiProgress([t.name for t in manifest.tables])

    def work() -> None:
        error: BaseException | None = None
        try:
            apply(path, warehouse, force=body.force, generation_run=generation_run,
                  progress=progress, lock_timeout=service.lock_timeout, env=env)
        except BaseException as exc:  # recorded in the metadata DB by apply; kept for the caller
            error = exc
        finally:
            if lock is not None:
                lock.release()
            progress.done(error)

    threading.Thread(target=work, name=f"load-{name}-{uuid.uuid4().hex[:6]}", daemon=True).start()
    progress.started.wait()
    if progress.run_id is None:
        error = progress.error
        if isinstance(error, LoaderError):
            raise loader_problem(error)
        raise ApiProblem(500, "Unexpected error", f"unexpected {type(error).__name__}: {error}")
    service.remember(progress.run_id, progress)
    return {"run_id": progress.run_id, "status": "running", "experiment": name,
            "target_warehouse": target.warehouse, "status_url": f"/api/runs/{progress.run_id}",
            "generation_run_id": generation_run_id}


@router.get("/api/runs", response_model=RunList, responses=problem_doc(422, 500))
def list_runs(service: ServiceDep, experiment: str | None = None, target_warehouse: Warehouse | None = None,
              limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> dict[str, Any]:
    """Recorded runs, newest first (`experiment` filters by the manifest's name); with the dw-simulator's
    metadata configured, also per generation run its loads and their outcome (`generation_runs`)."""
    from .simulator import generation_runs

    return {"runs": [run_row(r) for r in service.store.list(experiment, target_warehouse, limit)],
            "generation_runs": generation_runs(service, experiment)}


@router.get("/api/runs/{run_id}", response_model=RunDetail, responses=problem_doc(404, 422, 500))
def get_run(service: ServiceDep, run_id: str) -> dict[str, Any]:
    """A run's status, per-table detail and progress (live while this server runs it)."""
    if not _RUN_ID.match(run_id):
        raise ApiProblem(404, "Run not found", f"no run {run_id!r}: run ids are UUIDs (8 characters or more "
                         "of one are enough)")
    live = service.live_progress(run_id)
    record = service.store.get(run_id)
    if record is None:
        raise ApiProblem(404, "Run not found", f"no run {run_id} in the metadata database")
    live = live or service.live_progress(record.run_id)
    values = run_row(record.values)
    if live is not None:
        progress = live.snapshot()
    else:
        tables = {t["table_name"]: {"status": t["status"], "rows": t["rows"], "bytes": t["bytes"],
                                    "files": t["files"], "seconds": t["seconds"]} for t in record.tables}
        progress = dict(live=False, phase="finished" if values["status"] != "running" else values["status"],
                        rows=values["rows"], bytes=values["bytes"], tables=tables, messages=[])
    if live is not None and values["status"] != "running":
        progress["live"] = False
        for table in record.tables:   # the recorded outcome completes the live view
            progress["tables"].setdefault(table["table_name"], {}).update(
                status=table["status"], rows=table["rows"], bytes=table["bytes"], files=table["files"],
                seconds=table["seconds"])
    total = len(progress["tables"]) or len(record.tables)
    return {**values, "tables": record.tables, "tables_total": total, "progress": progress}
