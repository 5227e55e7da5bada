"""The running postmaster of a data folder: read its postmaster.pid, tell if it is alive, stop it.

Stopping goes by signals (SIGINT is PostgreSQL's fast shutdown), not `pg_ctl stop`, so `emulator
down` works even when the binaries that started the server are gone or another version.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

_DELETED = " (deleted)"
# The name PostgreSQL's server processes run under (a program name, not a target's).
SERVER_PROGRAM = "postgres"


@dataclass(frozen=True)
class Postmaster:
    pid: int
    started: float        # epoch seconds
    port: int | None
    status: str           # "starting", "ready", "stopping", or "" when not yet known


def read_pidfile(data: Path) -> Postmaster | None:
    """postmaster.pid's fields, or None when there is none (or it is half written)."""
    try:
        lines = (data / "postmaster.pid").read_text().splitlines()
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        pid, started = int(lines[0]), float(lines[2])
    except (IndexError, ValueError):
        return None
    port = int(lines[3]) if len(lines) > 3 and lines[3].strip().isdigit() else None
    return Postmaster(pid, started, port, lines[7].strip() if len(lines) > 7 else "")


def is_postgres(pid: int) -> bool:
    """Whether `pid` is a live PostgreSQL process (after a crash the pid may belong to something else)."""
    try:
        process = psutil.Process(pid)
        return process.status() != psutil.STATUS_ZOMBIE and SERVER_PROGRAM in process.name()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def serves(pid: int, data: Path) -> bool:
    """Whether `pid` is a PostgreSQL process working in `data` (unknown working folders count as yes)."""
    if not is_postgres(pid):
        return False
    try:
        return psutil.Process(pid).cwd() in (str(data), str(data) + _DELETED)
    except psutil.AccessDenied:
        return True
    except psutil.Error:
        return False


def exists(pid: int) -> bool:
    return bool(psutil.pid_exists(pid))


def answers(port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def live(data: Path) -> Postmaster | None:
    """The postmaster serving `data`, when it is up, ready and accepting connections."""
    postmaster = read_pidfile(data)
    if postmaster is None or postmaster.status != "ready" or postmaster.port is None:
        return None
    if not is_postgres(postmaster.pid) or not answers(postmaster.port):
        return None
    return postmaster


def orphans(data: Path) -> list[int]:
    """Postmasters whose working folder is `data` or was `data` before it was deleted or moved away.

    A postmaster runs in its data folder; when that folder is deleted, its lock file goes with it
    and nothing else names the process (PostgreSQL notices within a minute and stops by itself).
    """
    wanted = {str(data), str(data) + _DELETED}
    found = []
    for process in psutil.process_iter(["name", "ppid"]):
        if SERVER_PROGRAM not in (process.info.get("name") or ""):
            continue
        with contextlib.suppress(psutil.Error):
            if process.cwd() in wanted and not is_postgres(process.info.get("ppid") or 0):
                found.append(process.pid)
    return found


def stop(pid: int, timeout: float = 30.0) -> bool:
    """Fast shutdown (SIGINT), then immediate (SIGQUIT), then SIGKILL; True once the process is gone."""
    for sig, wait in ((signal.SIGINT, timeout), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not psutil.pid_exists(pid) or not is_postgres(pid):
                return True
            time.sleep(0.05)
    return False


def folder_bytes(folder: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total
