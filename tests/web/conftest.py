"""Fixtures for the web page's browser tests: Debian's chromium driven headless by Playwright, and
`manifest-loader serve` started on 127.0.0.1 over a private manifests folder.

Nothing downloads a browser: Playwright is pointed at /usr/bin/chromium (Debian's package, which
.ci/run installs). Without it the tests skip on a developer's machine and fail under CI=true.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest
from pagekit import CHROMIUM, CHROMIUM_ARGS, EXTRA_MANIFESTS, LAPTOP, ROOT, Served, Watched, watch
from services import find_free_port


def _unavailable(reason: str) -> NoReturn:
    """Skip on a developer's machine, fail in CI, where a skipped browser test would hide lost coverage."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"required for the browser tests in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _patient_expect() -> Iterator[None]:
    """Playwright's expect() waits 5 s by default: too short for a run's first progress on a busy CI
    machine (two xdist workers on two CPUs, each test's own `serve`). Give assertions the 30 s the
    page's actions have (pagekit.watch); what they require is unchanged."""
    try:
        from playwright.sync_api import expect
    except ImportError:       # the browser fixture reports it
        yield
        return
    expect.set_options(timeout=30_000)
    try:
        yield
    finally:
        expect.set_options(timeout=5_000)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium, headless, launched once per module."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        _unavailable(f"playwright is not installed ({exc}); pip install -e '.[test]'")
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        _unavailable(f"{CHROMIUM} not found; install Debian's chromium (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60_000)
        try:
            yield browser
        finally:
            browser.close()


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"manifest-loader serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url + "api/experiments", timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    pytest.fail(f"manifest-loader serve did not answer within {timeout:.0f}s:\n{log.read_text()}")


@pytest.fixture
def served(tmp_path: Path, pg_database: str) -> Iterator[Served]:
    """`manifest-loader serve` over a copy of the example plus EXTRA_MANIFESTS.

    Redshift is the emulator on the test PostgreSQL database; Snowflake the embedded fakesnow,
    with all state (fakesnow, stage, metadata SQLite) under tmp_path.
    """
    manifests = tmp_path / "manifests"
    shutil.copytree(ROOT / "manifests" / "data" / "ecommerce", manifests / "data" / "ecommerce")
    shutil.copy(ROOT / "manifests" / "ecommerce.yaml", manifests / "ecommerce.yaml")
    for name, text in EXTRA_MANIFESTS.items():
        (manifests / name).write_text(text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DW_SIMULATOR_")}
    env.update(MANIFEST_LOADER_STATE_DIR=str(tmp_path / "state"), DW_SIMULATOR_REDSHIFT_URL=pg_database,
               DW_SIMULATOR_STAGE_BUCKET=(tmp_path / "stage").as_uri(), PYTHONUNBUFFERED="1")
    port = find_free_port()
    url = f"http://127.0.0.1:{port}/"
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "manifest_loader.cli", "serve", "--manifests-dir", "manifests",
             "--host", "127.0.0.1", "--port", str(port)],
            cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        _wait_until_up(url, process, log)
        yield Served(url, tmp_path, env, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


@pytest.fixture
def laptop(browser: Any, served: Served) -> Iterator[Watched]:
    """A laptop-sized page on the served app; fails the test on script errors, dialogs or off-site requests."""
    context = browser.new_context(viewport=LAPTOP, locale="en-US", timezone_id="UTC")
    page = context.new_page()
    watched = watch(page, served.url)
    try:
        yield watched
        watched.check()
    finally:
        with contextlib.suppress(Exception):
            context.close()
