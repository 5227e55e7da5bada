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
import glob
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit, urlunsplit

#: Use an already running server instead of starting a cluster (e.g. ``postgresql://u:p@127.0.0.1:5432/db``).
PG_URL_ENV = "MANIFEST_LOADER_TEST_PG_URL"
#: Directory holding ``initdb``/``pg_ctl``; overrides every other way of finding them.
PGBIN_ENV = "MANIFEST_LOADER_PGBIN"

#: Where clusters live when running as root. Not pytest's tmp dir: that one is created 0700 by
#: root, so the ``postgres`` user could not traverse into it.
_ROOT_BASE_DIR = "/var/tmp"
_OS_USER_WHEN_ROOT = "postgres"
_START_TIMEOUT_S = 30
_LOG_TAIL_LINES = 40
# Losing the race for a port found by find_free_port() is rare but possible under parallel runs.
_PORT_ATTEMPTS = 3


class ServiceUnavailable(RuntimeError):
    """A service cannot be started on this machine at all (as opposed to failing to start)."""


def find_free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago.

    The port is released before returning, so another process may grab it first; callers that
    bind it later should be ready to retry (``PostgresCluster.start`` is).
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _version_key(path: str) -> tuple[int, ...]:
    """Sort key for ``/usr/lib/postgresql/<version>/bin`` so that 15 sorts after 9.6."""
    match = re.search(r"/postgresql/([\d.]+)/bin$", path)
    return tuple(int(part) for part in match.group(1).split(".") if part) if match else ()


def find_pg_bindir() -> Path:
    """Locate the directory with the PostgreSQL server binaries (``initdb``, ``pg_ctl``).

    Order: ``$MANIFEST_LOADER_PGBIN``; ``pg_config --bindir``; the newest Debian/Ubuntu
    ``/usr/lib/postgresql/*/bin``; ``initdb`` on ``PATH``.

    Raises:
        ServiceUnavailable: no usable directory was found; the message says where we looked.
    """

    def usable(directory: Path) -> bool:
        return all((directory / tool).is_file() for tool in ("initdb", "pg_ctl"))

    override = os.environ.get(PGBIN_ENV)
    if override:
        # An explicit choice is never silently replaced by another installation.
        if usable(Path(override)):
            return Path(override)
        raise ServiceUnavailable(f"{PGBIN_ENV}={override} does not contain initdb and pg_ctl")

    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        # Debian's libpq-dev pg_config can point at a bindir without server binaries, hence usable().
        result = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if result.returncode == 0 and result.stdout.strip():
            candidates.append(Path(result.stdout.strip()))
    debian_bindirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    candidates += [Path(p) for p in debian_bindirs]
    initdb_on_path = shutil.which("initdb")
    if initdb_on_path:
        candidates.append(Path(initdb_on_path).resolve().parent)

    for candidate in candidates:
        if usable(candidate):
            return candidate
    raise ServiceUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl) not found via pg_config --bindir, "
        f"/usr/lib/postgresql/*/bin or PATH; install PostgreSQL (Debian: apt-get install postgresql), "
        f"set {PGBIN_ENV}, or point {PG_URL_ENV} at a running server"
    )


def postgres_available(bindir: Path | None = None) -> str | None:
    """Say why a local cluster cannot be started here, or return None when it can.

    ``bindir`` is checked instead of searching when given. This only checks prerequisites;
    ``PostgresCluster.start`` can still fail (and then raises). It does not look at
    ``$MANIFEST_LOADER_TEST_PG_URL``: that is the fixture's business.
    """
    if bindir is not None:
        if not all((bindir / tool).is_file() for tool in ("initdb", "pg_ctl")):
            return f"{bindir} does not contain initdb and pg_ctl"
    else:
        try:
            find_pg_bindir()
        except ServiceUnavailable as exc:
            return str(exc)
    if _is_root():
        # initdb and postgres refuse to run as root, so we switch to an unprivileged account.
        if shutil.which("runuser") is None:
            return "running as root needs runuser (util-linux) to start PostgreSQL as another user"
        import pwd

        try:
            pwd.getpwnam(_OS_USER_WHEN_ROOT)
        except KeyError:
            return f"running as root needs a {_OS_USER_WHEN_ROOT!r} OS user to run PostgreSQL"
    return None


def _quote_conf(value: str) -> str:
    """Quote a string for postgresql.conf (single quotes, doubled inside)."""
    return "'" + value.replace("'", "''") + "'"


def _tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"<cannot read {path}: {exc}>"


class PostgresCluster:
    """A private, throw-away PostgreSQL cluster on 127.0.0.1 (the Redshift emulator).

    The superuser is ``postgres`` with trust authentication, the server timezone is UTC and
    durability is switched off because the data is disposable. When running as root the
    server runs as the ``postgres`` OS user, since PostgreSQL refuses to run as root.

    Use as a context manager or call ``start()``/``stop()``::

        with PostgresCluster() as cluster:
            psycopg.connect(cluster.url)
    """

    def __init__(self, bindir: Path | None = None) -> None:
        self._bindir = bindir
        self._base: Path | None = None
        self._port: int | None = None
        self._running = False

    @property
    def url(self) -> str:
        """URL of the ``postgres`` database as the ``postgres`` superuser."""
        if self._port is None or not self._running:
            raise RuntimeError("PostgresCluster is not running")
        return f"postgresql://postgres@127.0.0.1:{self._port}/postgres"

    @property
    def data_dir(self) -> Path:
        """The cluster's data directory (also holds the unix socket)."""
        if self._base is None:
            raise RuntimeError("PostgresCluster has not been started")
        return self._base / "data"

    @property
    def log_file(self) -> Path:
        """Server log written by ``pg_ctl -l``; kept outside the data directory."""
        if self._base is None:
            raise RuntimeError("PostgresCluster has not been started")
        return self._base / "server.log"

    def start(self, base_dir: Path | None = None) -> str:
        """Create and start the cluster in a new directory under ``base_dir``; return its URL.

        ``base_dir`` defaults to the system temp dir, or ``/var/tmp`` when running as root. As root
        it must be traversable by the ``postgres`` user.

        Raises:
            ServiceUnavailable: PostgreSQL is not installed or cannot be run here.
            RuntimeError: initdb or the server failed; the message carries the log tail.
        """
        if self._running:
            raise RuntimeError("PostgresCluster is already running")
        reason = postgres_available(self._bindir)
        if reason is not None:
            raise ServiceUnavailable(reason)
        # Remember the binaries so stop() uses the same ones even if the environment changes.
        self._bindir = self._bindir or find_pg_bindir()

        parent = base_dir if base_dir is not None else (Path(_ROOT_BASE_DIR) if _is_root() else None)
        self._base = Path(tempfile.mkdtemp(prefix="manifest-loader-pg-", dir=parent))
        try:
            self._prepare_base_dir()
            self._initdb()
            self._start_server()
        except BaseException:
            # pg_ctl may give up waiting (or be interrupted) while a postmaster is still coming up;
            # never delete the directory from under a live server.
            if (self.data_dir / "postmaster.pid").exists():
                self._tool("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")
            self._remove_base_dir()
            raise
        # Make sure an interrupted session does not leave a postmaster behind.
        atexit.register(self.stop)
        return self.url

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete its directory. Safe to call twice."""
        if self._running and self._base is not None:
            for mode in ("fast", "immediate"):
                timeout = str(_START_TIMEOUT_S)
                result = self._tool(
                    "pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "-t", timeout, "stop"
                )
                if result.returncode == 0:
                    break
            self._running = False
        atexit.unregister(self.stop)
        self._remove_base_dir()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- internals -------------------------------------------------------------------------------

    def _prepare_base_dir(self) -> None:
        assert self._base is not None
        if not _is_root():
            return
        shutil.chown(self._base, user=_OS_USER_WHEN_ROOT, group=_OS_USER_WHEN_ROOT)
        # mkdtemp's parents may not be traversable by postgres (e.g. a base_dir under /root);
        # fail here with a clear message rather than with a confusing initdb error.
        probe = subprocess.run(
            ["runuser", "-u", _OS_USER_WHEN_ROOT, "--", "test", "-w", str(self._base)],
            capture_output=True,
            check=False,
        )
        if probe.returncode != 0:
            raise RuntimeError(
                f"the {_OS_USER_WHEN_ROOT!r} user cannot write to {self._base}; when running as root "
                f"pass a base_dir whose parents it can traverse (default: {_ROOT_BASE_DIR})"
            )

    def _tool(self, name: str, *args: str) -> subprocess.CompletedProcess[str]:
        """Run PostgreSQL program ``name`` from our bindir, as the postgres OS user when we are root."""
        assert self._bindir is not None
        argv = [str(self._bindir / name), *args]
        if _is_root():
            argv = ["runuser", "-u", _OS_USER_WHEN_ROOT, "--", *argv]
        # cwd: initdb fails when it cannot read its working directory, which for the postgres
        # user is the case in e.g. /root. PG* variables could redirect the tools elsewhere.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        return subprocess.run(
            argv,
            cwd=self._base,
            env=env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            check=False,
        )

    def _initdb(self) -> None:
        # C.UTF-8 gives UTF-8 character semantics with byte-order collation on Linux; other
        # systems may lack that locale, and plain C with UTF8 encoding works everywhere.
        locale = ["--locale=C.UTF-8"] if sys.platform.startswith("linux") else ["--no-locale"]
        data = str(self.data_dir)
        result = self._tool(
            "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", *locale, "--no-sync"
        )
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed (exit {result.returncode}):\n{result.stdout}{result.stderr}")

    def _write_settings(self, port: int) -> None:
        # Settings go into a file rather than pg_ctl -o, whose option string is re-split by a
        # shell and would break on paths with spaces.
        settings = {
            "port": str(port),
            "listen_addresses": _quote_conf("127.0.0.1"),
            "unix_socket_directories": _quote_conf(str(self.data_dir)),
            "timezone": _quote_conf("UTC"),
            "log_timezone": _quote_conf("UTC"),
            # The cluster is disposable: trade durability for speed.
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
        }
        text = "".join(f"{key} = {value}\n" for key, value in settings.items())
        # Appended so these win over initdb's defaults (a port retry appends again and the last
        # value wins). Appending, unlike creating a new file as root, keeps it postgres-owned.
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write("\n# manifest-loader test cluster\n" + text)

    def _start_server(self) -> None:
        failure = ""
        for _attempt in range(_PORT_ATTEMPTS):
            port = find_free_port()
            self._write_settings(port)
            data, log_file, timeout = str(self.data_dir), str(self.log_file), str(_START_TIMEOUT_S)
            result = self._tool("pg_ctl", "-D", data, "-l", log_file, "-w", "-t", timeout, "start")
            if result.returncode == 0:
                self._port = port
                self._running = True
                return
            log = _tail(self.log_file)
            failure = (
                f"pg_ctl start failed (exit {result.returncode}):\n{result.stdout}{result.stderr}\n"
                f"--- last lines of {self.log_file} ---\n{log}"
            )
            if "could not bind" not in log and "already in use" not in log:
                break
            # Someone took the port between find_free_port() and the bind: try another one.
        raise RuntimeError(failure)

    def _remove_base_dir(self) -> None:
        if self._base is not None and self._base.exists():
            shutil.rmtree(self._base, ignore_errors=True)


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
