"""The FastAPI app: its error handlers, its middleware and the routers of each resource."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from .. import __version__
from ..errors import LoaderError
from . import experiments, query, runs, simulator, tables, validate
from .guard import LOOPBACK_HOSTS, RequestGuard
from .problems import ApiProblem, ScrubbedJSONResponse, Secrets, loader_problem, name_refused, problem_response
from .service import Service


def create_app(manifests_dir: str | Path = "manifests", env: Mapping[str, str] | None = None,
               lock_timeout: float = 600.0, web: bool = True, *, allowed_hosts: Sequence[str] = LOOPBACK_HOSTS,
               token: str | None = None, allowed_origins: Sequence[str] = ()) -> FastAPI:
    """The API over the manifests in `manifests_dir`; `env` replaces os.environ (tests).

    Requests must name one of `allowed_hosts` in their Host header, come from no other origin than
    the server's own (or `allowed_origins`), and carry `token` when one is given (guard.py)."""
    secrets = Secrets(env)
    response_class = type("Scrubbed", (ScrubbedJSONResponse,), {"secrets": secrets})
    service = Service(Path(manifests_dir), env, lock_timeout)
    app = FastAPI(title="manifest-loader", version=__version__, default_response_class=response_class,
                  description="Load Parquet files into Redshift, Snowflake or their emulators from YAML manifests. "
                              "Errors are RFC 7807 problem details (application/problem+json) whose `detail` is "
                              "the CLI's message.")
    app.state.service = service
    # The last added runs first: the Host check, then origin, token, body type and size.
    app.add_middleware(RequestGuard, token=token, allowed_origins=list(allowed_origins))
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))

    @app.exception_handler(ApiProblem)
    def _api_problem(request: Request, exc: ApiProblem) -> JSONResponse:
        return problem_response(exc.status, exc.title, exc.detail, response_class, **exc.extra)

    @app.exception_handler(LoaderError)
    def _loader_error(request: Request, exc: LoaderError) -> JSONResponse:
        problem = loader_problem(exc)
        return problem_response(problem.status, problem.title, problem.detail, response_class, **problem.extra)

    @app.exception_handler(RequestValidationError)
    def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        if any(tuple(e.get("loc", ()))[:2] == ("path", "name") for e in exc.errors()):
            refused = name_refused(request.path_params.get("name", ""), service.display_dir)
            return problem_response(refused.status, refused.title, refused.detail, response_class)
        errors = [f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()]
        return problem_response(422, "Invalid request", "; ".join(errors) or "invalid request", response_class)

    @app.exception_handler(StarletteHTTPException)
    def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        response = problem_response(exc.status_code, str(exc.detail), str(exc.detail), response_class)
        response.headers.update(exc.headers or {})   # e.g. Allow on 405
        return response

    @app.exception_handler(Exception)
    def _bug(request: Request, exc: Exception) -> JSONResponse:
        return problem_response(500, "Unexpected error", f"unexpected {type(exc).__name__}: {exc}", response_class)

    # Registration order is the order of the OpenAPI document's paths.
    for module in (experiments, simulator, runs, validate, query, tables):
        app.include_router(module.router)

    if web:
        try:
            from ..web import mount_web
        except ImportError:
            pass
        else:
            mount_web(app)
    return app
