"""Who may talk to `serve`, and how much: the checks every request passes before any route runs.

* Host: only the bound address, loopback names and `--allowed-host` (Starlette's
  TrustedHostMiddleware, added by create_app): a DNS-rebinding page's requests carry its own name.
* Origin: a browser names the page that sent a request; one from another origin is refused (403),
  as is `Sec-Fetch-Site: cross-site`. Tools such as curl send neither.
* Content-Type: a body must be JSON (`/api/validate` also takes YAML); a browser posts
  `text/plain`, form encodings or no type at all cross-site without asking first (415).
* Token: with one set (`serve --token`, required off loopback), every request carries it:
  `Authorization: Bearer <token>`, or the cookie that `GET /?token=<token>` sets for the web page
  (SameSite=Strict, so no other site's page sends it).
* Size: a body over MAX_BODY_BYTES is refused (413) from its Content-Length, or while it streams,
  so memory stays bounded whatever a client sends.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit

from starlette.exceptions import HTTPException as StarletteHTTPException

from ..yamlpos import MAX_MANIFEST_BYTES

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# A manifest posted as a JSON string may double in size (escapes); the query's SQL is far smaller.
MAX_BODY_BYTES = 2 * MAX_MANIFEST_BYTES + 64 * 1024
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
TOKEN_COOKIE = "manifest_loader_token"
JSON_TYPES = frozenset({"application/json"})
YAML_TYPES = frozenset({"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"})
_BODY_TYPES = {"/api/validate": JSON_TYPES | YAML_TYPES}
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class BodyTooLarge(StarletteHTTPException):
    """The body grew past the limit while it streamed. An HTTPException, so that FastAPI's body
    parsing (which turns other errors into 400) lets it through as the 413 it is."""

    def __init__(self, limit: int):
        super().__init__(413, f"the body is over {limit} bytes; at most that many are read")


class RequestGuard:
    """The Origin, Content-Type, token and size checks (the Host check is TrustedHostMiddleware's)."""

    def __init__(self, app: ASGIApp, token: str | None = None, allowed_origins: Sequence[str] = (),
                 max_body_bytes: int = MAX_BODY_BYTES):
        self.app, self.token, self.max_body_bytes = app, token, max_body_bytes
        self.allowed_origins = frozenset(o.rstrip("/").lower() for o in allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        refusal = self._refusal(scope, headers)
        if refusal is not None:
            await _problem(send, *refusal)
            return
        cookie = self._token_from_query(scope)
        if cookie is not None:   # GET /?token=…: keep it in a cookie for the web page's requests
            await _redirect_with_cookie(send, scope.get("path", "/"), cookie)
            return
        await self._bounded(scope, receive, send, headers)

    def _refusal(self, scope: Scope, headers: dict[str, str]) -> tuple[int, str, str] | None:
        origin = headers.get("origin")
        if origin is not None and not self._same_origin(origin, scope, headers):
            return 403, "Cross-origin request refused", (f"requests from {origin} are refused: only pages "
                                                         "served by this server may call its API")
        if headers.get("sec-fetch-site") == "cross-site":
            return 403, "Cross-origin request refused", "requests from another site are refused"
        if self.token is not None and not self._authorized(scope, headers):
            return 401, "Token required", ("this server requires its token: send 'Authorization: Bearer <token>', "
                                           "or open /?token=<token> in the browser")
        if scope.get("method") in _WRITES and _has_body(headers):
            media = headers.get("content-type", "").split(";")[0].strip().lower()
            allowed = _BODY_TYPES.get(scope.get("path", ""), JSON_TYPES)
            if media not in allowed:
                return 415, "Unsupported media type", (f"send the body as {' or '.join(sorted(allowed))}, "
                                                       f"not {media or 'a body without Content-Type'}")
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_body_bytes:
            return 413, "Request body too large", (f"the body is {int(length)} bytes; at most "
                                                   f"{self.max_body_bytes} are read")
        return None

    def _same_origin(self, origin: str, scope: Scope, headers: dict[str, str]) -> bool:
        if origin.rstrip("/").lower() in self.allowed_origins:
            return True
        parts = urlsplit(origin)
        scheme = scope.get("scheme", "http")
        return parts.scheme == scheme and parts.netloc.lower() == headers.get("host", "").lower()

    def _authorized(self, scope: Scope, headers: dict[str, str]) -> bool:
        assert self.token is not None
        given = headers.get("authorization", "")
        candidates = [given[len("bearer "):].strip()] if given.lower().startswith("bearer ") else []
        candidates += [c.split("=", 1)[1] for c in headers.get("cookie", "").replace(" ", "").split(";")
                       if c.startswith(TOKEN_COOKIE + "=")]
        if scope.get("method") == "GET":
            candidates += parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [])
        return any(hmac.compare_digest(c.encode(), self.token.encode()) for c in candidates)

    def _token_from_query(self, scope: Scope) -> str | None:
        if self.token is None or scope.get("method") != "GET" or str(scope.get("path", "")).startswith("/api/"):
            return None
        tokens = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [])
        return tokens[0] if tokens else None

    async def _bounded(self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str]) -> None:
        """Run the app, refusing the body once more than the limit has streamed in."""
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message.get("type") == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge(self.max_body_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message.get("type") == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _problem(send, 413, "Request body too large",
                               f"the body is over {self.max_body_bytes} bytes; at most that many are read")


def _has_body(headers: dict[str, str]) -> bool:
    length = headers.get("content-length")
    return (length is not None and length.strip() not in ("", "0")) or "chunked" in headers.get("transfer-encoding", "")


async def _problem(send: Send, status: int, title: str, detail: str) -> None:
    body = json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/problem+json"),
                            (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


async def _redirect_with_cookie(send: Send, path: str, token: str) -> None:
    cookie = f"{TOKEN_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"
    await send({"type": "http.response.start", "status": 303,
                "headers": [(b"location", path.encode("latin-1") or b"/"), (b"set-cookie", cookie.encode("latin-1")),
                            (b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})
