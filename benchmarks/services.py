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
    postmaster_pid: int | None = None   # known when we started the cluster: lets us count its CPU time

    def aws_env(self) -> dict[str, str]:
        return {**AWS_ENV, "AWS_ENDPOINT_URL": self.s3_endpoint}


@contextlib.contextmanager
def start(pg_url: str | None = None) -> Iterator[Services]:
    """A PostgreSQL (fresh cluster unless pg_url is given) with a new `bench_*` database, and moto S3."""
    services = test_services()
    with contextlib.ExitStack() as stack:
        postmaster = None
        if pg_url is None:
            cluster = services.PostgresCluster()
            stack.callback(cluster.stop)
            admin = cluster.start()
            postmaster = int((cluster.data_dir / "postmaster.pid").read_text().split()[0])
        else:
            admin = pg_url
        import uuid

        name = f"bench_{uuid.uuid4().hex[:8]}"
        url = services.create_database(admin, name)
        stack.callback(services.drop_database, admin, name)
        version = _configure(admin, own_cluster=pg_url is None)
        ranged_gets_like_s3()
        objects_in_memory()
        moto = services.MotoS3()
        stack.callback(moto.stop)
        endpoint = moto.start()
        os.environ.update({**AWS_ENV, "AWS_ENDPOINT_URL": endpoint})
        for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
            os.environ.pop(key, None)
        _client(endpoint).create_bucket(Bucket=BUCKET)
        yield Services(admin, url, endpoint, version, postmaster)


def objects_in_memory() -> None:
    """Let moto keep the objects it stores in memory, as it keeps small ones.

    moto writes an object over 5 MB to a temporary file on this machine's disk: each 120 MB
    object an S3 apply copies to its stage cost the moto server 0.7 s of the two cores the
    loader runs on (0.4 s of it that write), against 0.3 s in memory. S3 copies server-side, at
    no cost to the machine that asks, and the benchmark keeps the sources' bytes in memory
    anyway (ranged_gets_like_s3). A setting of moto's own; the benchmark's moto is
    in-process, so it must be set before the first object is put. Only the benchmark does this.
    """
    os.environ.setdefault("MOTO_S3_DEFAULT_KEY_BUFFER_SIZE", str(1 << 30))


def ranged_gets_like_s3() -> None:
    """Make moto's ranged GET cost what it costs on S3: proportional to the range.

    moto reads (copies) an object's whole body from its temporary file for every GET, ranged or
    not, so reading a 120 MB object's 64 KB footer cost 0.1-0.2 s, and reading it row group by
    row group cost a full copy per row group: the S3 stand-in, not the loader, was what the
    loader's numbers measured. Here each object's bytes are kept once (in this process, which
    runs the moto server) and every GET slices them. Only the benchmark does this.
    """
    from moto.s3.models import FakeKey

    if getattr(FakeKey, "_bench_cached", False):
        return
    original, dispose = FakeKey.value, FakeKey.dispose

    def get(self: Any) -> bytes:
        cached = self.__dict__.get("_bench_value")
        if cached is None:
            cached = self.__dict__["_bench_value"] = original.fget(self)
        return cached

    def put(self: Any, value: bytes) -> None:
        self.__dict__.pop("_bench_value", None)
        original.fset(self, value)

    def dispose_too(self: Any, garbage: bool = False) -> None:
        self.__dict__.pop("_bench_value", None)
        dispose(self, garbage)

    FakeKey.value = property(get, put)   # type: ignore[method-assign,assignment]
    FakeKey.dispose = dispose_too        # type: ignore[method-assign]
    FakeKey._bench_cached = True         # type: ignore[attr-defined]


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


def delete_prefix(endpoint: str, prefix: str) -> None:
    """Free the S3 stand-in's memory of a contender's staged objects once it is done."""
    client = _client(endpoint)
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=BUCKET, Delete={"Objects": keys})


def upload(endpoint: str, files: list[Path], prefix: str) -> list[str]:
    """Put the dataset's Parquet files on the S3 stand-in; returns their s3:// URLs."""
    client, urls = _client(endpoint), []
    for path in files:
        key = f"{prefix.strip('/')}/{path.name}"
        client.upload_file(str(path), BUCKET, key)
        urls.append(f"s3://{BUCKET}/{key}")
    return urls


_CLOCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()   # fields from 3 (state) on; the name may hold spaces


def server_cpu_seconds(postmaster: int | None) -> float | None:
    """CPU seconds PostgreSQL has used so far: the postmaster, its live children, and (through
    the postmaster's cutime/cstime) every backend that has exited. None where /proc is missing."""
    if postmaster is None:
        return None
    fields = _stat(postmaster)
    if fields is None:
        return None
    ticks = sum(int(x) for x in fields[11:15])          # utime stime cutime cstime
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            child = _stat(int(entry))
            if child is not None and child[1] == str(postmaster):
                ticks += int(child[11]) + int(child[12])
    return ticks / _CLOCK
