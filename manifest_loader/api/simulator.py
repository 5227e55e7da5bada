"""/api/experiments/{name}/runs and /warehouse: a dw-simulator experiment's generation runs, each with
its loads, and the warehouse it loads into (kept by us; the simulator's rows are never rewritten)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from .models import ExperimentName, GenerationRunList, SimulatorExperiment, WarehouseChoice
from .problems import ApiProblem, problem_doc
from .service import Service, ServiceDep

router = APIRouter(tags=["experiments"])


def require_experiment(service: Service, name: str) -> None:
    """404 unless the simulator's metadata is configured and holds the experiment."""
    from ..commands import simulator_experiment_names

    names = simulator_experiment_names(service.env)
    if names is None:
        raise ApiProblem(404, "Experiment not found", f"no dw-simulator experiment {name}: no simulator metadata "
                         "database is configured", hint="set DW_SIMULATOR_TARGET_DB_URL for the server")
    if name not in names:
        raise ApiProblem(404, "Experiment not found", f"no dw-simulator experiment {name}; experiments are: "
                         f"{', '.join(names) or '(none)'}")


def generation_runs(service: Service, experiment: str | None) -> list[dict[str, Any]]:
    """Per generation run, its loads and their outcome: of one experiment (all its runs), or of every
    experiment (the runs that were loaded); none when no simulator is configured."""
    from ..commands import experiment_status, simulator_experiment_names

    names = simulator_experiment_names(service.env) or []
    chosen = [experiment] if experiment in names else [] if experiment else names
    out = []
    for name in chosen:
        for run in experiment_status(name, service.env)["generation_runs"]:
            if experiment or run["loads"]:
                out.append({**run, "experiment": name})
    return out


@router.get("/api/experiments/{name}/runs", response_model=GenerationRunList,
            responses=problem_doc(400, 404, 422, 500))
def experiment_runs(service: ServiceDep, name: ExperimentName) -> dict[str, Any]:
    """A dw-simulator experiment's generation runs, newest first, each with its loads, their outcome and
    whether the loaded rows match the run's row_counts.generated."""
    from ..commands import experiment_status

    require_experiment(service, name)
    return experiment_status(name, service.env)


@router.put("/api/experiments/{name}/warehouse", response_model=SimulatorExperiment,
            responses=problem_doc(400, 404, 422, 500))
def choose_warehouse(service: ServiceDep, name: ExperimentName, body: WarehouseChoice) -> dict[str, Any]:
    """Set the warehouse a dw-simulator experiment loads into without target_warehouse (null: forget it)."""
    from ..commands import experiment_list, set_experiment_warehouse

    require_experiment(service, name)
    set_experiment_warehouse(name, body.warehouse, service.env)
    return next(e for e in experiment_list(service.env) if e["name"] == name)
