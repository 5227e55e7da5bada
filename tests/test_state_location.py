"""The embedded state belongs to the manifest's project, not to the shell's current folder (state.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from loadkit import ROOT

from manifest_loader.cli import main
from manifest_loader.state import STATE_ENV, state_location

LOADER_VARIABLES = (STATE_ENV, "DW_SIMULATOR_REDSHIFT_URL", "DW_SIMULATOR_SNOWFLAKE_URL",
                    "DW_SIMULATOR_STAGE_BUCKET", "DW_SIMULATOR_TARGET_DB_URL")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository (`.git`) with the example manifest one folder down, in dw/; no loader variable set."""
    for name in LOADER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    shutil.copytree(ROOT / "manifests" / "data" / "ecommerce", root / "dw" / "data" / "ecommerce")
    shutil.copy(ROOT / "manifests" / "ecommerce.yaml", root / "dw" / "shop.yaml")
    return root


@pytest.mark.online   # the embedded Snowflake emulator's database on disk
def test_apply_from_the_parent_and_query_from_the_manifests_folder_see_the_same_data(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    monkeypatch.chdir(project.parent)   # outside the repository: the shell's folder must not matter
    applied = runner.invoke(main, ["apply", "repo/dw/shop.yaml", "--target-warehouse", "snowflake", "--no-progress"])
    assert applied.exit_code == 0, applied.output
    assert (project / ".manifest-loader" / "fakesnow").is_dir()
    assert not (project.parent / ".manifest-loader").exists() and not (project / "dw" / ".manifest-loader").exists()

    monkeypatch.chdir(project / "dw")
    queried = runner.invoke(main, ["query", "shop.yaml", "select count(*) as n from orders",
                                   "--target-warehouse", "snowflake", "--format", "csv"])
    assert queried.exit_code == 0, queried.output
    assert queried.output.splitlines()[1:] == ["500"]

    # `status` from the manifest's folder lists the run, and says where the state is and why.
    shown = runner.invoke(main, ["status"])
    assert shown.exit_code == 0, shown.output
    assert "succeeded" in shown.output
    assert f"state folder: {project / '.manifest-loader'} (the nearest .manifest-loader/ above" in shown.output
    by_file = runner.invoke(main, ["status", "shop.yaml"])
    assert "succeeded" in by_file.output and str(project / ".manifest-loader") in by_file.output


def test_the_nearest_state_folder_wins_and_the_variable_wins_over_it(project: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = project / "dw" / "shop.yaml"
    monkeypatch.chdir(tmp_path)
    found = state_location(start=manifest)
    assert found.path == project / ".manifest-loader" and "root of the repository" in found.reason

    (project / "dw" / ".manifest-loader").mkdir()
    assert state_location(start=manifest).path == project / "dw" / ".manifest-loader"
    # A state folder above the repository is not the project's.
    (project / "dw" / ".manifest-loader").rmdir()
    (tmp_path / ".manifest-loader").mkdir()
    assert state_location(start=manifest).path == project / ".manifest-loader"

    monkeypatch.setenv(STATE_ENV, str(tmp_path / "elsewhere"))
    chosen = state_location(start=manifest)
    assert chosen.path == tmp_path / "elsewhere" and STATE_ENV in chosen.reason
    shown = CliRunner().invoke(main, ["status"])
    assert f"state folder: {tmp_path / 'elsewhere'} (set by {STATE_ENV})" in shown.output


def test_outside_any_repository_the_state_sits_next_to_the_manifest(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(STATE_ENV, raising=False)
    folder = tmp_path / "loose" / "dw"
    folder.mkdir(parents=True)
    found = state_location(start=folder / "shop.yaml")
    # Unless a .manifest-loader/ further up claims it (tmp_path's parents hold none of their own here).
    if not any((p / ".manifest-loader").is_dir() or (p / ".git").exists() for p in folder.parents):
        assert found.path == folder / ".manifest-loader" and "in no repository" in found.reason
