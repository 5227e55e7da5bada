"""PostgreSQL and S3 for the benchmark: the test suite's throw-away services, or ones you point at.

`tests/services.py` starts a private PostgreSQL cluster (as the `postgres` user when root) and
a moto S3 server, both on 127.0.0.1; the benchmark reuses them so there is one recipe.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BUCKET = "bench"
AWS_ENV = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}
# Same for every contender; like the reference measurements (durability off, UTC, room for WAL).
PG_SETTINGS = {"max_wal_size": "'4GB'", "checkpoint_timeout": "'30min'"}


def test_services() -> ModuleType:
    """tests/services.py, imported by path (tests/ is not a package)."""
    name = "manifest_loader_test_services"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "tests" / "services.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@dataclass
class Services:
    pg_admin_url: str     # superuser URL of the server (database postgres)
    pg_url: str           # the benchmark database
    s3_endpoint: str
    pg_version: str = ""

    def aws_env(self) -> dict[str, str]:
        return {**AWS_ENV, "AWS_ENDPOINT_URL": self.s3_endpoint}


@contextlib.contextmanager
def start(pg_url: str | None = None) -> Iterator[Services]:
    """A PostgreSQL (fresh cluster unless pg_url is given) with a new `bench_*` database, and moto S3."""
    services = test_services()
    with contextlib.ExitStack() as stack:
        if pg_url is None:
            cluster = services.PostgresCluster()
            stack.callback(cluster.stop)
            admin = cluster.start()
        else:
            admin = pg_url
        import uuid

        name = f"bench_{uuid.uuid4().hex[:8]}"
        url = services.create_database(admin, name)
        stack.callback(services.drop_database, admin, name)
        version = _configure(admin, own_cluster=pg_url is None)
        moto = services.MotoS3()
        stack.callback(moto.stop)
        endpoint = moto.start()
        os.environ.update({**AWS_ENV, "AWS_ENDPOINT_URL": endpoint})
        for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
            os.environ.pop(key, None)
        _client(endpoint).create_bucket(Bucket=BUCKET)
        yield Services(admin, url, endpoint, version)


def _configure(admin_url: str, own_cluster: bool) -> str:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        if own_cluster:
            for key, value in PG_SETTINGS.items():
                conn.execute(f"ALTER SYSTEM SET {key} = {value}")
            conn.execute("SELECT pg_reload_conf()")
        row = conn.execute("SELECT version()").fetchone()
    return str(row[0]) if row else ""


def _client(endpoint: str) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=AWS_ENV["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=AWS_ENV["AWS_SECRET_ACCESS_KEY"], region_name="us-east-1")


def upload(endpoint: str, files: list[Path], prefix: str) -> list[str]:
    """Put the dataset's Parquet files on the S3 stand-in; returns their s3:// URLs."""
    client, urls = _client(endpoint), []
    for path in files:
        key = f"{prefix.strip('/')}/{path.name}"
        client.upload_file(str(path), BUCKET, key)
        urls.append(f"s3://{BUCKET}/{key}")
    return urls
