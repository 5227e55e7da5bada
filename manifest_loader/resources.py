"""Find the files shipped with the package: templates and the JSON Schema.

In a wheel they sit inside the package; in a source checkout they sit at the repo root,
where reviewers look for them.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

_PACKAGE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """Directory `name` (templates or schemas), inside the package or at the checkout root."""
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"manifest-loader is installed without its {name}/ folder; reinstall it")


@cache
def manifest_schema() -> dict[str, Any]:
    """The manifest JSON Schema (Draft 2020-12)."""
    return json.loads((resource_dir("schemas") / "manifest.schema.json").read_text(encoding="utf-8"))
