"""/api/experiments: the manifests in the folder and the plan of each."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..errors import LoaderError, ManifestError
from .models import ExperimentList, ExperimentName, Warehouse
from .problems import positioned, problem_doc
from .service import Service, ServiceDep, run_row

router = APIRouter(tags=["experiments"])


@router.get("/api/experiments", response_model=ExperimentList, responses=problem_doc(422, 500))
def list_experiments(service: ServiceDep) -> dict[str, Any]:
    """The manifests in the folder, with their tables, target and last run; invalid ones with their errors;
    and, with the dw-simulator's metadata configured, its experiments (`simulator`)."""
    from ..commands import read_manifest

    experiments = []
    for path in service.manifest_files():
        shown = service.display_dir / path.name
        entry: dict[str, Any] = {"name": path.stem, "file": str(shown), "valid": True}
        manifest_name = path.stem
        try:
            manifest = read_manifest(shown if not shown.is_absolute() else path, service.env)
            manifest_name = manifest.name
            entry.update(manifest_name=manifest.name, description=manifest.description or None,
                         target={"warehouse": manifest.warehouse, "schema": manifest.schema},
                         tables=[{"name": t.name, "mode": t.mode, "source": t.source} for t in manifest.tables])
        except ManifestError as exc:
            entry.update(valid=False, errors=positioned(exc.problems), error=str(exc).splitlines()[0])
        except LoaderError as exc:
            entry.update(valid=False, error=str(exc))
        runs = service.store.list(manifest_name, None, 1)
        entry["last_run"] = run_row(runs[0]) if runs else None
        experiments.append(entry)
    return {"manifests_dir": str(service.display_dir), "experiments": experiments,
            "simulator": _simulator(service)}


def _simulator(service: Service) -> dict[str, Any] | None:
    """The dw-simulator's experiments beside the manifest files, when its metadata database is configured."""
    from ..commands import experiment_list, simulator_display_url

    url = simulator_display_url(service.env)
    return None if url is None else {"metadata_db": url, "experiments": experiment_list(service.env)}


@router.get("/api/experiments/{name}/plan", responses=problem_doc(400, 404, 422, 500))
def experiment_plan(service: ServiceDep, name: ExperimentName,
                    target_warehouse: Warehouse | None = None) -> dict[str, Any]:
    """The plan `apply` would run (the same JSON as `manifest-loader plan --format json`); writes nothing."""
    from ..commands import make_plan
    from ..plan_format import plan_to_dict

    ref = service.manifest_ref(name, target_warehouse)
    plan, _ = make_plan(ref.path, ref.warehouse, env=ref.env)
    return plan_to_dict(plan)
