"""The managed local PostgreSQL: the Redshift emulator when no URL is configured.

Layout under the state folder (`.manifest-loader/`):

    postgres/emulator.json   port, password, binaries (mode 0600: the password is a secret)
    postgres/emulator.lock   held while a command checks, creates or starts the server
    postgres/cluster/        the cluster: data/ and server.log (elsewhere when root, see account.py)

The server listens on 127.0.0.1 only (no Unix socket, so no path-length limit), with a random
password (scram-sha-256), in UTC, and is left running between commands so `query` and a
no-change `apply` stay fast. Whatever state it is found in (a crash's stale postmaster.pid, a
second command starting it at the same moment, its port taken while it was down, its folder
deleted under it), `ensure_running` ends with one server or a clear error, never a hang.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import ConnectionFailed, UsageError
from . import account, process
from .binaries import Binaries, find_binaries

FOLDER = "postgres"
DATABASE = "dev"              # Redshift's default database name, as in docker-compose.yml
SUPERUSER = "postgres"
START_TIMEOUT_S = 30
_PORT_ATTEMPTS = 5

# A local emulator: wal_level=minimal lets COPY into a table created in the same transaction skip
# WAL. Commits stay synchronous: with synchronous_commit=off a killed server loses the last commits,
# and a load reported as done must survive a crash of the emulator (one commit per load costs little).
SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "unix_socket_directories": "''",
    "timezone": "'UTC'",
    "log_timezone": "'UTC'",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "max_wal_size": "'1GB'",
    "jit": "off",
}
# Throw-away clusters (the test suite's) drop durability altogether, and trust any password on
# 127.0.0.1, as the suite's clusters always did: its tests log in with made-up passwords on purpose.
DISPOSABLE = {"fsync": "off", "full_page_writes": "off", "synchronous_commit": "off"}


@dataclass
class Record:
    cluster: str             # relative to the postgres/ folder, or absolute (root's shared clusters)
    port: int
    password: str
    version: str
    bindir: str
    origin: str
    account: str | None


@dataclass(frozen=True)
class Status:
    running: bool
    folder: Path
    url: str | None = None      # masked
    pid: int | None = None
    port: int | None = None
    version: str | None = None
    binaries: str | None = None
    data: Path | None = None
    data_bytes: int = 0
    uptime_s: float | None = None
    log: Path | None = None


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class LocalPostgres:
    """The managed PostgreSQL of one state folder."""

    def __init__(self, state: Path, *, disposable: bool = False, env: Mapping[str, str] | None = None,
                 notify: Callable[[str], None] | None = None) -> None:
        self.state = state
        self.folder = state / FOLDER
        self.disposable = disposable
        self.env = os.environ if env is None else env
        self.notify = notify or _stderr

    # -- what is there -------------------------------------------------------------------------

    def record(self) -> Record | None:
        try:
            return Record(**json.loads((self.folder / "emulator.json").read_text()))
        except (FileNotFoundError, NotADirectoryError):
            return None
        except (ValueError, TypeError) as exc:
            raise UsageError(f"{self.folder / 'emulator.json'} is damaged ({exc})",
                             hint="`manifest-loader emulator up --reset` makes a new, empty emulator") from None

    def cluster(self, record: Record) -> Path:
        return self.folder / record.cluster

    def url(self, record: Record, database: str = DATABASE, *, masked: bool = False) -> str:
        password = "***" if masked else record.password
        return f"postgresql://{SUPERUSER}:{password}@127.0.0.1:{record.port}/{database}"

    def running(self) -> tuple[Record, process.Postmaster] | None:
        record = self.record()
        if record is None:
            return None
        postmaster = process.live(self.cluster(record) / "data")
        if postmaster is None or postmaster.port != record.port:
            return None
        return record, postmaster

    def status(self) -> Status:
        record = self.record()
        if record is None:
            return Status(False, self.folder)
        data = self.cluster(record) / "data"
        up = self.running()
        return Status(up is not None, self.folder, url=self.url(record, masked=True), port=record.port,
                      version=record.version, binaries=f"{record.origin}, {record.bindir}", data=data,
                      data_bytes=process.folder_bytes(data), log=self.cluster(record) / "server.log",
                      pid=up[1].pid if up else None, uptime_s=time.time() - up[1].started if up else None)

    # -- up and down ---------------------------------------------------------------------------

    def ensure_running(self, lock_timeout: float = 60.0) -> tuple[Record, bool]:
        """Start the server unless it runs; (its record, whether this call started it)."""
        if (up := self.running()) is not None:
            return up[0], False
        from filelock import FileLock, Timeout

        self._make_folder()
        lock = FileLock(str(self.folder / "emulator.lock"), timeout=lock_timeout)
        try:
            with lock:
                if (up := self.running()) is not None:
                    return up[0], False                    # another command started it meanwhile
                record = self.record()
                if record is None or not (self.cluster(record) / "data" / "PG_VERSION").is_file():
                    record = self._create()
                self._start(record)
                return record, True
        except Timeout:
            raise ConnectionFailed(f"another manifest-loader command has been starting the Redshift emulator in "
                                   f"{self.folder} for {lock_timeout:.0f}s (lock {lock.lock_file})",
                                   hint="wait for it, or stop it; `manifest-loader emulator status` shows the "
                                        "server") from None

    def stop(self) -> list[int]:
        """Stop the server (and any orphan of this folder); the pids that were stopped."""
        record = self.record()
        stopped = []
        data = self.cluster(record) / "data" if record else self.folder / "cluster" / "data"
        postmaster = process.read_pidfile(data)
        candidates = [postmaster.pid] if postmaster and process.serves(postmaster.pid, data) else []
        candidates += [pid for pid in self._orphans(record) if pid not in candidates]
        for pid in candidates:
            if not process.stop(pid):
                raise ConnectionFailed(f"PostgreSQL (pid {pid}) of the Redshift emulator in {self.folder} did not "
                                       "stop", hint=f"stop it yourself: kill -9 {pid}")
            stopped.append(pid)
        return stopped

    def reset(self) -> None:
        """Stop the server and delete its cluster: the next start makes an empty one."""
        self._make_folder()
        from filelock import FileLock

        with FileLock(str(self.folder / "emulator.lock"), timeout=START_TIMEOUT_S):
            self.stop()
            record = self.record()
            if record is not None:
                shutil.rmtree(self.cluster(record), ignore_errors=True)
                (self.folder / "emulator.json").unlink(missing_ok=True)

    def destroy(self) -> None:
        """Stop the server and delete every file of it (the tests' clusters)."""
        self.reset()
        shutil.rmtree(self.folder, ignore_errors=True)

    # -- internals -----------------------------------------------------------------------------

    def _orphans(self, record: Record | None) -> list[int]:
        places = [self.folder / "cluster"] + ([self.cluster(record)] if record else [])
        if account.is_root():
            places.append(account.shared_cluster_root(self.state))
        return sorted({pid for place in places for pid in process.orphans(place / "data")})

    def _make_folder(self) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot create the Redshift emulator's folder {self.folder}: {exc.strerror or exc}",
                             hint="run from a folder you can write to, or set MANIFEST_LOADER_STATE_DIR") from None
        if account.is_root():
            self.folder.chmod(0o755)     # the server account must pass through to cluster/

    def _create(self) -> Record:
        """initdb a new cluster (removing whatever a deleted state folder left behind)."""
        server_account = account.server_account()
        binaries = find_binaries(env=self.env)
        bindir = account.reachable_bindir(binaries.bindir, binaries.version, server_account)
        binaries = Binaries(bindir, binaries.version, binaries.origin)
        root = self.folder / "cluster"
        if server_account is not None and not account.can_enter(server_account, self.folder):
            root = account.shared_cluster_root(self.state)
        for pid in self._orphans(None):
            process.stop(pid)
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True, mode=0o700)
        account.chown(server_account, root)
        password = secrets.token_urlsafe(24)
        pwfile = root / "initdb.pw"
        pwfile.write_text(password + "\n")
        pwfile.chmod(0o600)
        account.chown(server_account, pwfile)
        locale = ["--locale=C.UTF-8"] if sys.platform.startswith("linux") else ["--no-locale"]
        try:
            auth = "--auth=trust" if self.disposable else "--auth=scram-sha-256"
            self._run(server_account, root, binaries.bindir / "initdb", "-D", str(root / "data"), "-U", SUPERUSER,
                      auth, f"--pwfile={pwfile}", "-E", "UTF8", *locale, "--no-sync", what="initdb")
        finally:
            pwfile.unlink(missing_ok=True)
        settings = {**SETTINGS, **(DISPOSABLE if self.disposable else {})}
        with (root / "data" / "postgresql.conf").open("a") as conf:   # appended: keeps the account's ownership
            conf.write("\n# manifest-loader: the Redshift emulator\n")
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())
        # The database Redshift URLs name, made in single-user mode: no server, port or password needed yet.
        self._run(server_account, root, binaries.bindir / "postgres", "--single", "-D", str(root / "data"),
                  "postgres", stdin=f"CREATE DATABASE {DATABASE}\n", what="creating database dev")
        cluster = "cluster" if root == self.folder / "cluster" else str(root)
        record = Record(cluster, 0, password, binaries.version, str(binaries.bindir), binaries.origin, server_account)
        self._save(record)
        return record

    def _start(self, record: Record) -> None:
        root = self.cluster(record)
        data = root / "data"
        if not os.access(root, os.R_OK) and not account.is_root():
            raise UsageError(f"cannot read the Redshift emulator's cluster {root}")
        version = (data / "PG_VERSION").read_text().strip()
        binaries = self._binaries_for(record, int(version))
        self._clear_stale_pidfile(data)
        moved_from = None
        for attempt in range(_PORT_ATTEMPTS):
            port = record.port if attempt == 0 and record.port and _free(record.port) else _free_port()
            if record.port and port != record.port and moved_from is None:
                moved_from = record.port
            result = self._run(record.account, root, binaries.bindir / "pg_ctl", "-D", str(data), "-l",
                               str(root / "server.log"), "-w", "-t", str(START_TIMEOUT_S), "-o", f"-p {port}",
                               "start", what="pg_ctl start", check=False)
            if result.returncode == 0:
                break
            log = _tail(root / "server.log")
            if "could not bind" in log or "already in use" in log:
                continue                                   # lost a race for the port: take another
            if "pre-existing shared memory block" in log and attempt < _PORT_ATTEMPTS - 1:
                time.sleep(1.0)                            # a crashed server's backends are still exiting
                continue
            raise ConnectionFailed(f"the Redshift emulator (PostgreSQL {record.version}) did not start: "
                                   f"{(result.stderr or result.stdout).strip()}\n--- {root / 'server.log'} ---\n{log}",
                                   hint="`manifest-loader emulator up --reset` starts an empty cluster")
        else:
            raise ConnectionFailed(f"the Redshift emulator found no free port on 127.0.0.1 in {_PORT_ATTEMPTS} tries")
        record.port, record.version, record.bindir, record.origin = port, binaries.version, str(binaries.bindir), \
            binaries.origin
        self._save(record)
        moved = f" (port {moved_from} is taken by another program)" if moved_from else ""
        self.notify(f"Redshift emulator: PostgreSQL {record.version} ({record.origin}) started at "
                    f"{self.url(record, masked=True)}{moved}, data in {data}; it keeps running between commands — "
                    "`manifest-loader emulator down` stops it")

    def _binaries_for(self, record: Record, major: int) -> Binaries:
        """The binaries that made the cluster when still there, else any of its major version."""
        recorded = Path(record.bindir)
        if (recorded / "postgres").is_file() and int(record.version.split(".")[0]) == major \
                and not self.env.get("MANIFEST_LOADER_PGBIN"):
            return Binaries(recorded, record.version, record.origin)
        found = find_binaries(major, self.env)
        bindir = account.reachable_bindir(found.bindir, found.version, record.account)
        return Binaries(bindir, found.version, found.origin)

    def _clear_stale_pidfile(self, data: Path) -> None:
        """After kill -9 the lock file stays; PostgreSQL removes it itself unless its pid was reused."""
        postmaster = process.read_pidfile(data)
        if postmaster is None:
            return
        if process.serves(postmaster.pid, data):
            deadline = time.monotonic() + START_TIMEOUT_S
            while time.monotonic() < deadline and process.live(data) is None and process.is_postgres(postmaster.pid):
                time.sleep(0.1)                            # starting up or shutting down: let it finish
            if process.live(data) is not None:
                raise ConnectionFailed(f"a PostgreSQL (pid {postmaster.pid}) serves {data} on another port than "
                                       f"{self.folder / 'emulator.json'} records",
                                       hint="`manifest-loader emulator down` stops it")
            if process.is_postgres(postmaster.pid):
                raise ConnectionFailed(f"PostgreSQL (pid {postmaster.pid}) holds {data} but does not answer",
                                       hint="`manifest-loader emulator down` stops it; its log is "
                                            f"{data.parent / 'server.log'}")
        elif process.exists(postmaster.pid):
            (data / "postmaster.pid").unlink(missing_ok=True)   # its pid now belongs to another program

    def _save(self, record: Record) -> None:
        path = self.folder / "emulator.json"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(record), indent=2) + "\n")
        temporary.chmod(0o600)
        temporary.replace(path)

    def _run(self, server_account: str | None, cwd: Path, program: Path, *args: str, what: str,
             stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        # PG* variables would redirect the tools elsewhere; cwd: the account must be able to read it.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        result = subprocess.run(account.command(server_account, [str(program), *args]), cwd=cwd, env=env,
                                input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL,
                                capture_output=True, text=True, check=False, timeout=START_TIMEOUT_S * 2)
        if check and result.returncode != 0:
            raise ConnectionFailed(f"{what} failed for the Redshift emulator in {cwd} (exit {result.returncode}): "
                                   f"{(result.stderr or result.stdout).strip()[-2000:]}")
        return result


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As PostgreSQL binds: a port in TIME_WAIT after the emulator's own last run counts as free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"<cannot read {path}: {exc}>"
