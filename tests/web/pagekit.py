"""Helpers for the web page's browser tests: the test manifests, a served app, a watched page, screenshots."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("MANIFEST_LOADER_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
LAPTOP = {"width": 1280, "height": 900}

# Extra experiments next to the ecommerce example: a load that fails (NOT NULL on a column with
# NULLs), names that look like HTML, and a manifest that does not validate.
STRICT_CUSTOMERS = """\
version: 1
name: strict_customers
description: Customers whose email is declared NOT NULL, which the data breaks.
target:
  warehouse: redshift
  schema: strict_customers
tables:
  - name: customers
    source: data/ecommerce/customers/*.parquet
    primary_key: [customer_id]
    columns:
      email: {type: varchar(320), nullable: false}
"""
MARKUP_DESCRIPTION = 'Names are data: <img src=x onerror="alert(2)"> <b>bold</b> & </p><p>'
MARKUP = f"""\
version: 1
name: markup
description: '{MARKUP_DESCRIPTION}'
target:
  warehouse: redshift
  schema: markup
tables:
  - name: "<script>alert(1)</script>"
    source: data/ecommerce/products/
  - name: "<b>x</b>"
    source: data/ecommerce/customers/
"""
BROKEN = """\
version: 1
name: broken
target:
  warehouse: redshift
tables:
  - name: customers
    mode: upsert
    source: data/ecommerce/customers/
  - name: orders
    source: data/ecommerce/orders/
    primary_key: no_such_column
"""
EXTRA_MANIFESTS = {"strict_customers.yaml": STRICT_CUSTOMERS, "markup.yaml": MARKUP, "broken.yaml": BROKEN}


@dataclass
class Served:
    """A running `manifest-loader serve`: its URL, folder (cwd, holding manifests/) and environment."""

    url: str
    root: Path
    env: dict[str, str]
    log: Path

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run the CLI as a user would, in the same folder and environment as the server."""
        return subprocess.run([sys.executable, "-m", "manifest_loader.cli", *args], cwd=self.root, env=self.env,
                              capture_output=True, text=True, timeout=300)


@dataclass
class Watched:
    """A page plus what it did that a test must not see: script errors, dialogs, off-site requests."""

    page: Any
    base_url: str
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)

    def check(self) -> None:
        assert self.errors == [], f"script errors on the page: {self.errors}"
        assert self.dialogs == [], f"the page opened dialogs (markup executed?): {self.dialogs}"
        assert self.foreign_requests == [], f"the page asked for something off its own server: " \
                                            f"{self.foreign_requests}"


def watch(page: Any, base_url: str) -> Watched:
    watched = Watched(page, base_url)
    page.on("pageerror", lambda error: watched.errors.append(str(error)))
    page.on("dialog", lambda dialog: (watched.dialogs.append(dialog.message), dialog.dismiss()))

    def on_request(request: Any) -> None:
        if not (request.url.startswith(base_url) or request.url.startswith("data:")):
            watched.foreign_requests.append(request.url)

    page.on("request", on_request)
    page.set_default_timeout(30_000)
    return watched


def screenshot(page: Any, name: str, *, full_page: bool = False, locator: Any = None) -> Path:
    """Save a screenshot under test-output/screenshots (a CI artifact; gitignored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    if locator is not None:
        locator.screenshot(path=str(path), animations="disabled")
    else:
        page.screenshot(path=str(path), full_page=full_page, animations="disabled")
    return path
