"""A fault-injecting HTTP proxy for S3 (moto's server), listening on 127.0.0.1 only.

The loader (boto3 and pyarrow's S3 filesystem) is pointed at the proxy through
``AWS_ENDPOINT_URL``; the proxy forwards each request to the real endpoint and, for a
configurable share of them (chosen at random, seeded), answers with a fault instead::

    with FaultProxy(upstream="http://127.0.0.1:5000", rate=0.1, seed=7) as proxy:
        os.environ["AWS_ENDPOINT_URL"] = proxy.endpoint_url
        ...
        proxy.counts   # {"request": 212, "503": 6, "reset": 5, ...}

Fault kinds (``FAULTS``, taking turns):

``500``       an ``InternalError`` response (S3's XML error body), request never forwarded
``503``       a ``SlowDown`` response, request never forwarded
``reset``     the connection is reset (RST) before any response byte
``stall``     the request waits ``stall_seconds``, then is forwarded normally
``truncate``  the request is forwarded, the response promises its full Content-Length but
              the body is cut in half and the connection closed (only for responses with a
              body; others get ``reset``)

``only`` restricts faults to matching requests (a predicate on method, path and headers), and
``rate``, ``kinds`` and ``only`` may be changed while the proxy runs. ``streak_limit`` bounds
how many times in a row one request (method and path) is faulted: with it, a client that
retries more often than that always gets through, so a test of what retries *do* does not fail
at random when the dice give one request more faults than the client's attempts (at a rate of
0.3, five in a row for one of about 40 requests happens in one run in ten). ``stop()`` closes the
listening socket and resets every open connection, which is what a crashed server looks like to
a client; ``stop_during_next_upload(n)`` does that once n bytes of the next large PUT have
arrived; ``start()`` again binds the same port.
"""

from __future__ import annotations

import contextlib
import http.client
import random
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

FAULTS = ("500", "503", "reset", "stall", "truncate")
_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
               "expect"}
_ERROR_BODY = {
    "500": ("Internal Server Error", "InternalError", "We encountered an internal error. Please try again."),
    "503": ("Slow Down", "SlowDown", "Please reduce your request rate."),
}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]   # names in lower case
    raw_headers: tuple[tuple[str, str], ...] = ()   # as sent, in order


class FaultProxy:
    """Forwards HTTP/1.1 to ``upstream``; injects faults into ``rate`` of the matching requests."""

    def __init__(self, upstream: str, rate: float = 0.0, kinds: tuple[str, ...] = FAULTS, seed: int = 0,
                 stall_seconds: float = 1.0, only: Callable[[Request], bool] | None = None,
                 on_request: Callable[[Request], None] | None = None, streak_limit: int | None = None) -> None:
        parts = urlsplit(upstream)
        assert parts.scheme == "http" and parts.hostname, upstream
        self.upstream = (parts.hostname, parts.port or 80)
        self.rate, self.kinds, self.stall_seconds, self.only = rate, kinds, stall_seconds, only
        self.on_request = on_request
        self.streak_limit = streak_limit
        self._streaks: Counter[tuple[str, str]] = Counter()   # faults in a row, per method and path
        self.counts: Counter[str] = Counter()
        self.log: list[tuple[str, str, str]] = []   # (method, path, fault or "ok")
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._port = 0
        self._clients: set[socket.socket] = set()
        self._thread: threading.Thread | None = None
        self._die_after: int | None = None

    # -- life cycle ----------------------------------------------------------------------------

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def start(self) -> str:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self._port))   # never another interface
        listener.listen(64)
        self._port = listener.getsockname()[1]
        self._listener = listener
        self._thread = threading.Thread(target=self._accept, args=(listener,), name="fault-proxy", daemon=True)
        self._thread.start()
        return self.endpoint_url

    def stop(self) -> None:
        """Stop listening and reset every open connection: the endpoint is gone."""
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            clients = list(self._clients)
        for client in clients:
            _reset(client)
            # close() leaves the socket open while its serving thread's reader holds it:
            # shut it down, so no kept-alive connection outlives the endpoint.
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(5)

    def stop_during_next_upload(self, after_bytes: int) -> None:
        """The next PUT larger than `after_bytes`: read that much of its body, then stop()."""
        self._die_after = after_bytes

    @property
    def running(self) -> bool:
        return self._listener is not None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def configure(self, rate: float | None = None, kinds: tuple[str, ...] | None = None,
                  only: Callable[[Request], bool] | None | bool = False) -> None:
        with self._lock:
            if rate is not None:
                self.rate = rate
            if kinds is not None:
                self.kinds = kinds
            if only is not False:
                self.only = only  # type: ignore[assignment]

    @property
    def faults(self) -> int:
        return sum(n for kind, n in self.counts.items() if kind in FAULTS)

    # -- serving -------------------------------------------------------------------------------

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            with self._lock:
                self._clients.add(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        reader = client.makefile("rb")
        upstream: http.client.HTTPConnection | None = None
        try:
            while True:
                head = _read_head(reader)
                if head is None or not self.running:
                    return
                if self.on_request is not None:
                    self.on_request(head)   # before the body: a test may stop the proxy mid-upload
                if head.headers.get("expect", "").lower() == "100-continue":
                    client.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")   # else boto3 waits a second
                with self._lock:   # uploads run in parallel: exactly one of them is the next
                    die_after = self._die_after
                    dies = die_after is not None and head.method == "PUT" and \
                        int(head.headers.get("content-length", "0") or 0) > die_after
                    if dies:
                        self._die_after = None
                        self.counts["died mid-upload"] += 1
                if dies:
                    reader.read(die_after)    # part of the upload arrives, then the server is gone
                    threading.Thread(target=self.stop, daemon=True).start()
                    return
                body = _read_body(reader, head)
                fault = self._choose(head)
                self.log.append((head.method, head.path, fault or "ok"))
                if fault in ("500", "503"):
                    client.sendall(_error_response(fault, head))
                    continue
                if fault == "reset":
                    _reset(client)
                    return
                if fault == "stall":
                    time.sleep(self.stall_seconds)
                if upstream is None:
                    upstream = http.client.HTTPConnection(*self.upstream, timeout=120)
                status, reason, headers, payload = _forward(upstream, head, body)
                if fault == "truncate" and payload and head.method != "HEAD":
                    client.sendall(_response_head(status, reason, headers, len(payload)) + payload[:len(payload) // 2])
                    _reset(client)
                    return
                if fault == "truncate":
                    _reset(client)
                    return
                client.sendall(_response_head(status, reason, headers, len(payload)) +
                               (b"" if head.method == "HEAD" else payload))
        except (OSError, http.client.HTTPException):
            _reset(client)
        finally:
            with self._lock:
                self._clients.discard(client)
            with contextlib.suppress(OSError):
                reader.close()
                client.close()
            if upstream is not None:
                upstream.close()

    def _choose(self, request: Request) -> str | None:
        with self._lock:
            self.counts["request"] += 1
            if self.rate <= 0 or (self.only is not None and not self.only(request)):
                return None
            streak = (request.method, request.path)
            if self._random.random() >= self.rate or (
                    self.streak_limit is not None and self._streaks[streak] >= self.streak_limit):
                self._streaks.pop(streak, None)
                return None
            self._streaks[streak] += 1
            # Kinds take turns, so a dozen faults cover every kind; the rate stays random.
            fault = self.kinds[self.faults % len(self.kinds)]
            self.counts[fault] += 1
            return fault


def _reset(sock: socket.socket) -> None:
    """Close with SO_LINGER 0: the peer sees a connection reset, not an orderly end."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


def _read_head(reader) -> Request | None:  # noqa: ANN001 - a socket file
    line = reader.readline(65537)
    if not line:
        return None
    method, target, _version = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
    headers: dict[str, str] = {}
    raw_headers: list[tuple[str, str]] = []
    while True:
        header = reader.readline(65537).decode("latin-1").rstrip("\r\n")
        if not header:
            break
        name, _, value = header.partition(":")
        headers[name.strip().lower()] = value.strip()
        raw_headers.append((name.strip(), value.strip()))
    return Request(method, target, headers, tuple(raw_headers))


def _read_body(reader, request: Request) -> bytes:  # noqa: ANN001 - a socket file
    if request.headers.get("transfer-encoding", "").lower() != "chunked":
        return reader.read(int(request.headers.get("content-length", "0") or 0))
    body = b""
    while True:
        size = int(reader.readline().split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while reader.readline().strip():
                pass
            return body
        body += reader.read(size)
        reader.readline()


def _forward(upstream: http.client.HTTPConnection, request: Request,
             body: bytes) -> tuple[int, str, list[tuple[str, str]], bytes]:
    upstream.putrequest(request.method, request.path, skip_host=True, skip_accept_encoding=True)
    for name, value in request.raw_headers:
        if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
            upstream.putheader(name, value)
    upstream.putheader("Content-Length", str(len(body)))
    upstream.endheaders(body)
    response = upstream.getresponse()
    payload = response.read()
    headers = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP | {"content-length"}]
    if request.method == "HEAD":
        length = response.getheader("Content-Length")
        if length is not None:
            headers.append(("X-Head-Content-Length", length))
    return response.status, response.reason, headers, payload


def _response_head(status: int, reason: str, headers: list[tuple[str, str]], length: int) -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}"]
    head_length = next((v for k, v in headers if k == "X-Head-Content-Length"), None)
    lines += [f"{k}: {v}" for k, v in headers if k != "X-Head-Content-Length"]
    lines.append(f"Content-Length: {head_length if head_length is not None else length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _error_response(kind: str, request: Request) -> bytes:
    reason, code, message = _ERROR_BODY[kind]
    body = b"" if request.method == "HEAD" else (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
        f"<RequestId>fault-proxy</RequestId></Error>").encode()
    head = (f"HTTP/1.1 {kind} {reason}\r\nContent-Type: application/xml\r\nx-amz-request-id: fault-proxy\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    return head + body
