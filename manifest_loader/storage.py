"""Clients for object storage, configured from the environment users already have.

`AWS_ENDPOINT_URL` points botocore (and pyarrow) at an S3-compatible endpoint (moto, LocalStack,
MinIO); credentials come from the usual AWS chain, never from a manifest.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from .run_events import watch_retries

if TYPE_CHECKING:
    import pyarrow.fs as pafs


@dataclass(frozen=True)
class S3Location:
    bucket: str
    key: str

    @classmethod
    def parse(cls, url: str) -> S3Location:
        parsed = urlparse(url)
        return cls(parsed.netloc, parsed.path.lstrip("/"))

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def endpoint_url() -> str | None:
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None


def region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


_creating = threading.Lock()


@lru_cache(maxsize=1)
def _session() -> Any:
    with _without_pyopenssl():
        import botocore.httpsession  # noqa: F401   # what imports pyOpenSSL, and what botocore.config imports
        import botocore.session

    return botocore.session.get_session()


@contextlib.contextmanager
def _without_pyopenssl() -> Iterator[None]:
    """While botocore is imported, `urllib3.contrib.pyopenssl` cannot be: botocore.httpsession
    imports it only for `orig_util_SSLContext`, the SSLContext class urllib3 had before anyone
    injected pyOpenSSL, and takes urllib3.util.ssl_.SSLContext (that same class) when the import
    fails; botocore's own comment says the import can go once urllib3 2 is its floor. Importing
    it loads pyOpenSSL and cryptography (which snowflake-connector-python installs): 0.05 s of
    CPU and 9 MB of every command that reaches S3, such as a no-change re-apply. Nothing changes
    once pyOpenSSL's module is loaded (then it is used as before), and it can be imported as soon
    as botocore is."""
    name = "urllib3.contrib.pyopenssl"
    if name in sys.modules or "botocore.httpsession" in sys.modules:
        yield
        return
    sys.modules[name] = None   # type: ignore[assignment]   # None in sys.modules: ImportError
    try:
        yield
    finally:
        if name in sys.modules and sys.modules[name] is None:
            del sys.modules[name]


def new_s3_client(config: Any, endpoint: str | None = None, region_name: str | None = None) -> Any:
    """An S3 client of the process's one botocore session, whose loader reads S3's service model
    once. From botocore itself, not boto3: what boto3 adds to a client is its managed transfers,
    which stage.py calls through `boto3.s3.transfer`, and importing boto3 (with s3transfer and
    multiprocessing) cost a command that only lists S3, such as a no-change re-apply, 0.05-0.08 s.
    A session makes one client at a time (botocore's sessions are not thread-safe; clients are)."""
    with _creating:
        return _session().create_client("s3", endpoint_url=endpoint, region_name=region_name or region(),
                                        config=config)


@lru_cache(maxsize=4)
def _client(endpoint: str | None, region_name: str) -> Any:
    _session()   # botocore imported the way _session does it
    from botocore.config import Config

    # botocore's "standard" retry mode retries throttling, 5xx and connection errors with
    # exponential backoff and jitter, and never retries 4xx such as AccessDenied.
    # Five attempts ride out a 10% fault rate (a request fails for good 1 time in 100,000) without
    # keeping a user waiting a minute for an endpoint that is simply down.
    config = Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=10, read_timeout=60)
    # Its retries reach the run whose request it retried (run_events), also with several runs at once.
    return watch_retries(new_s3_client(config, endpoint, region_name))


def s3_probe_client() -> Any:
    """A client that tries once: to tell "endpoint down" from "request failed" without a minute of backoff."""
    _session()   # botocore imported the way _session does it
    from botocore.config import Config

    config = Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=30)
    return new_s3_client(config, endpoint_url())


def s3_client() -> Any:
    """A botocore S3 client for the configured endpoint (cached per endpoint and region)."""
    return _client(endpoint_url(), region())


def s3_filesystem() -> pafs.S3FileSystem:
    """A pyarrow S3 filesystem, for reading Parquet footers and row groups without downloading."""
    import pyarrow.fs as pafs

    endpoint = endpoint_url()
    kwargs: dict[str, Any] = {"region": region(),
                              "retry_strategy": pafs.AwsStandardS3RetryStrategy(max_attempts=5)}
    if endpoint:
        parsed = urlparse(endpoint)
        kwargs["endpoint_override"] = parsed.netloc
        kwargs["scheme"] = parsed.scheme or "https"
    key, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    if key and secret:
        kwargs.update(access_key=key, secret_key=secret, session_token=os.environ.get("AWS_SESSION_TOKEN"))
    return pafs.S3FileSystem(**kwargs)
