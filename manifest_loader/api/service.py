"""What the routes share: the manifests folder, the environment, the run store, live loads."""

from __future__ import annotations

import contextlib
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request

from .models import NAME_PATTERN
from .problems import ApiProblem, name_refused
from .progress import ApiProgress

if TYPE_CHECKING:
    from ..commands import ManifestRef
    from ..target import Target

_NAME = re.compile(NAME_PATTERN)
LIVE_RUNS_KEPT = 200


def _utc(value: Any) -> Any:
    return value.replace(tzinfo=UTC) if isinstance(value, datetime) and value.tzinfo is None else value


def run_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A run record as the API shows it: times in UTC."""
    return {k: _utc(v) for k, v in row.items()}


class Service:
    """What the routes share: the manifests folder, the environment, the run store, live loads."""

    def __init__(self, manifests_dir: Path, env: Mapping[str, str] | None, lock_timeout: float):
        self.display_dir = manifests_dir
        self.dir = manifests_dir.resolve()
        self.env = env
        self.lock_timeout = lock_timeout
        self.live: OrderedDict[str, ApiProgress] = OrderedDict()
        self.live_lock = threading.Lock()
        # Targets that one load or query at a time in this process may use (the Snowflake emulator),
        # by target name.
        self._process_locks: dict[str, threading.Lock] = {}
        self._store: Any = None
        self._store_lock = threading.Lock()

    @property
    def store(self) -> Any:
        from ..commands import run_store

        with self._store_lock:
            if self._store is None:
                # The project of the manifests folder, as for every manifest in it.
                self._store = run_store(self.env, self.dir)
            return self._store

    def process_lock(self, target: Target) -> threading.Lock | None:
        """The lock this server holds while a load or query uses the target, if the target needs one."""
        from ..commands import process_lock_name

        name = process_lock_name(target)
        return None if name is None else self._lock_named(name)

    @contextlib.contextmanager
    def warehouse_turn(self, target: Target, wait: float) -> Iterator[None]:
        """Hold the target's process lock (the Snowflake emulator's) while a query runs; 409 after `wait` s."""
        lock = self.process_lock(target)
        if lock is None:
            yield
            return
        if not lock.acquire(timeout=wait):
            raise ApiProblem(409, "Snowflake emulator busy", "the Snowflake emulator is in use by a load of this "
                             f"server; waited {wait:.0f}s, try again when it has finished")
        try:
            yield
        finally:
            lock.release()

    @property
    def fakesnow_lock(self) -> threading.Lock:
        """The Snowflake emulator's lock (tests hold it to play a busy emulator)."""
        from ..registry import SNOWFLAKE_EMULATOR

        return self._lock_named(SNOWFLAKE_EMULATOR.name)

    def _lock_named(self, name: str) -> threading.Lock:
        with self._store_lock:
            return self._process_locks.setdefault(name, threading.Lock())

    def manifest_path(self, name: str) -> Path:
        """The manifest file NAME names inside the folder; 400 for names that could leave it, 404 if absent."""
        if "/" in name or "\\" in name or ".." in name or not _NAME.match(name) or len(name) > 200:
            raise name_refused(name, self.display_dir)
        for suffix in (".yaml", ".yml"):
            candidate = self.dir / f"{name}{suffix}"
            if candidate.is_file() and candidate.resolve().parent == self.dir:
                return self.display_dir / candidate.name
        raise ApiProblem(404, "Experiment not found", f"no manifest {name}.yaml in {self.display_dir}")

    def manifest_ref(self, name: str, warehouse: str | None) -> ManifestRef:
        """A manifest in the folder, else a dw-simulator experiment's manifest (its latest COMPLETED run);
        404 when it is neither."""
        from ..commands import ManifestRef, manifest_ref, simulator_experiment_names

        try:
            return ManifestRef(self.manifest_path(name), warehouse, self.env)
        except ApiProblem as missing:
            if missing.status != 404 or name not in (simulator_experiment_names(self.env) or ()):
                raise
        return manifest_ref(name, warehouse, self.env, self.dir)

    def manifest_files(self) -> list[Path]:
        # A link is listed only when it stays in the folder, as the per-experiment routes require:
        # a link to /etc/passwd is not parsed (and its errors not shown).
        files = [p for p in self.dir.iterdir() if p.suffix in (".yaml", ".yml") and not p.name.startswith(".")
                 and p.is_file() and _NAME.match(p.stem) and p.resolve().parent == self.dir]
        return sorted(files, key=lambda p: p.name)

    def remember(self, run_id: str, progress: ApiProgress) -> None:
        with self.live_lock:
            self.live[run_id] = progress
            while len(self.live) > LIVE_RUNS_KEPT:
                self.live.popitem(last=False)

    def live_progress(self, run_id: str) -> ApiProgress | None:
        with self.live_lock:
            return self.live.get(run_id)


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


# A route's parameter that receives the app's Service (not part of the OpenAPI document).
ServiceDep = Annotated[Service, Depends(_service)]
