"""Errors as RFC 7807 problem details, and the response class that scrubs the environment's secrets."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi.responses import JSONResponse

from ..errors import (
    ConnectionFailed,
    LoaderError,
    LoadFailed,
    ManifestError,
    Problem,
    QueryFailed,
    SourceError,
    UsageError,
)
from .models import ProblemDetails

PROBLEM_MEDIA_TYPE = "application/problem+json"
_SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|PRIVATE_KEY|CREDENTIAL", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"^[^:/?#]+://[^/@:?#]*:(?P<password>[^/@?#]+)@")


def name_refused(name: str, folder: Path) -> ApiProblem:
    return ApiProblem(400, "Invalid experiment name",
                      f"experiment name {name!r} is refused: name a manifest file in {folder} by its name without "
                      ".yaml (letters, digits, _ . -; no path separators, no '..')")


class ApiProblem(Exception):
    def __init__(self, status: int, title: str, detail: str, **extra: Any):
        super().__init__(detail)
        self.status, self.title, self.detail, self.extra = status, title, detail, extra


def positioned(problems: list[Problem], rename: tuple[str, str] | None = None) -> list[dict[str, Any]]:
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
    from ..translate import TranslationError

    if isinstance(exc, ManifestError):
        extra["errors"] = positioned(exc.problems, rename)
        return ApiProblem(422, "Invalid manifest", detail, **extra)
    if isinstance(exc, TranslationError):
        if exc.position:
            extra["position"] = {"line": exc.position[0], "column": exc.position[1], "in": "sql"}
        return ApiProblem(422, "Cannot translate the query", detail, **extra)
    if isinstance(exc, SourceError):
        return ApiProblem(422, "Invalid source", detail, **extra)
    if isinstance(exc, UsageError):
        return ApiProblem(422, "Invalid request", detail, **extra)
    if isinstance(exc, ConnectionFailed):
        return ApiProblem(502, "Cannot connect", detail, **extra)
    if isinstance(exc, LoadFailed):
        if query and exc.message.startswith("query failed"):
            if isinstance(exc, QueryFailed):
                extra.update(_query_failure(exc))
            return ApiProblem(400, "Query failed", detail, **extra)
        return ApiProblem(409, "Conflict" if query else "Load failed", detail, **extra)
    return ApiProblem(500, "Loader error", detail, **extra)


def _query_failure(exc: QueryFailed) -> dict[str, Any]:
    """Where a failed statement went wrong: its position, and the translated SQL when the position is in it."""
    extra: dict[str, Any] = {"translated_sql": exc.translated_sql}
    if exc.position:
        extra["position"] = {"line": exc.position[0], "column": exc.position[1],
                             "in": "translated_sql" if exc.translated_sql else "sql"}
    return extra


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


def problem_response(status: int, title: str, detail: str | None, response_class: type[JSONResponse],
                      **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail,
            **{k: v for k, v in extra.items() if v is not None}}
    return response_class(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE)


def problem_doc(*statuses: int) -> dict[int | str, dict[str, Any]]:
    described = {400: "Bad request: an invalid name, or the SQL failed", 404: "No such experiment or run",
                 409: "Busy: the Snowflake emulator is held by a load, or another apply holds the target",
                 413: "The manifest is larger than 1 MiB", 415: "Unsupported media type",
                 422: "Invalid: the manifest, the request or the SQL (problem details with the CLI's message)",
                 500: "A bug: reported with its type", 502: "The warehouse or metadata database cannot be reached"}
    ref = {"$ref": "#/components/schemas/ProblemDetails"}
    return {s: {"description": described[s], "model": ProblemDetails, "content": {PROBLEM_MEDIA_TYPE: {"schema": ref}}}
            for s in statuses}

