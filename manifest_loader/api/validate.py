"""/api/validate: validate a posted manifest as `manifest-loader validate` does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request

from ..errors import LoaderError
from ..registry import warehouses
from ..yamlpos import MAX_MANIFEST_BYTES
from .models import ValidateRequest, ValidateResult
from .problems import ApiProblem, loader_problem, problem_doc
from .service import Service, ServiceDep

# No text/plain: a browser posts it cross-site without asking first (a "simple request").
_YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")

router = APIRouter(tags=["experiments"])

validate_body = {
    "required": True,
    "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/ValidateRequest"}},
        **{t: {"schema": {"type": "string", "description": "The manifest's YAML text"}} for t in _YAML_TYPES[:2]},
    },
}


@router.post("/api/validate", response_model=ValidateResult, responses=problem_doc(413, 415, 422, 500),
             openapi_extra={"requestBody": validate_body})
async def validate_manifest(service: ServiceDep, request: Request) -> dict[str, Any]:
    """Validate a posted manifest as `manifest-loader validate` does; its sources resolve in the manifests folder.

    Post JSON `{"manifest": "<yaml>"}` or the YAML itself (Content-Type application/yaml).
    Errors are the CLI's positioned problems, `file:line:col: path: message`.
    """
    from starlette.concurrency import run_in_threadpool

    media = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    raw = await request.body()
    if len(raw) > MAX_MANIFEST_BYTES:
        raise ApiProblem(413, "Manifest too large", f"the manifest is {len(raw)} bytes; at most "
                         f"{MAX_MANIFEST_BYTES} are read")
    text: str | bytes
    warehouse: str | None
    if media in ("application/json", ""):
        try:
            body = ValidateRequest.model_validate_json(raw or b"null")
        except ValueError as exc:
            errors: list[dict[str, Any]] = getattr(exc, "errors", lambda: [])()
            detail = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in errors)
            raise ApiProblem(422, "Invalid request", detail or "the body is not a JSON object with 'manifest'") \
                from None
        text, warehouse, filename = body.manifest, body.target_warehouse, body.filename
    elif media in _YAML_TYPES:
        text = raw   # bytes as posted: the loader reports a non-UTF-8 byte where it is, as the CLI does
        warehouse = request.query_params.get("target_warehouse") or None
        if warehouse is not None and warehouse not in warehouses():
            raise ApiProblem(422, "Invalid request", f"target_warehouse must be {' or '.join(warehouses())}")
        filename = request.query_params.get("filename")
    else:
        raise ApiProblem(415, "Unsupported media type", f"post the manifest as application/json or "
                         f"application/yaml, not {media}")
    return await run_in_threadpool(_validate_text, service, text, warehouse, filename)


def _validate_text(service: Service, text: str | bytes, warehouse: str | None,
                   filename: str | None) -> dict[str, Any]:
    """Validate YAML text as if it were a file in the manifests folder, so relative sources resolve
    there; nothing is written there (or anywhere)."""
    from ..commands import validate_text

    shown = Path(filename).name if filename else "manifest.yaml"
    try:
        resolved = validate_text(text if isinstance(text, bytes) else text.encode("utf-8"), service.dir, shown,
                                 warehouse, env=service.env)
    except LoaderError as exc:
        raise loader_problem(exc, rename=(str(service.dir / shown), shown)) from None
    return {"valid": True, "manifest_name": resolved.manifest.name, "tables": len(resolved.tables),
            "files": sum(len(t.files) for t in resolved.tables), "table_names": [t.name for t in resolved.tables]}
