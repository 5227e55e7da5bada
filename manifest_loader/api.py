"""The HTTP API behind `manifest-loader serve`: the CLI's commands over JSON, for the simulator's UI and scripts.

`create_app(manifests_dir)` builds the FastAPI app. Manifests are named by their file stem and
only files directly inside the configured folder can be named. Loads run `apply` in a
background thread with a `Progress` that keeps live per-table rows and bytes; the metadata
database (runs.RunStore) holds everything else. Errors are RFC 7807 problem details whose
`detail` is the CLI's message; the loader masks passwords at their source and every response
is scrubbed once more of the secrets the environment holds.
"""

from __future__ import annotations

import json
import os
import re
import threading
import uuid
from collections import OrderedDict, deque
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import __version__
from .errors import ConnectionFailed, LoaderError, LoadFailed, ManifestError, Problem, SourceError, UsageError
from .progress import Progress
from .yamlpos import MAX_MANIFEST_BYTES

PROBLEM_MEDIA_TYPE = "application/problem+json"
Warehouse = Literal["redshift", "snowflake"]
# A manifest's file name without .yaml: dot-separated words, so never '..', a leading dot or a separator.
NAME_PATTERN = r"^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$"
_NAME = re.compile(NAME_PATTERN)
_RUN_ID = re.compile(r"[0-9a-fA-F-]{8,36}\Z")
_YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")
_SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|PRIVATE_KEY|CREDENTIAL", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"^[^:/?#]+://[^/@:?#]*:(?P<password>[^/@?#]+)@")
LIVE_RUNS_KEPT = 200
SNOWFLAKE_QUERY_WAIT = 10.0


# -- response models (they are the OpenAPI document) ---------------------------------------------


class PositionedError(BaseModel):
    file: str
    line: int
    col: int
    path: str
    message: str
    text: str = Field(description="The line the CLI prints: file:line:col: path: message")


class ProblemDetails(BaseModel):
    """RFC 7807 problem details; `detail` is the CLI's message, `errors` its positioned problems."""

    model_config = ConfigDict(extra="allow")
    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    hint: str | None = None
    errors: list[PositionedError] | None = None


class TableSummary(BaseModel):
    name: str
    mode: str
    source: str


class TargetSummary(BaseModel):
    warehouse: str
    schema_: str = Field(alias="schema")

    model_config = ConfigDict(populate_by_name=True)


class RunSummary(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    manifest_name: str
    manifest_file: str
    warehouse: str
    dialect: str
    target_url: str
    schema_name: str
    status: str
    started_at: datetime
    finished_at: datetime | None = None
    rows: int
    bytes: int
    error: str | None = None
    generation_run_id: str | None = None
    plan_fingerprint: str
    manifest_sha256: str


class ExperimentSummary(BaseModel):
    name: str = Field(description="The file name without .yaml: what the other endpoints take")
    file: str
    valid: bool
    manifest_name: str | None = None
    description: str | None = None
    target: TargetSummary | None = None
    tables: list[TableSummary] = []
    errors: list[PositionedError] = []
    error: str | None = None
    last_run: RunSummary | None = None


class ExperimentList(BaseModel):
    manifests_dir: str
    experiments: list[ExperimentSummary]


class RunList(BaseModel):
    runs: list[RunSummary]


class TableProgress(BaseModel):
    model_config = ConfigDict(extra="allow")
    status: str
    rows: int = 0
    bytes: int = 0
    expected_rows: int | None = None
    files: int | None = None
    seconds: float | None = None


class RunProgress(BaseModel):
    live: bool = Field(description="True while this server's thread runs the load; else from the metadata DB")
    phase: str
    rows: int
    bytes: int
    staged_bytes: int = 0
    stage_bytes: int = 0
    tables: dict[str, TableProgress]
    messages: list[str] = []


class RunTable(BaseModel):
    model_config = ConfigDict(extra="allow")
    table_name: str
    mode: str
    status: str
    files: int
    rows: int
    bytes: int
    seconds: float | None = None


class RunDetail(RunSummary):
    tables: list[RunTable]
    tables_total: int
    progress: RunProgress


class LoadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target_warehouse: Warehouse | None = Field(None, description="Override the manifest's target warehouse")
    force: bool = Field(False, description="Reload every file, even those the ledger holds")
    generation_run: str | None = Field(None, max_length=255, description="Link the load to a generation run")


class LoadAccepted(BaseModel):
    run_id: str
    status: str
    experiment: str
    target_warehouse: str
    status_url: str


class ValidateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    manifest: str = Field(description="The manifest's YAML text")
    target_warehouse: Warehouse | None = None
    filename: str | None = Field(None, max_length=255, description="Name shown in error positions")


class ValidateResult(BaseModel):
    valid: bool
    manifest_name: str
    tables: int
    files: int
    table_names: list[str]


class QueryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sql: str = Field(min_length=1, max_length=100_000)
    experiment: str | None = Field(None, max_length=200, pattern=NAME_PATTERN,
                                   description="Run against this manifest's target and schema; without it, "
                                               "target_warehouse's URL and its public schema")
    target_warehouse: Warehouse | None = None
    max_rows: int = Field(1000, ge=1, le=100_000)


class QueryTarget(BaseModel):
    warehouse: str
    dialect: str
    schema_: str = Field(alias="schema")

    model_config = ConfigDict(populate_by_name=True)


class QueryResultModel(BaseModel):
    columns: list[str]
    rows: list[list[Any]]
    row_count: int
    truncated: bool
    translated_sql: str | None = Field(description="The PostgreSQL that ran on the Redshift emulator; null when "
                                                   "the SQL ran as given")
    notes: list[str]
    target: QueryTarget


# -- errors ---------------------------------------------------------------------------------------


ExperimentName = Annotated[str, PathParam(pattern=NAME_PATTERN, max_length=200,
                                           description="A manifest in the folder: its file name without .yaml")]


def _name_refused(name: str, folder: Path) -> ApiProblem:
    return ApiProblem(400, "Invalid experiment name",
                      f"experiment name {name!r} is refused: name a manifest file in {folder} by its name without "
                      ".yaml (letters, digits, _ . -; no path separators, no '..')")


class ApiProblem(Exception):
    def __init__(self, status: int, title: str, detail: str, **extra: Any):
        super().__init__(detail)
        self.status, self.title, self.detail, self.extra = status, title, detail, extra


def _positioned(problems: list[Problem], rename: tuple[str, str] | None = None) -> list[dict[str, Any]]:
    out = []
    for p in problems:
        file = rename[1] if rename and p.file == rename[0] else p.file
        message = p.message.replace(rename[0], rename[1]) if rename else p.message
        out.append(dict(file=file, line=p.line, col=p.col, path=p.path, message=message,
                        text=f"{file}:{p.line}:{p.col}: {p.path}: {message}"))
    return out


def loader_problem(exc: LoaderError, *, query: bool = False,
                   rename: tuple[str, str] | None = None) -> ApiProblem:
    """The CLI's message for a loader error, with the HTTP status its kind deserves."""
    detail = str(exc) if not rename else str(exc).replace(rename[0], rename[1])
    extra: dict[str, Any] = {"hint": exc.hint, "exit_code": exc.exit_code}
    from .translate import TranslationError

    if isinstance(exc, ManifestError):
        extra["errors"] = _positioned(exc.problems, rename)
        return ApiProblem(422, "Invalid manifest", detail, **extra)
    if isinstance(exc, TranslationError):
        return ApiProblem(422, "Cannot translate the query", detail, **extra)
    if isinstance(exc, SourceError):
        return ApiProblem(422, "Invalid source", detail, **extra)
    if isinstance(exc, UsageError):
        return ApiProblem(422, "Invalid request", detail, **extra)
    if isinstance(exc, ConnectionFailed):
        return ApiProblem(502, "Cannot connect", detail, **extra)
    if isinstance(exc, LoadFailed):
        if query and exc.message.startswith("query failed"):
            return ApiProblem(400, "Query failed", detail, **extra)
        return ApiProblem(409, "Conflict" if query else "Load failed", detail, **extra)
    return ApiProblem(500, "Loader error", detail, **extra)


class Secrets:
    """Values from the environment that must never appear in a response, replaced by ***."""

    def __init__(self, env: Mapping[str, str] | None):
        self.env = env

    def values(self) -> list[str]:
        env = os.environ if self.env is None else self.env
        found = set()
        for name, value in env.items():
            if not value:
                continue
            if (match := _URL_PASSWORD.match(value)) and len(match.group("password")) >= 6:
                found.add(match.group("password"))
            if _SECRET_NAME.search(name) and len(value) >= 8:
                found.add(value)
        return sorted(found, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        for secret in self.values():
            text = text.replace(secret, "***")
        return text


class ScrubbedJSONResponse(JSONResponse):
    secrets: Secrets = Secrets(None)

    def render(self, content: Any) -> bytes:
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=str)
        return self.secrets.scrub(text).encode("utf-8")


def _problem_response(status: int, title: str, detail: str | None, response_class: type[JSONResponse],
                      **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail,
            **{k: v for k, v in extra.items() if v is not None}}
    return response_class(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE)


def _problem_doc(*statuses: int) -> dict[int | str, dict[str, Any]]:
    described = {400: "Bad request: an invalid name, or the SQL failed", 404: "No such experiment or run",
                 409: "Busy: the Snowflake emulator is held by a load, or another apply holds the target",
                 413: "The manifest is larger than 1 MiB", 415: "Unsupported media type",
                 422: "Invalid: the manifest, the request or the SQL (problem details with the CLI's message)",
                 500: "A bug: reported with its type", 502: "The warehouse or metadata database cannot be reached"}
    ref = {"$ref": "#/components/schemas/ProblemDetails"}
    return {s: {"description": described[s], "model": ProblemDetails, "content": {PROBLEM_MEDIA_TYPE: {"schema": ref}}}
            for s in statuses}


# -- live progress --------------------------------------------------------------------------------


class ApiProgress(Progress):
    """Keeps the run id and per-table rows and bytes while a load runs, for GET /api/runs/{id}."""

    def __init__(self, tables: list[str]):
        super().__init__()
        self.lock = threading.Lock()
        self.started = threading.Event()
        self.finished = threading.Event()
        self.run_id: str | None = None
        self.error: BaseException | None = None
        self.phase = "starting"
        self.stage_bytes = 0
        self.staged_bytes = 0
        self.messages: deque[str] = deque(maxlen=20)
        self.table_files: dict[str, int] = {}
        for name in tables:
            self.tables[name] = {"rows": 0, "bytes": 0, "status": "pending"}

    def event(self, kind: str, **fields: Any) -> None:
        with self.lock:
            if kind == "run_started":
                self.run_id = fields["run_id"]
            elif kind == "stage_start":
                self.phase, self.stage_bytes = "staging", fields.get("bytes", 0)
            elif kind == "stage_file":
                self.staged_bytes += fields.get("bytes", 0)
            elif kind == "table_start":
                self.phase = "loading"
                self.table_files[fields["table"]] = fields.get("files", 0)
            elif kind in ("message", "waiting"):
                self.messages.append(fields.get("message", ""))
            elif kind == "retry":
                self.messages.append(f"retrying {fields.get('what')} after {fields.get('error')}")
            super().event(kind, **fields)
        if kind == "run_started":
            self.started.set()

    def done(self, error: BaseException | None) -> None:
        with self.lock:
            self.error = error
            self.phase = "failed" if error else "finished"
        self.finished.set()
        self.started.set()

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            tables = {}
            for name, state in self.tables.items():
                entry = {k: v for k, v in state.items() if k != "started"}
                if name in self.table_files:
                    entry["files"] = self.table_files[name]
                tables[name] = entry
            return dict(live=not self.finished.is_set(), phase=self.phase,
                        rows=sum(t.get("rows", 0) for t in tables.values()),
                        bytes=sum(t.get("bytes", 0) for t in tables.values()),
                        stage_bytes=self.stage_bytes, staged_bytes=self.staged_bytes, tables=tables,
                        messages=list(self.messages))


def _utc(value: Any) -> Any:
    return value.replace(tzinfo=UTC) if isinstance(value, datetime) and value.tzinfo is None else value


def _run_row(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _utc(v) for k, v in row.items()}


# -- the app --------------------------------------------------------------------------------------


class Service:
    """What the routes share: the manifests folder, the environment, the run store, live loads."""

    def __init__(self, manifests_dir: Path, env: Mapping[str, str] | None, lock_timeout: float):
        self.display_dir = manifests_dir
        self.dir = manifests_dir.resolve()
        self.env = env
        self.lock_timeout = lock_timeout
        self.live: OrderedDict[str, ApiProgress] = OrderedDict()
        self.live_lock = threading.Lock()
        # fakesnow patches the Snowflake connector process-wide and refuses a second patch:
        # in this process one load or query at a time uses the Snowflake emulator.
        self.fakesnow_lock = threading.Lock()
        self._store: Any = None
        self._store_lock = threading.Lock()

    @property
    def store(self) -> Any:
        from .runs import RunStore, metadata_url
        from .target import state_dir

        with self._store_lock:
            if self._store is None:
                # The project of the manifests folder, as for every manifest in it.
                self._store = RunStore(metadata_url(state_dir(self.env, self.dir), self.env))
            return self._store

    def manifest_path(self, name: str) -> Path:
        """The manifest file NAME names inside the folder; 400 for names that could leave it, 404 if absent."""
        if "/" in name or "\\" in name or ".." in name or not _NAME.match(name) or len(name) > 200:
            raise _name_refused(name, self.display_dir)
        for suffix in (".yaml", ".yml"):
            candidate = self.dir / f"{name}{suffix}"
            if candidate.is_file() and candidate.resolve().parent == self.dir:
                return self.display_dir / candidate.name
        raise ApiProblem(404, "Experiment not found", f"no manifest {name}.yaml in {self.display_dir}")

    def manifest_files(self) -> list[Path]:
        files = [p for p in self.dir.iterdir() if p.suffix in (".yaml", ".yml") and not p.name.startswith(".")
                 and p.is_file() and _NAME.match(p.stem)]
        return sorted(files, key=lambda p: p.name)

    def remember(self, run_id: str, progress: ApiProgress) -> None:
        with self.live_lock:
            self.live[run_id] = progress
            while len(self.live) > LIVE_RUNS_KEPT:
                self.live.popitem(last=False)

    def live_progress(self, run_id: str) -> ApiProgress | None:
        with self.live_lock:
            return self.live.get(run_id)


def create_app(manifests_dir: str | Path = "manifests", env: Mapping[str, str] | None = None,
               lock_timeout: float = 600.0, web: bool = True) -> FastAPI:
    """The API over the manifests in `manifests_dir`; `env` replaces os.environ (tests)."""
    secrets = Secrets(env)
    response_class = type("Scrubbed", (ScrubbedJSONResponse,), {"secrets": secrets})
    service = Service(Path(manifests_dir), env, lock_timeout)
    app = FastAPI(title="manifest-loader", version=__version__, default_response_class=response_class,
                  description="Load Parquet files into Redshift, Snowflake or their emulators from YAML manifests. "
                              "Errors are RFC 7807 problem details (application/problem+json) whose `detail` is "
                              "the CLI's message.")
    app.state.service = service
    app.add_middleware(_FormIsJson)

    @app.exception_handler(ApiProblem)
    def _api_problem(request: Request, exc: ApiProblem) -> JSONResponse:
        return _problem_response(exc.status, exc.title, exc.detail, response_class, **exc.extra)

    @app.exception_handler(LoaderError)
    def _loader_error(request: Request, exc: LoaderError) -> JSONResponse:
        problem = loader_problem(exc)
        return _problem_response(problem.status, problem.title, problem.detail, response_class, **problem.extra)

    @app.exception_handler(RequestValidationError)
    def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        if any(tuple(e.get("loc", ()))[:2] == ("path", "name") for e in exc.errors()):
            refused = _name_refused(request.path_params.get("name", ""), service.display_dir)
            return _problem_response(refused.status, refused.title, refused.detail, response_class)
        errors = [f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()]
        return _problem_response(422, "Invalid request", "; ".join(errors) or "invalid request", response_class)

    @app.exception_handler(StarletteHTTPException)
    def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        response = _problem_response(exc.status_code, str(exc.detail), str(exc.detail), response_class)
        response.headers.update(exc.headers or {})   # e.g. Allow on 405
        return response

    @app.exception_handler(Exception)
    def _bug(request: Request, exc: Exception) -> JSONResponse:
        return _problem_response(500, "Unexpected error", f"unexpected {type(exc).__name__}: {exc}", response_class)

    common = _problem_doc(422, 500)

    @app.get("/api/experiments", response_model=ExperimentList, tags=["experiments"], responses=common)
    def list_experiments() -> dict[str, Any]:
        """The manifests in the folder, with their tables, target and last run; invalid ones with their errors."""
        from .manifest import load_manifest

        experiments = []
        for path in service.manifest_files():
            shown = service.display_dir / path.name
            entry: dict[str, Any] = {"name": path.stem, "file": str(shown), "valid": True}
            manifest_name = path.stem
            try:
                manifest = load_manifest(shown if not shown.is_absolute() else path, env)
                manifest_name = manifest.name
                entry.update(manifest_name=manifest.name, description=manifest.description or None,
                             target={"warehouse": manifest.warehouse, "schema": manifest.schema},
                             tables=[{"name": t.name, "mode": t.mode, "source": t.source} for t in manifest.tables])
            except ManifestError as exc:
                entry.update(valid=False, errors=_positioned(exc.problems), error=str(exc).splitlines()[0])
            except LoaderError as exc:
                entry.update(valid=False, error=str(exc))
            runs = service.store.list(manifest_name, None, 1)
            entry["last_run"] = _run_row(runs[0]) if runs else None
            experiments.append(entry)
        return {"manifests_dir": str(service.display_dir), "experiments": experiments}

    @app.get("/api/experiments/{name}/plan", tags=["experiments"], responses=_problem_doc(400, 404, 422, 500))
    def experiment_plan(name: ExperimentName, target_warehouse: Warehouse | None = None) -> dict[str, Any]:
        """The plan `apply` would run (the same JSON as `manifest-loader plan --format json`); writes nothing."""
        from .commands import make_plan
        from .plan_format import plan_to_dict

        path = service.manifest_path(name)
        plan, _ = make_plan(path, target_warehouse, env=env)
        return plan_to_dict(plan)

    @app.post("/api/experiments/{name}/load", status_code=202, response_model=LoadAccepted, tags=["runs"],
              responses=_problem_doc(400, 404, 409, 422, 500, 502))
    def load_experiment(name: ExperimentName, body: LoadRequest | None = None) -> dict[str, Any]:
        """Start `apply` in the background; answers 202 with the run id once the run is recorded.

        Follow it at `status_url`. A manifest or command-line problem is answered here (422),
        as the CLI would exit 2 before loading anything.
        """
        from .apply import apply
        from .manifest import load_manifest
        from .target import resolve_target

        body = body or LoadRequest()
        path = service.manifest_path(name)
        manifest = load_manifest(path, env)
        target = resolve_target(manifest, body.target_warehouse, env)
        fakesnow = target.dialect.name == "fakesnow"
        if fakesnow and not service.fakesnow_lock.acquire(blocking=False):
            raise ApiProblem(409, "Snowflake emulator busy", "the Snowflake emulator is in use by another load or "
                             "query of this server; try again when it has finished")
        progress = ApiProgress([t.name for t in manifest.tables])

        def work() -> None:
            error: BaseException | None = None
            try:
                apply(path, body.target_warehouse, force=body.force, generation_run=body.generation_run,
                      progress=progress, lock_timeout=service.lock_timeout, env=env)
            except BaseException as exc:  # recorded in the metadata DB by apply; kept for the caller
                error = exc
            finally:
                if fakesnow:
                    service.fakesnow_lock.release()
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
                "target_warehouse": target.warehouse, "status_url": f"/api/runs/{progress.run_id}"}

    @app.get("/api/runs", response_model=RunList, tags=["runs"], responses=common)
    def list_runs(experiment: str | None = None, target_warehouse: Warehouse | None = None,
                  limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> dict[str, Any]:
        """Recorded runs, newest first (`experiment` filters by the manifest's name)."""
        return {"runs": [_run_row(r) for r in service.store.list(experiment, target_warehouse, limit)]}

    @app.get("/api/runs/{run_id}", response_model=RunDetail, tags=["runs"], responses=_problem_doc(404, 422, 500))
    def get_run(run_id: str) -> dict[str, Any]:
        """A run's status, per-table detail and progress (live while this server runs it)."""
        if not _RUN_ID.match(run_id):
            raise ApiProblem(404, "Run not found", f"no run {run_id!r}: run ids are UUIDs (8 characters or more "
                             "of one are enough)")
        live = service.live_progress(run_id)
        record = service.store.get(run_id)
        if record is None:
            raise ApiProblem(404, "Run not found", f"no run {run_id} in the metadata database")
        live = live or service.live_progress(record.run_id)
        values = _run_row(record.values)
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

    validate_body = {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/ValidateRequest"}},
            **{t: {"schema": {"type": "string", "description": "The manifest's YAML text"}} for t in _YAML_TYPES[:2]},
        },
    }

    @app.post("/api/validate", response_model=ValidateResult, tags=["experiments"],
              responses=_problem_doc(413, 415, 422, 500), openapi_extra={"requestBody": validate_body})
    async def validate_manifest(request: Request) -> dict[str, Any]:
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
        if media in ("application/json", ""):
            try:
                body = ValidateRequest.model_validate_json(raw or b"null")
            except ValueError as exc:
                errors = getattr(exc, "errors", lambda: [])()
                detail = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in errors)
                raise ApiProblem(422, "Invalid request", detail or "the body is not a JSON object with 'manifest'") \
                    from None
            text, warehouse, filename = body.manifest, body.target_warehouse, body.filename
        elif media in _YAML_TYPES:
            text = raw   # bytes as posted: the loader reports a non-UTF-8 byte where it is, as the CLI does
            warehouse = request.query_params.get("target_warehouse") or None
            if warehouse not in (None, "redshift", "snowflake"):
                raise ApiProblem(422, "Invalid request", "target_warehouse must be redshift or snowflake")
            filename = request.query_params.get("filename")
        else:
            raise ApiProblem(415, "Unsupported media type", f"post the manifest as application/json or "
                             f"application/yaml, not {media}")
        return await run_in_threadpool(_validate_text, service, text, warehouse, filename)

    @app.post("/api/query", response_model=QueryResultModel, tags=["query"],
              responses=_problem_doc(400, 404, 409, 422, 500, 502))
    def run_sql(body: QueryRequest) -> dict[str, Any]:
        """Run one statement, as `manifest-loader query` does; nothing it changes is committed.

        On the Redshift emulator the SQL is Redshift SQL, translated to PostgreSQL
        (`translated_sql` shows what ran); the Snowflake emulator translates Snowflake SQL itself.
        """
        from .query import execute_query, jsonable, query_target

        path = service.manifest_path(body.experiment) if body.experiment is not None else None
        target = query_target(path, body.target_warehouse, env)
        fakesnow = target.dialect.name == "fakesnow"
        if fakesnow and not service.fakesnow_lock.acquire(timeout=SNOWFLAKE_QUERY_WAIT):
            raise ApiProblem(409, "Snowflake emulator busy", "the Snowflake emulator is in use by a load of this "
                             f"server; waited {SNOWFLAKE_QUERY_WAIT:.0f}s, try again when it has finished")
        try:
            result = execute_query(path, body.sql, body.target_warehouse, env=env,
                                   lock_timeout=SNOWFLAKE_QUERY_WAIT)
        except LoaderError as exc:
            raise loader_problem(exc, query=True) from None
        finally:
            if fakesnow:
                service.fakesnow_lock.release()
        rows = [[jsonable(v) for v in row] for row in result.rows[:body.max_rows]]
        return {"columns": result.columns, "rows": rows, "row_count": len(result.rows),
                "truncated": len(result.rows) > body.max_rows, "translated_sql": result.translated_sql,
                "notes": list(result.notes),
                "target": {"warehouse": target.warehouse, "dialect": target.dialect.name, "schema": target.schema}}

    if web:
        try:
            from .web import mount_web
        except ImportError:
            pass
        else:
            mount_web(app)
    return app


class _FormIsJson:
    """`curl -d '{...}'` says application/x-www-form-urlencoded; a JSON API reads such a body as JSON."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope.get("method") == "POST":
            headers = [(k, b"application/json" if k == b"content-type"
                        and v.split(b";")[0].strip().lower() == b"application/x-www-form-urlencoded" else v)
                       for k, v in scope.get("headers", [])]
            scope = {**scope, "headers": headers}
        await self.app(scope, receive, send)


def _validate_text(service: Service, text: str | bytes, warehouse: str | None,
                   filename: str | None) -> dict[str, Any]:
    """Validate YAML text from a hidden file in the manifests folder, so relative sources resolve there."""
    from .commands import validate

    shown = Path(filename).name if filename else "manifest.yaml"
    temp = service.dir / f".validate-{uuid.uuid4().hex}.yaml"
    try:
        temp.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    except OSError as exc:
        raise ApiProblem(500, "Cannot validate", f"cannot write into {service.display_dir} to validate: "
                         f"{exc.strerror}") from None
    try:
        resolved = validate(temp, warehouse, env=service.env)
    except LoaderError as exc:
        raise loader_problem(exc, rename=(str(temp), shown)) from None
    finally:
        temp.unlink(missing_ok=True)
    return {"valid": True, "manifest_name": resolved.manifest.name, "tables": len(resolved.tables),
            "files": sum(len(t.files) for t in resolved.tables), "table_names": [t.name for t in resolved.tables]}
