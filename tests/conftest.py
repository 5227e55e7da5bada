"""Shared fixtures: golden-file switch, PostgreSQL (Redshift emulator) and moto S3.

Services are started here, on first use, not by .ci/run. The logic lives in services.py.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest
from services import (
    PG_URL_ENV,
    MotoS3,
    PostgresCluster,
    create_database,
    database_name,
    drop_database,
    moto_available,
    postgres_available,
)

# Fixtures that start or reach a service. A test that uses one (itself or through another fixture)
# is online, as is one marked `online`; every other test is marked `offline` here, so
# `python -m pytest -m offline` selects the tests that need no PostgreSQL, moto, fakesnow database
# or browser without anyone marking them.
# `emulator` is the reliability tests' running emulator (PostgreSQL or fakesnow on disk).
SERVICE_FIXTURES = frozenset({"pg_url", "pg_database", "s3_endpoint", "s3_env", "browser", "served", "laptop",
                              "emulator"})


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "offline: needs no service (set from the fixtures a test uses; "
                                       "select with -m offline)")
    config.addinivalue_line("markers", "online: needs a service no fixture shows (the fakesnow database a "
                                       "load opens, a subprocess, a build); never marked offline")
    config.addinivalue_line("markers", "postgres: uses a PostgreSQL server (`-m postgres` runs them again against "
                                       "another PostgreSQL version, as .ci/run does)")


def _uses_a_service(item: pytest.Item) -> bool:
    """A service fixture among the test's fixtures, or named by one of them (request.getfixturevalue)."""
    names = set(getattr(item, "fixturenames", ()))
    if SERVICE_FIXTURES & names:
        return True
    info = getattr(item, "_fixtureinfo", None)
    for name in names:
        for definition in info.name2fixturedefs.get(name, ()) if info is not None else ():
            try:
                source = inspect.getsource(definition.func)
            except (OSError, TypeError):
                continue
            if any(f'"{service}"' in source for service in SERVICE_FIXTURES):
                return True
    return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("online") is None and not _uses_a_service(item):
            item.add_marker(pytest.mark.offline)
    _mark_postgres(items)


@pytest.fixture(autouse=True)
def _offline_means_offline(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """An offline test that opens an embedded emulator's database (which no fixture shows) is
    reported with a warning asking for @pytest.mark.online; it still runs. A server it cannot
    reach is an offline test of that error."""
    if request.node.get_closest_marker("offline") is None:
        return
    from manifest_loader.registry import TargetKind

    opener = TargetKind.open

    def watched(kind: TargetKind, *args: Any, **kwargs: Any) -> Any:
        if kind.default_without_url:
            warnings.warn(pytest.PytestWarning(
                f"{request.node.nodeid} opens the {kind.name} database but is marked offline (no service "
                "fixture): mark it @pytest.mark.online"), stacklevel=2)
        return opener(kind, *args, **kwargs)

    monkeypatch.setattr(TargetKind, "open", watched)


def _mark_postgres(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        # The Snowflake-emulator half of a test parametrized over both emulators needs no second run.
        on_snowflake = callspec is not None and "snowflake" in map(str, callspec.params.values())
        if {"pg_url", "pg_database"} & set(getattr(item, "fixturenames", ())) and not on_snowflake:
            item.add_marker(pytest.mark.postgres)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite golden files under tests/golden instead of comparing against them",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    """True when the run was started with --update-golden."""
    return bool(request.config.getoption("--update-golden"))


def _unavailable(reason: str) -> NoReturn:
    """Skip on a developer's machine, but fail in CI, where a skipped service would hide lost coverage."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"required test service unavailable in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """URL of a PostgreSQL superuser connection: $MANIFEST_LOADER_TEST_PG_URL or a fresh local cluster."""
    external = os.environ.get(PG_URL_ENV)
    if external:
        yield external
        return
    reason = postgres_available()
    if reason is not None:
        _unavailable(reason)
    with PostgresCluster() as cluster:
        yield cluster.url


@pytest.fixture
def pg_database(pg_url: str) -> Iterator[str]:
    """URL of a new, empty database private to one test; dropped afterwards."""
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:
        _unavailable(f"psycopg is not installed ({exc}); install 'psycopg[binary]'")
    url = create_database(pg_url)
    try:
        yield url
    finally:
        drop_database(pg_url, database_name(url))


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """Endpoint URL of a moto server shared by the whole session."""
    reason = moto_available()
    if reason is not None:
        _unavailable(reason)
    with MotoS3() as server:
        yield server.endpoint_url


#: In-process waits between botocore's S3 retries are this share of botocore's own.
S3_BACKOFF_SCALE = 0.05


@pytest.fixture(autouse=True, scope="session")
def _short_s3_backoff() -> Iterator[None]:
    """Scale botocore's waits between S3 retries down 20-fold in the test process.

    Its standard mode waits rand(0, 1) * 2**attempt s, so a request that fails five times (the
    loader's retry budget) waits up to 15 s: the S3 fault tests spent over a minute asleep. Each
    retry is still made and reported, and the budget is the same; the tests count retries and check
    what a run ends with, never how long it waited. 0.05 is the scale newer botocore uses for errors
    other than throttling. CLIs that tests start as subprocesses keep botocore's real waits.
    """
    from botocore.retries.standard import ExponentialBackoff

    delay_amount = ExponentialBackoff.delay_amount

    def shorter(self: ExponentialBackoff, context: Any) -> float:
        return float(delay_amount(self, context)) * S3_BACKOFF_SCALE

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ExponentialBackoff, "delay_amount", shorter)
        yield


@pytest.fixture
def s3_env(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point boto3 (via environment variables) at moto and make sure bucket ``local`` exists."""
    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    # A developer's profile or session token would otherwise be mixed into the fake credentials.
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    s3 = boto3.client("s3")
    # The moto server lives for the whole session, so an earlier test may have created it.
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
        s3.create_bucket(Bucket="local")
    yield s3_endpoint


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private copy of manifests/ecommerce.yaml and its data, with state under tmp_path.

    Every loader variable a developer may have set is cleared, so a test sees only what it sets.
    """
    from loadkit import copy_example

    monkeypatch.setenv("MANIFEST_LOADER_STATE_DIR", str(tmp_path / "state"))
    for name in ("DW_SIMULATOR_REDSHIFT_URL", "DW_SIMULATOR_SNOWFLAKE_URL", "DW_SIMULATOR_STAGE_BUCKET",
                 "DW_SIMULATOR_TARGET_DB_URL"):
        monkeypatch.delenv(name, raising=False)
    yield copy_example(tmp_path)
    # A test that reached the Redshift target with no URL started the managed emulator: stop it.
    from manifest_loader.localpg import LocalPostgres

    LocalPostgres(tmp_path / "state").destroy()
