"""The repository's pre-commit hooks: ruff, mypy and the manifest schema check, run as .ci/run runs them."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _hooks() -> dict[str, dict[str, object]]:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    return {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}


def test_hooks_cover_ruff_mypy_and_the_manifest_schema() -> None:
    hooks = _hooks()
    assert {"ruff", "mypy", "manifest-schema"} <= hooks.keys()
    assert hooks["mypy"]["pass_filenames"] is False


def test_the_manifest_schema_hook_accepts_the_examples_and_refuses_a_bad_manifest(tmp_path: Path) -> None:
    hook = _hooks()["manifest-schema"]
    files = [p for p in sorted((ROOT / "manifests").iterdir()) if re.search(str(hook["files"]),
                                                                              str(p.relative_to(ROOT)))]
    assert files, "the hook's pattern matches no example manifest"
    command = shlex.split(str(hook["entry"]))
    command[0] = str(Path(sys.executable).parent / command[0])
    good = subprocess.run([*command, *map(str, files)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert good.returncode == 0, good.stdout + good.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nname: bad\ntarget: {warehouse: oracle}\ntables: []\n", encoding="utf-8")
    refused = subprocess.run([*command, str(bad)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1 and "oracle" in refused.stdout + refused.stderr
