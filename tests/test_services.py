"""Tests of the local test services themselves (PostgreSQL cluster, moto S3, helpers)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import boto3
import psycopg
import pytest
from services import PG_URL_ENV, PGBIN_ENV, create_database, database_name, drop_database, find_free_port

_EXTERNAL_PG = bool(os.environ.get(PG_URL_ENV))
_REPO_ROOT = Path(__file__).resolve().parent.parent


def _scalar(url: str, query: str) -> object:
    with psycopg.connect(url) as conn:
        row = conn.execute(query).fetchone()
    assert row is not None
    return row[0]


def test_find_free_port_returns_bindable_port() -> None:
    port = find_free_port()
    assert 1024 <= port <= 65535
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", port))


@pytest.mark.skipif(_EXTERNAL_PG, reason=f"{PG_URL_ENV} points at a server these settings were not made for")
def test_pg_cluster_settings(pg_url: str) -> None:
    assert _scalar(pg_url, "select current_setting('TimeZone')") == "UTC"
    assert _scalar(pg_url, "show listen_addresses") == "127.0.0.1"


def test_pg_database_isolation(pg_url: str, pg_database: str) -> None:
    other = create_database(pg_url)
    other_name = database_name(other)
    try:
        assert other != pg_database
        with psycopg.connect(pg_database) as conn:
            conn.execute("create table only_here (id int)")
        lookup = "select count(*) from information_schema.tables where table_name = 'only_here'"
        assert _scalar(pg_database, lookup) == 1
        assert _scalar(other, lookup) == 0
    finally:
        drop_database(pg_url, other_name)
    assert _scalar(pg_url, f"select count(*) from pg_database where datname = '{other_name}'") == 0


def test_s3_round_trip(s3_env: str) -> None:
    # No endpoint_url argument: code under test relies on AWS_ENDPOINT_URL set by the fixture.
    s3 = boto3.client("s3")
    assert s3.meta.endpoint_url == s3_env
    assert s3_env.startswith("http://127.0.0.1:")
    body = b"\x00parquet bytes\xff"
    s3.put_object(Bucket="local", Key="dir/object.bin", Body=body)
    assert s3.get_object(Bucket="local", Key="dir/object.bin")["Body"].read() == body


def _run_pg_test_without_postgres(ci: str | None) -> subprocess.CompletedProcess[str]:
    """Run test_pg_cluster_settings in a child pytest whose PostgreSQL binaries cannot be found."""
    env = {k: v for k, v in os.environ.items() if k not in ("CI", PG_URL_ENV)}
    env[PGBIN_ENV] = "/nonexistent/pgbin"
    if ci is not None:
        env["CI"] = ci
    node = f"{Path(__file__).resolve()}::test_pg_cluster_settings"
    return subprocess.run(
        # -n 0: the one test in this process, not behind addopts' xdist workers.
        [sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider", node],
        cwd=_REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.online   # runs pytest in a subprocess that looks for PostgreSQL
def test_missing_postgres_fails_in_ci() -> None:
    result = _run_pg_test_without_postgres("true")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "required test service unavailable in CI" in output
    assert "1 error" in output


@pytest.mark.online   # runs pytest in a subprocess that looks for PostgreSQL
def test_missing_postgres_skips_outside_ci() -> None:
    result = _run_pg_test_without_postgres(None)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "1 skipped" in output
