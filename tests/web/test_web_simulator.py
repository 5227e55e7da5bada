"""The web page on dw-simulator experiments (a real browser against `manifest-loader serve` whose
environment points at a simulator-shaped metadata DB): the experiment is listed with its
generation runs, its warehouse switch is kept, and a chosen run loads and is tracked."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pagekit import LAPTOP, screenshot, watch
from services import find_free_port
from simkit import Simulator, ecommerce_schema

try:
    from playwright.sync_api import expect
except ImportError:   # the `browser` fixture skips these tests, or fails them under CI=true
    expect = None


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=60) as response:
        return json.load(response)


@pytest.fixture
def simulator_served(tmp_path: Path) -> Iterator[tuple[str, Simulator]]:
    sim = Simulator(tmp_path / "simulator")
    schema = ecommerce_schema("shop", 100, 20, 300, 800)
    sim.create(schema, "sqlite")
    sim.generate(schema, "1733000000")
    sim.record_run("shop", "FAILED", None, {}, error="boom")
    (tmp_path / "manifests").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DW_SIMULATOR_")}
    env.update(sim.env(), MANIFEST_LOADER_STATE_DIR=str(tmp_path / "state"), PYTHONUNBUFFERED="1",
               DW_SIMULATOR_STAGE_BUCKET=(tmp_path / "stage").as_uri())
    port = find_free_port()
    url = f"http://127.0.0.1:{port}/"
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "manifest_loader.cli", "serve", "--manifests-dir",
                                    "manifests", "--port", str(port)], cwd=tmp_path, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            with contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError):
                _get(url + "api/experiments")
                break
            time.sleep(0.2)
        yield url, sim
    finally:
        process.terminate()
        process.wait(timeout=15)
        # A load into the Redshift emulator with no URL started the managed PostgreSQL, which
        # outlives serve by design; stop it, or every run leaves a server behind.
        subprocess.run([sys.executable, "-m", "manifest_loader.cli", "emulator", "down"], cwd=tmp_path, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60, check=False)


def test_list_runs_switch_and_load_a_generation_run(browser: Any, simulator_served: tuple[str, Simulator]) -> None:
    url, _ = simulator_served
    context = browser.new_context(viewport=LAPTOP, locale="en-US", timezone_id="UTC")
    page = context.new_page()
    watched = watch(page, url)
    try:
        page.goto(url)
        card = page.locator('.experiment[data-experiment="shop"]')
        expect(card).to_be_visible()
        expect(card.locator(".simulator-tag")).to_have_text("dw-simulator experiment")
        expect(card.locator(".default-target")).to_have_text("snowflake")   # warehouse_type sqlite: the default
        runs = card.locator("select.generation-run option")
        expect(runs).to_have_count(3)
        expect(runs.nth(1)).to_have_text("run 2 · FAILED · 0 rows · not loaded")
        expect(runs.nth(1)).to_be_disabled()
        expect(runs.nth(2)).to_have_text("run 1 · COMPLETED · 1,220 rows · not loaded")
        for warehouse in ("redshift", "snowflake"):   # each switch is kept by the server
            card.get_by_role("radio", name=warehouse).check()
            deadline = time.monotonic() + 30
            while _get(url + "api/experiments/shop/runs")["saved_warehouse"] != warehouse:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        card.locator("select.generation-run").select_option("1")
        card.locator(".load-button").click()
        panel = page.locator("#run-panel")
        expect(panel).to_have_attribute("data-status", "succeeded", timeout=180_000)
        screenshot(page, "simulator-run-loaded")
        (run,) = [r for r in _get(url + "api/experiments/shop/runs")["generation_runs"] if r["id"] == 1]
        assert [(load["status"], load["warehouse"], load["rows_match"]) for load in run["loads"]] == [
            ("succeeded", "snowflake", True)]
        # The query panel and the loaded tables follow a simulator experiment as they follow a manifest.
        expect(page.locator("#explore-experiment")).to_have_value("shop")
        expect(page.locator("#tables-status")).to_have_text("4 of 4 tables loaded in snowflake, schema shop.",
                                                            timeout=60_000)
        expect(page.locator('.table-card[data-table="customers"] .row-count')).to_have_text("100 rows")
        page.get_by_label("SQL", exact=True).fill("select count(*) as n from orders")
        page.locator("#query-run").click()
        expect(page.locator("#query-result-table tbody td")).to_have_text(["300"])
        watched.check()
    finally:
        context.close()
