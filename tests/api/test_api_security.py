"""`serve` against the issue 14 findings 3, 7, 8 and 11, over HTTP to a real `manifest-loader serve`
(uvicorn in its own process): no cross-site or DNS-rebinding requests, a token off loopback,
bounded bodies, no environment value echoed by validate and nothing written into the manifests
folder, no listing through links out of the folder."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from loadkit import ROOT
from services import find_free_port

from manifest_loader.api import create_app

SHORT_KEY = "k3y7"                 # too short for the response scrubber
NOTE = "internal-host-42"          # not a secret-looking name: the scrubber does not know it
TOKEN = "t0ken-for-the-test-5b2e"

# The embedded Snowflake emulator's database on disk, or `manifest-loader serve` in its own process.
pytestmark = pytest.mark.online


@dataclass(frozen=True)
class Server:
    url: str
    port: int
    pid: int
    manifests: Path


def _start(tmp_path: Path, *args: str, env_extra: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("DW_SIMULATOR_") and k != "MANIFEST_LOADER_API_TOKEN"}
    env.update(MANIFEST_LOADER_STATE_DIR=str(tmp_path / "state"), MY_API_KEY=SHORT_KEY, TEAM_NOTE=NOTE,
               PYTHONUNBUFFERED="1", **(env_extra or {}))
    return subprocess.Popen([sys.executable, "-m", "manifest_loader.cli", "serve", "--manifests-dir", "manifests",
                             *args], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                            stderr=(tmp_path / "serve.log").open("wb"), stdin=subprocess.DEVNULL)


def _manifests(tmp_path: Path) -> Path:
    manifests = tmp_path / "manifests"
    shutil.copytree(ROOT / "manifests" / "data" / "ecommerce", manifests / "data" / "ecommerce")
    shutil.copy(ROOT / "manifests" / "ecommerce.yaml", manifests / "ecommerce.yaml")
    (tmp_path / "outside.yaml").write_text("version: 1\nname: outside-secret-manifest\n", encoding="utf-8")
    (manifests / "leak.yaml").symlink_to(tmp_path / "outside.yaml")
    return manifests


def _up(url: str, process: subprocess.Popen[bytes], headers: dict[str, str] | None = None) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "serve exited"
        try:
            httpx.get(url + "api/runs", headers=headers, timeout=5)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    pytest.fail("serve did not answer")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp_path = tmp_path_factory.mktemp("served")
    manifests = _manifests(tmp_path)
    port = find_free_port()
    process = _start(tmp_path, "--host", "127.0.0.1", "--port", str(port))
    url = f"http://127.0.0.1:{port}/"
    try:
        _up(url, process)
        yield Server(url, port, process.pid, manifests)
    finally:
        process.terminate()
        process.wait(timeout=15)


QUERY = '{"sql": "select 1", "target_warehouse": "snowflake"}'


def test_only_json_bodies_from_this_origin_and_host(server: Server) -> None:
    query = server.url + "api/query"
    assert httpx.post(query, content=QUERY, headers={"content-type": "application/json"}, timeout=60).status_code == 200
    # What a page on another site can send without asking first: form and text bodies, or no type.
    for media in ("application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x", None):
        headers = {"content-type": media} if media else {}
        response = httpx.post(query, content=QUERY.encode(), headers=headers, timeout=60)
        assert response.status_code == 415, (media, response.text)
    foreign = httpx.post(query, content=QUERY, timeout=60,
                         headers={"content-type": "application/json", "origin": "http://evil.example"})
    assert foreign.status_code == 403 and foreign.headers["content-type"] == "application/problem+json"
    load = httpx.post(server.url + "api/experiments/ecommerce/load", timeout=60,
                      headers={"origin": "https://evil.example", "sec-fetch-site": "cross-site"})
    assert load.status_code == 403
    # DNS rebinding: the attacker's name resolves to 127.0.0.1, the Host header still says it.
    rebound = httpx.get(server.url + "api/experiments", headers={"host": f"evil.example:{server.port}"})
    assert rebound.status_code == 400
    same = httpx.post(query, content=QUERY, timeout=60, headers={
        "content-type": "application/json", "origin": server.url.rstrip("/"), "sec-fetch-site": "same-origin"})
    assert same.status_code == 200 and same.json()["rows"] == [[1]]


def _peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def test_bodies_are_bounded_while_they_stream(server: Server) -> None:
    validate = server.url + "api/validate"
    # 300 MB announced, a few bytes sent: refused from the header, before anything is read.
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as raw:
        raw.sendall(b"POST /api/validate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/yaml\r\n"
                    b"Content-Length: %d\r\n\r\nversion: 1\n" % (300 * 1024 ** 2))
        assert raw.recv(200).startswith(b"HTTP/1.1 413 ")
    before = _peak_rss_kib(server.pid)
    chunk = b"x" * (1024 * 1024)

    def body() -> Iterator[bytes]:   # no Content-Length: chunked, 64 MiB unless the server stops reading
        for _ in range(64):
            yield chunk

    try:
        streamed = httpx.post(validate, content=body(), headers={"content-type": "application/yaml"}, timeout=60)
        assert streamed.status_code == 413
    except httpx.TransportError:
        pass   # the server answered 413 and closed while the client was still sending: also bounded
    # A JSON endpoint too: FastAPI's body parsing must not turn the refusal into a 400.
    try:
        query = httpx.post(server.url + "api/query", content=iter([chunk] * 4), timeout=60,
                           headers={"content-type": "application/json"})
        assert query.status_code == 413
    except httpx.TransportError:
        pass
    grown_mib = (_peak_rss_kib(server.pid) - before) / 1024
    assert grown_mib < 24, f"the server's peak memory grew by {grown_mib:.0f} MiB"
    assert httpx.get(server.url + "api/runs").status_code == 200   # still serving


def test_validate_echoes_no_environment_value(server: Server) -> None:
    before = sorted(p.name for p in server.manifests.iterdir())
    for manifest in ('version: 1\nname: x\ntarget: {warehouse: "${MY_API_KEY}"}\ntables: []\n',
                     'version: 1\nname: x\ntarget: {warehouse: "${TEAM_NOTE}"}\ntables: []\n',
                     'version: 1\nname: x\ntarget: {warehouse: redshift, schema: "${TEAM_NOTE}\\n"}\ntables:\n'
                     '  - {name: t, source: data/ecommerce/products/}\n'):
        response = httpx.post(server.url + "api/validate", json={"manifest": manifest}, timeout=60)
        assert response.status_code == 422, response.text
        assert SHORT_KEY not in response.text and NOTE not in response.text, response.text
        assert "${" in response.text   # what the user wrote
    assert sorted(p.name for p in server.manifests.iterdir()) == before


def test_validate_writes_nothing_into_the_manifests_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    manifests = _manifests(tmp_path)
    written: list[Path] = []
    real_write = Path.write_bytes

    def recording_write(self: Path, data: bytes) -> int:   # type: ignore[override]
        written.append(self)
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", recording_write)
    with TestClient(create_app(manifests, env={"MANIFEST_LOADER_STATE_DIR": str(tmp_path / "state")}),
                    base_url="http://127.0.0.1") as client:
        text = (manifests / "ecommerce.yaml").read_text(encoding="utf-8")
        response = client.post("/api/validate", content=text, headers={"content-type": "application/yaml"})
    assert response.status_code == 200 and response.json()["tables"] == 4
    assert [p for p in written if p.resolve().is_relative_to(manifests.resolve())] == []


def test_experiments_never_read_through_links_out_of_the_folder(server: Server) -> None:
    listed = httpx.get(server.url + "api/experiments").json()
    assert [e["name"] for e in listed["experiments"]] == ["ecommerce"]
    assert "outside-secret-manifest" not in str(listed)


def test_off_loopback_needs_a_token_and_every_request_carries_it(tmp_path: Path) -> None:
    _manifests(tmp_path)
    refused = _start(tmp_path, "--host", "0.0.0.0", "--port", str(find_free_port()))
    try:
        assert refused.wait(timeout=30) == 2
    finally:
        if refused.poll() is None:
            refused.kill()
    assert "needs a token" in (tmp_path / "serve.log").read_text()

    port = find_free_port()
    process = _start(tmp_path, "--host", "127.0.0.1", "--port", str(port), env_extra={
        "MANIFEST_LOADER_API_TOKEN": TOKEN})
    url = f"http://127.0.0.1:{port}/"
    try:
        _up(url, process)
        assert httpx.get(url + "api/experiments").status_code == 401
        assert httpx.get(url + "api/experiments", headers={"authorization": "Bearer wrong"}).status_code == 401
        assert httpx.get(url + "api/experiments", headers={"authorization": f"Bearer {TOKEN}"}).status_code == 200
        # The web page: /?token=… keeps the token in a SameSite=Strict cookie, then the API answers.
        with httpx.Client(base_url=url) as browser:
            opened = browser.get(f"/?token={TOKEN}")
            assert opened.status_code == 303 and "SameSite=Strict" in opened.headers["set-cookie"]
            assert browser.get("/api/experiments").status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=15)
