"""The page's files without a browser: served at / by the app, shipped in the wheel, nothing loaded from
the internet, and no way for data to reach the page as HTML."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pagekit import ROOT

from manifest_loader.web import ASSETS, WEB_DIR


def asset(name: str) -> str:
    return (WEB_DIR / name).read_text(encoding="utf-8")


def test_serve_answers_the_page_and_its_assets(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from manifest_loader.api import create_app

    (tmp_path / "manifests").mkdir()
    client = TestClient(create_app(tmp_path / "manifests", env={"MANIFEST_LOADER_STATE_DIR": str(tmp_path)}),
                        base_url="http://127.0.0.1")
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.text == asset("index.html")
    for path, media in (("/web/app.js", "text/javascript"), ("/web/style.css", "text/css")):
        response = client.get(path)
        assert response.status_code == 200 and response.headers["content-type"].startswith(media), path
    # The API keeps its own routes; the page's routes stay out of the OpenAPI document.
    assert client.get("/api/experiments").json()["experiments"] == []
    paths = client.get("/openapi.json").json()["paths"]
    assert "/" not in paths and not any(p.startswith("/web") for p in paths)
    # Only the three files are served: nothing else of the package (or beyond) by name.
    for path in ("/web/__init__.py", "/web/../api.py", "/web/index.html/..", "/web/%2e%2e/api.py"):
        assert client.get(path).status_code == 404, path


def test_nothing_comes_from_the_internet() -> None:
    """No fonts, scripts, styles or images from elsewhere: the page works offline."""
    html, css, js = asset("index.html"), asset("style.css"), asset("app.js")
    assert not re.search(r"(?:src|href)\s*=\s*\"(?:https?:)?//", html)
    assert re.findall(r"<script[^>]*src=\"([^\"]+)\"", html) == ["/web/app.js"]
    assert re.findall(r"<link[^>]*rel=\"stylesheet\"[^>]*href=\"([^\"]+)\"", html) == ["/web/style.css"]
    assert "<style" not in html and " style=" not in html and "onclick=" not in html
    assert "@import" not in css and "@font-face" not in css and not re.search(r"url\(", css)
    # The SVG namespace is a name that createElementNS needs, never fetched.
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg\")", css + js)
    assert not re.search(r"fetch\(\s*['\"`](?:https?:)?//", js)


def test_data_never_reaches_the_page_as_html() -> None:
    """Every value goes in as text: no HTML sinks in the script at all, and strict mode."""
    js = asset("app.js")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function",
                 "setTimeout(\"", "createContextualFragment", "DOMParser"):
        assert sink not in js, sink
    assert '"use strict";' in js


def test_the_wheel_ships_the_page() -> None:
    hatchling = pytest.importorskip("hatchling.builders.wheel")
    builder = hatchling.WheelBuilder(str(ROOT))
    shipped = {f.distribution_path for f in builder.recurse_included_files()}
    assert {f"manifest_loader/web/{name}" for name in ASSETS} <= shipped
