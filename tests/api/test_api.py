"""The HTTP API (`manifest-loader serve`): every endpoint, errors as problem details with the CLI's
messages, names confined to the manifests folder, live progress, no secret in any response."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from loadkit import ROOT, copy_example

from manifest_loader.api import ApiProgress, create_app
from manifest_loader.cli import main
from manifest_loader.commands import make_plan
from manifest_loader.plan_format import plan_to_dict

INVALID = ROOT / "tests" / "manifests" / "invalid"
SECRET = "pw-Secret-9-api"


def _client(manifests: Path, env: dict[str, str]) -> TestClient:
    return TestClient(create_app(manifests, env=env), raise_server_exceptions=False, base_url="http://127.0.0.1")


@pytest.fixture
def example(tmp_path: Path) -> Path:
    return copy_example(tmp_path).parent


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"MANIFEST_LOADER_STATE_DIR": str(tmp_path / "state")}


@pytest.fixture
def client(example: Path, env: dict[str, str]) -> Iterator[TestClient]:
    with _client(example, env) as c:
        yield c


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["title"]
    return body


def _wait(client: TestClient, run_id: str, timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        run = client.get(f"/api/runs/{run_id}").json()
        if run["status"] not in ("running",):
            return run
        assert time.monotonic() < deadline, run
        time.sleep(0.1)


def test_openapi_document_is_served(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    assert {"/api/experiments", "/api/experiments/{name}/plan", "/api/experiments/{name}/load", "/api/runs",
            "/api/runs/{run_id}", "/api/validate", "/api/query"} <= set(doc["paths"])
    assert "application/problem+json" in doc["paths"]["/api/experiments/{name}/load"]["post"]["responses"]["404"][
        "content"]


def test_experiments_list_manifests_with_tables_target_and_last_run(example: Path, env: dict[str, str]) -> None:
    (example / "broken.yaml").write_text("version: 1\nname: broken\ntarget: {warehouse: oracle}\ntables: []\n")
    (example / ".hidden.yaml").write_text("version: 1\n")
    (example / "notes.txt").write_text("not a manifest")
    with _client(example, env) as client:
        body = client.get("/api/experiments").json()
    by_name = {e["name"]: e for e in body["experiments"]}
    assert sorted(by_name) == ["broken", "ecommerce"]
    ecommerce = by_name["ecommerce"]
    assert ecommerce["valid"] and ecommerce["target"] == {"warehouse": "redshift", "schema": "ecommerce"}
    assert [t["name"] for t in ecommerce["tables"]] == ["customers", "products", "orders", "order_items"]
    assert ecommerce["last_run"] is None
    broken = by_name["broken"]
    assert not broken["valid"] and broken["errors"]
    assert all(e["text"].startswith(f"{example / 'broken.yaml'}:") for e in broken["errors"])


def test_plan_is_the_cli_plan(client: TestClient, example: Path, env: dict[str, str]) -> None:
    response = client.get("/api/experiments/ecommerce/plan", params={"target_warehouse": "snowflake"})
    assert response.status_code == 200, response.text
    plan, _ = make_plan(example / "ecommerce.yaml", "snowflake", env=env)
    assert response.json() == json.loads(json.dumps(plan_to_dict(plan), default=str))
    assert response.json()["target"]["dialect"] == "fakesnow"


@pytest.mark.parametrize("name, status", [
    ("a..b", 400), ("..x", 400), (".hidden", 400), ("eco\\merce", 400), ("ecommerce.yaml", 404), ("missing", 404),
])
def test_names_outside_the_folder_are_refused(client: TestClient, name: str, status: int) -> None:
    body = _problem(client.get(f"/api/experiments/{name}/plan"), status)
    if status == 400:
        assert "no path separators, no '..'" in body["detail"]


def test_dot_dot_never_names_a_manifest(client: TestClient) -> None:
    from manifest_loader.api import ApiProblem

    service = client.app.state.service
    for name in ("..", "../ecommerce", "..\\ecommerce", "sub/../ecommerce", "/etc/passwd"):
        with pytest.raises(ApiProblem) as refused:
            service.manifest_path(name)
        assert refused.value.status == 400
    # Clients normalise "..": such a request reaches no route at all.
    assert client.get("/api/experiments/../plan").status_code == 404


def test_path_separators_never_reach_a_file(client: TestClient, example: Path) -> None:
    (example / "sub").mkdir()
    shutil.copy(example / "ecommerce.yaml", example / "sub" / "inner.yaml")
    for path in ("/api/experiments/sub%2Finner/plan", "/api/experiments/sub/inner/plan",
                 "/api/experiments/..%2Fmanifests%2Fecommerce/plan"):
        assert client.get(path).status_code in (400, 404)


def test_unknown_target_warehouse_is_a_problem(client: TestClient) -> None:
    body = _problem(client.get("/api/experiments/ecommerce/plan", params={"target_warehouse": "oracle"}), 422)
    assert "target_warehouse" in body["detail"]


def _cli_lines(manifest: Path) -> list[str]:
    result = CliRunner().invoke(main, ["validate", str(manifest)])
    assert result.exit_code == 2, result.output
    return [line.replace(str(manifest), manifest.name) for line in result.output.splitlines()]


CORPUS_CASES = sorted(p.stem for p in INVALID.glob("*.yaml") if not p.with_suffix(".args").exists())


@pytest.mark.parametrize("case", CORPUS_CASES)
def test_validate_gives_the_cli_positioned_errors(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  env: dict[str, str]) -> None:
    for name in ("DW_SIMULATOR_REDSHIFT_URL", "DW_SIMULATOR_SNOWFLAKE_URL", "DW_SIMULATOR_STAGE_BUCKET"):
        monkeypatch.delenv(name, raising=False)
    folder = tmp_path / "invalid"
    shutil.copytree(INVALID, folder)
    manifest = folder / f"{case}.yaml"
    expected = _cli_lines(manifest)
    raw = manifest.read_bytes()
    with _client(folder, env) as client:
        try:
            response = client.post("/api/validate", json={"manifest": raw.decode("utf-8"), "filename": f"{case}.yaml"})
        except UnicodeDecodeError:   # not UTF-8: cannot travel in a JSON string, but can as the file itself
            response = client.post("/api/validate", content=raw, params={"filename": f"{case}.yaml"},
                                   headers={"content-type": "application/yaml"})
    body = _problem(response, 422)
    lines = [e["text"] for e in body["errors"]] if body.get("errors") else body["detail"].splitlines()
    assert [line.removeprefix("error: ") for line in expected] == lines
    assert not list(folder.glob(".validate-*")), "the temporary copy was left behind"


def test_validate_accepts_raw_yaml_and_reports_tables(client: TestClient, example: Path) -> None:
    text = (example / "ecommerce.yaml").read_text()
    response = client.post("/api/validate", content=text, headers={"content-type": "application/yaml"})
    assert response.status_code == 200, response.text
    assert response.json() == {"valid": True, "manifest_name": "ecommerce", "tables": 4, "files": 6,
                               "table_names": ["customers", "products", "orders", "order_items"]}
    response = client.post("/api/validate", json={"manifest": text.replace("mode: merge", "mode: upsert"),
                                                  "filename": "mine.yaml"})
    body = _problem(response, 422)
    assert body["errors"][0]["text"].startswith("mine.yaml:36:11: $.tables[2].mode: 'upsert' is not one of")


def test_validate_refuses_other_media_and_huge_bodies(client: TestClient) -> None:
    _problem(client.post("/api/validate", content=b"<xml/>", headers={"content-type": "application/xml"}), 415)
    _problem(client.post("/api/validate", content=b"x" * (1024 * 1024 + 1),
                         headers={"content-type": "application/yaml"}), 413)
    _problem(client.post("/api/validate", json={"yaml": "x"}), 422)


@pytest.mark.online   # the embedded Snowflake emulator's database on disk
def test_snowflake_load_runs_in_background_and_is_tracked(client: TestClient) -> None:
    # A form content type is what a cross-site page can post without asking: refused (docs/api.md).
    form = client.post("/api/experiments/ecommerce/load", content='{"target_warehouse":"snowflake"}',
                       headers={"content-type": "application/x-www-form-urlencoded"})
    _problem(form, 415)
    response = client.post("/api/experiments/ecommerce/load", json={"target_warehouse": "snowflake"})
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["status_url"] == f"/api/runs/{accepted['run_id']}"
    run = _wait(client, accepted["run_id"])
    assert run["status"] == "succeeded" and run["rows"] == 2274 and run["warehouse"] == "snowflake"
    assert {t["table_name"]: t["rows"] for t in run["tables"]} == {
        "customers": 200, "products": 50, "orders": 500, "order_items": 1524}
    assert run["progress"]["tables"]["order_items"]["rows"] == 1524 and run["tables_total"] == 4
    assert run["started_at"].endswith(("Z", "+00:00"))
    assert client.get(f"/api/runs/{accepted['run_id'][:8]}").json()["id"] == accepted["run_id"]
    runs = client.get("/api/runs").json()["runs"]
    assert [r["id"] for r in runs] == [accepted["run_id"]]
    experiments = client.get("/api/experiments").json()["experiments"]
    assert experiments[0]["last_run"]["id"] == accepted["run_id"]
    result = client.post("/api/query", json={"experiment": "ecommerce", "target_warehouse": "snowflake",
                                             "sql": "select iff(count(*) > 0, 'yes', 'no') as any, count(*) as n "
                                                    "from customers"})
    assert result.status_code == 200, result.text
    assert result.json()["rows"] == [["yes", 200]] and result.json()["translated_sql"] is None
    again = client.post("/api/experiments/ecommerce/load", json={"target_warehouse": "snowflake"}).json()
    assert _wait(client, again["run_id"])["status"] == "unchanged"


def test_snowflake_emulator_is_used_by_one_load_or_query_at_a_time(client: TestClient) -> None:
    service = client.app.state.service
    assert service.fakesnow_lock.acquire(blocking=False)
    try:
        body = _problem(client.post("/api/experiments/ecommerce/load", json={"target_warehouse": "snowflake"}), 409)
        assert "Snowflake emulator" in body["detail"]
    finally:
        service.fakesnow_lock.release()


def test_manifest_problems_are_answered_before_any_run(client: TestClient, example: Path) -> None:
    (example / "ecommerce.yaml").write_text((example / "ecommerce.yaml").read_text().replace("merge_keys", "mkeys"))
    body = _problem(client.post("/api/experiments/ecommerce/load", json={"target_warehouse": "snowflake"}), 422)
    assert body["title"] == "Invalid manifest" and body["errors"]
    assert client.get("/api/runs").json()["runs"] == []
    _problem(client.post("/api/experiments/ecommerce/load", json={"target_warehouse": "snowflake", "x": 1}), 422)


def test_runs_unknown_or_malformed_ids_are_404(client: TestClient) -> None:
    for run_id in ("0123456789abcdef", "nope", "../../etc"):
        _problem(client.get(f"/api/runs/{run_id}"), 404)
    _problem(client.get("/api/runs", params={"limit": 0}), 422)


@pytest.mark.online   # the embedded Snowflake emulator's database on disk
def test_query_needs_an_experiment_or_a_warehouse(client: TestClient) -> None:
    body = _problem(client.post("/api/query", json={"sql": "select 1"}), 422)
    assert "--target-warehouse" in body["detail"]
    body = _problem(client.post("/api/query", json={"sql": "select * from nowhere", "target_warehouse": "snowflake"}),
                    400)
    assert body["detail"].startswith("query failed:")


def test_redshift_load_progress_is_live_and_query_translates(example: Path, env: dict[str, str],
                                                             pg_database: str) -> None:
    env = {**env, "DW_SIMULATOR_REDSHIFT_URL": pg_database}
    with _client(example, env) as client, psycopg.connect(pg_database, autocommit=True) as blocker:
        # Hold the schema's apply lock so the run is caught mid-way: staged, waiting to load.
        blocker.execute("SELECT pg_advisory_lock(hashtextextended('manifest-loader:ecommerce', 0))")
        accepted = client.post("/api/experiments/ecommerce/load", json={"target_warehouse": "redshift"}).json()
        deadline = time.monotonic() + 60
        while True:
            run = client.get(f"/api/runs/{accepted['run_id']}").json()
            if run["progress"]["messages"]:
                break
            assert time.monotonic() < deadline, run
            time.sleep(0.1)
        assert run["status"] == "running" and run["progress"]["live"]
        assert run["progress"]["staged_bytes"] == run["progress"]["stage_bytes"] > 0
        assert set(run["progress"]["tables"]) == {"customers", "products", "orders", "order_items"}
        assert "another apply holds the lock" in run["progress"]["messages"][0]
        blocker.execute("SELECT pg_advisory_unlock(hashtextextended('manifest-loader:ecommerce', 0))")
        run = _wait(client, accepted["run_id"])
        assert run["status"] == "succeeded" and not run["progress"]["live"], run
        customers = run["progress"]["tables"]["customers"]
        assert customers["rows"] == customers["expected_rows"] == 200 and customers["files"] == 2
        assert customers["status"] == "loaded" and customers["bytes"] > 0 and customers["seconds"] >= 0
        response = client.post("/api/query", json={"experiment": "ecommerce",
                                                   "sql": "select getdate() is not null as now, nvl(null, 1) as one"})
        assert response.status_code == 200, response.text
        assert response.json()["rows"] == [[True, 1]]
        assert "redshift_compat.getdate()" in response.json()["translated_sql"]
        commits = client.post("/api/query", json={"experiment": "ecommerce", "sql": "select count(*), "
                                                  "sum(lines_scanned) from stl_load_commits"}).json()
        assert commits["rows"] == [[6, 2274]]
        body = _problem(client.post("/api/query", json={"experiment": "ecommerce",
                                                        "sql": "unload ('select 1') to 's3://b/x'"}), 422)
        assert body["detail"].startswith("UNLOAD is not emulated")


def test_no_secret_in_any_response(example: Path, env: dict[str, str]) -> None:
    env = {**env, "DW_SIMULATOR_REDSHIFT_URL": f"postgresql://loader:{SECRET}@127.0.0.1:1/dev",
           "AWS_SECRET_ACCESS_KEY": "aws-" + SECRET}
    seen = []
    with _client(example, env) as client:
        seen.append(client.get("/api/experiments/ecommerce/plan"))
        accepted = client.post("/api/experiments/ecommerce/load", json={})
        seen.append(accepted)
        assert accepted.status_code == 202, accepted.text
        run = _wait(client, accepted.json()["run_id"])
        assert run["status"] == "failed" and "cannot connect" in run["error"]
        seen.append(client.get(f"/api/runs/{run['id']}"))
        seen.append(client.get("/api/runs"))
        seen.append(client.get("/api/experiments"))
        seen.append(client.post("/api/query", json={"experiment": "ecommerce", "sql": "select 1"}))
        seen.append(client.get("/openapi.json"))
    assert seen[-2].status_code == 502
    for response in seen:
        assert SECRET not in response.text, response.request.url
    assert "postgresql://loader:***@127.0.0.1:1/dev" in seen[0].text


def test_progress_snapshot_follows_events() -> None:
    progress = ApiProgress(["a", "b"])
    progress.event("run_started", run_id="r1")
    progress.event("stage_start", files=2, bytes=300, stage="file:///x")
    progress.event("stage_file", table="a", bytes=100, uploaded=True)
    progress.event("table_start", table="a", rows=10, files=1)
    progress.event("table_rows", table="a", rows=4)
    snapshot = progress.snapshot()
    assert snapshot["live"] and snapshot["phase"] == "loading" and snapshot["rows"] == 4
    assert snapshot["tables"]["a"] == {"rows": 4, "bytes": 100, "status": "loading", "expected_rows": 10, "files": 1}
    assert snapshot["tables"]["b"] == {"rows": 0, "bytes": 0, "status": "pending"}
    progress.done(None)
    assert progress.snapshot()["phase"] == "finished" and not progress.snapshot()["live"]


def test_serve_on_a_port_in_use_is_a_one_line_error(tmp_path: Path) -> None:
    import socket

    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        result = CliRunner().invoke(main, ["serve", "--manifests-dir", str(tmp_path), "--port", str(port)])
    assert result.exit_code == 2, result.output
    assert f"error: cannot listen on 127.0.0.1:{port}: " in result.output
    assert "hint: another server uses that port? pass --port" in result.output
