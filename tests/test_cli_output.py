"""What the CLI writes: `apply --json` is a JSON stream to its last line, a closed pipe never changes a
load's outcome, "No changes" is said once, `status RUN_ID` shows a whole error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from loadkit import ROOT, count

from manifest_loader.cli import main
from manifest_loader.progress import FINAL_EVENTS
from manifest_loader.runs import RunStore, metadata_url

REFUSED_URL = "postgresql://loader:pw-Secret-42@127.0.0.1:1/dev"   # nothing listens on port 1


def cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DW_SIMULATOR_")}
    return {**env, "PYTHONPATH": str(ROOT), "MANIFEST_LOADER_STATE_DIR": str(tmp_path / "state"), "CI": "true",
            **extra}


def json_stream(done: Any) -> list[dict[str, Any]]:
    """Every line of both streams, each a JSON object; exactly one final event, the last line."""
    assert done.stdout == "", done.stdout
    events = []
    for line in done.stderr.splitlines():
        event = json.loads(line)   # anything that is not JSON fails here
        assert isinstance(event, dict) and "event" in event, line
        events.append(event)
    finals = [e for e in events if e["event"] in FINAL_EVENTS]
    assert len(finals) == 1 and events[-1] is finals[0], done.stderr
    assert {"run_id", "rows"} <= set(finals[0])
    return events


# -- apply --json ---------------------------------------------------------------------------------------


@pytest.mark.online   # the embedded Snowflake emulator's database, or a subprocess
def test_apply_json_ends_with_the_outcome_on_success_and_on_no_changes(workspace: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["apply", str(workspace), "--target-warehouse", "snowflake", "--json"]

    loaded = runner.invoke(main, args)
    assert loaded.exit_code == 0, loaded.output
    events = json_stream(loaded)
    final = events[-1]
    assert final["event"] == "run_succeeded" and final["rows"] == 2274
    assert final["run_id"] == events[0]["run_id"] and events[0]["event"] == "run_started"
    assert {t["table"]: t["rows"] for t in final["tables"]} == {"customers": 200, "products": 50, "orders": 500,
                                                               "order_items": 1524}

    again = runner.invoke(main, args)
    assert again.exit_code == 0, again.output
    final = json_stream(again)[-1]
    assert final["event"] == "unchanged" and final["rows"] == 0 and final["run_id"] != events[0]["run_id"]
    runs = RunStore(metadata_url(tmp_path / "state")).list()
    assert [(r["id"], r["status"]) for r in runs] == [(final["run_id"], "unchanged"),
                                                     (events[0]["run_id"], "succeeded")]

    # Said once in text too: "No changes" on stdout, nothing about it on stderr.
    text = runner.invoke(main, [*args[:-1], "--progress", "log"])
    assert text.exit_code == 0 and text.output.lower().count("no changes") == 1, text.output
    assert text.stdout.startswith("No changes: ")


@pytest.mark.parametrize(("case", "args", "exit_code", "error"), [
    ("usage", ["--target-warehouse", "snowfake"], 2, "Invalid value for '--target-warehouse'"),
    ("not a redshift url", [], 2, "which is not a redshift URL"),
    ("connection", [], 1, "cannot connect to the Redshift emulator"),
    ("manifest", ["--progress", "json"], 2, "problem(s) in the manifest"),
])
def test_apply_json_ends_with_run_failed_on_every_failure(case: str, args: list[str], exit_code: int, error: str,
                                                          workspace: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = workspace
    if case == "manifest":
        manifest = workspace.with_name("broken.yaml")
        manifest.write_text(workspace.read_text(encoding="utf-8").replace("mode: replace", "mode: upsert"),
                            encoding="utf-8")
    if case == "connection":
        monkeypatch.setenv("DW_SIMULATOR_REDSHIFT_URL", REFUSED_URL)
    if case == "not a redshift url":
        monkeypatch.setenv("DW_SIMULATOR_REDSHIFT_URL", "mysql://loader:pw-Secret-42@127.0.0.1/dev")
    flags = args if "--progress" in args else ["--json", *args]
    done = CliRunner().invoke(main, ["apply", str(manifest), *flags])
    assert done.exit_code == exit_code, done.output
    final = json_stream(done)[-1]
    assert final["event"] == "run_failed" and final["exit_code"] == exit_code and final["rows"] == 0
    assert error in final["error"] and "pw-Secret-42" not in done.output
    if case == "connection":   # recorded before connecting: the event names the run, which says failed
        assert final["run_id"] and final["hint"]
        (run,) = RunStore(metadata_url(tmp_path / "state")).list()
        assert run["id"] == final["run_id"] and run["status"] == "failed"
    else:
        assert final["run_id"] is None
    if case == "manifest":
        assert any("'upsert' is not one of" in p for p in final["problems"])


# -- a closed pipe ----------------------------------------------------------------------------------------


@pytest.mark.online   # the embedded Snowflake emulator's database, or a subprocess
def test_a_closed_pipe_never_changes_the_outcome_of_a_load(workspace: Path, tmp_path: Path) -> None:
    """`apply m.yaml --progress log 2>&1 | head -1`: the load completes, is recorded, and exits 0."""
    process = subprocess.Popen(
        [sys.executable, "-m", "manifest_loader.cli", "apply", str(workspace), "--target-warehouse", "snowflake",
         "--progress", "log"], env=cli_env(tmp_path), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert process.stdout is not None
    first = process.stdout.readline()
    process.stdout.close()   # what `head -1` does after its line
    assert process.wait(timeout=240) == 0
    assert first.startswith(b"staging")
    (run,) = RunStore(metadata_url(tmp_path / "state")).list()
    assert run["status"] == "succeeded" and run["rows"] == 2274 and run["error"] is None
    assert count(workspace, "order_items", "snowflake") == 1524


@pytest.mark.online   # the embedded Snowflake emulator's database, or a subprocess
def test_a_closed_pipe_leaves_a_failed_load_failed_for_its_own_reason(workspace: Path, tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "manifest_loader.cli", "apply", str(workspace), "--json"],
        env=cli_env(tmp_path, DW_SIMULATOR_REDSHIFT_URL=REFUSED_URL), cwd=tmp_path,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert process.stdout is not None
    process.stdout.close()
    assert process.wait(timeout=240) == 1
    (run,) = RunStore(metadata_url(tmp_path / "state")).list()
    assert run["status"] == "failed" and "cannot connect" in run["error"] and "BrokenPipe" not in run["error"]


# -- text output ----------------------------------------------------------------------------------------


def test_status_of_one_run_shows_the_whole_error_and_its_hint(workspace: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DW_SIMULATOR_REDSHIFT_URL", REFUSED_URL)
    runner = CliRunner()
    failed = runner.invoke(main, ["apply", str(workspace), "--progress", "none"])
    assert failed.exit_code == 1
    message = failed.stderr.removeprefix("error: ").strip()
    first_line, hint = message.splitlines()[0], message.splitlines()[-1].strip()
    assert len(first_line) > 60 and hint.startswith("hint: ")

    listing = runner.invoke(main, ["status"])
    assert first_line[:59] + "…" in listing.output and first_line not in listing.output
    assert "`manifest-loader status RUN_ID` shows the whole message and hint" in listing.output
    run_id = RunStore(metadata_url(Path(os.environ["MANIFEST_LOADER_STATE_DIR"]))).list()[0]["id"]
    detail = runner.invoke(main, ["status", run_id[:8]])
    assert detail.exit_code == 0
    assert first_line in detail.output and hint in detail.output
