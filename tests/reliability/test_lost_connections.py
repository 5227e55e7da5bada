"""Connections lost mid-load: the PostgreSQL backend terminated during COPY, the S3 endpoint gone
mid-upload. Each time: a clear message, exit 1, the old contents intact (rolled back), the run
recorded as failed with that message, and the next apply completes exactly.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner, Result
from crashkit import CrashWorkspace, make_workspace, observe
from faultproxy import FaultProxy
from relkit import Emulator

from manifest_loader.cli import main
from manifest_loader.runs import RunStore, metadata_url
from manifest_loader.target import mask_url

ROWS = 300_000


@pytest.fixture
def redshift(pg_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    for name in ("DW_SIMULATOR_STAGE_BUCKET", "DW_SIMULATOR_TARGET_DB_URL"):
        monkeypatch.delenv(name, raising=False)
    emulator = Emulator("redshift", tmp_path / "state", pg_database)
    for name, value in emulator.env().items():
        monkeypatch.setenv(name, value)
    return emulator


def _apply(workspace: CrashWorkspace) -> Result:
    return CliRunner().invoke(main, ["apply", str(workspace.manifest), "--progress", "log"])


def _error(result: Result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith(("error:", "  hint:"))]


def _last_run(emulator: Emulator) -> dict:
    return RunStore(metadata_url(emulator.state)).list()[0]


def test_backend_terminated_during_copy(redshift: Emulator, tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path, ROWS)
    assert _apply(workspace).exit_code == 0
    before = workspace.expected()
    workspace.flip()
    terminated: list[str] = []
    database = redshift.pg_url.rsplit("/", 1)[1]   # type: ignore[union-attr]

    def terminate_the_copy() -> None:
        with psycopg.connect(redshift.pg_url, autocommit=True) as admin:   # type: ignore[arg-type]
            deadline = time.monotonic() + 60
            while not terminated and time.monotonic() < deadline:
                for pid, query in admin.execute(
                        "SELECT pid, query FROM pg_stat_activity WHERE datname = %s AND state = 'active' "
                        "AND query ILIKE 'COPY %%.events (%%' AND pid <> pg_backend_pid()", (database,)).fetchall():
                    admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
                    terminated.append(query)
                time.sleep(0.005)

    watcher = threading.Thread(target=terminate_the_copy)
    watcher.start()
    result = _apply(workspace)
    watcher.join()
    assert terminated, "the COPY of events was never seen running"
    assert result.exit_code == 1, result.output
    error, hint = _error(result)
    shown = mask_url(redshift.pg_url)   # type: ignore[arg-type]
    assert error.startswith(f"error: lost the connection to the Redshift emulator at {shown} while "
                            "loading table events: "), error
    # What libpq saw depends on the moment: the server's notice, or just the closed socket.
    assert "terminating connection due to administrator command" in error or \
        "server closed the connection unexpectedly" in error, error
    assert hint == "  hint: nothing was committed (the server rolls back an interrupted transaction); apply again"
    assert "Traceback" not in result.output
    content, _ = observe(redshift)
    assert content == before                                   # rolled back, every table
    run = _last_run(redshift)
    assert run["status"] == "failed" and run["error"].startswith("lost the connection to the Redshift emulator")
    again = _apply(workspace)
    assert again.exit_code == 0, again.output
    assert observe(redshift)[0] == workspace.expected()


def test_s3_endpoint_gone_mid_upload(redshift: Emulator, s3_env: str, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DW_SIMULATOR_STAGE_BUCKET", f"s3://local/lost-{uuid.uuid4().hex[:8]}")
    with FaultProxy(s3_env) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.endpoint_url)
        workspace = make_workspace(tmp_path, ROWS)
        assert _apply(workspace).exit_code == 0
        before = workspace.expected()
        workspace.flip()
        proxy.stop_during_next_upload(64 * 1024)     # an events file is ~1 MB; accounts are smaller
        result = _apply(workspace)
        assert proxy.counts["died mid-upload"] == 1 and not proxy.running
        assert result.exit_code == 1, result.output
        error, hint = _error(result)
        # Files stage four at a time: the first file in the plan's order whose request found the
        # endpoint gone is named, by its upload or by the check of what is already there.
        named = (rf"error: cannot reach the S3 endpoint {re.escape(proxy.endpoint_url)} "
                 r"\((upload|check) s3://local/lost-[0-9a-f]{8}/crash/\w+/[0-9a-f]{64}\.parquet\)$")
        assert re.match(named, error), error
        assert hint == "  hint: start it, or check AWS_ENDPOINT_URL"
        assert "retrying an S3 request" in result.output
        assert observe(redshift)[0] == before                   # nothing of the new load is visible
        run = _last_run(redshift)
        assert run["status"] == "failed" and run["error"].startswith("cannot reach the S3 endpoint")
        proxy.start()                                            # the same port again
        again = _apply(workspace)
        assert again.exit_code == 0, again.output
        assert observe(redshift)[0] == workspace.expected()
