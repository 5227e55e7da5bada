"""Where a project's embedded state lives: the file stage, the fakesnow database, the metadata DB, caches.

The state belongs to the manifest's project, not to the shell's current folder, so
`apply dw/shop.yaml` from the parent and `query shop.yaml` from `dw/` see the same emulator.
The rule, first match wins:

1. `MANIFEST_LOADER_STATE_DIR`, when set;
2. the nearest `.manifest-loader/` folder, looking up from the manifest's folder (never above
   the repository root, the first folder holding `.git`);
3. `.manifest-loader/` at that repository root;
4. `.manifest-loader/` next to the manifest, when it is in no repository.

Commands without a manifest (`status`, `query --target-warehouse …`) start from the current
folder instead. `state_location` is the one answer to "where is the state folder"; everything
that keeps something on disk for a project asks it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

STATE_ENV = "MANIFEST_LOADER_STATE_DIR"
STATE_FOLDER = ".manifest-loader"


@dataclass(frozen=True)
class StateLocation:
    path: Path
    reason: str   # why this folder, for `status`: which rule chose it

    def __str__(self) -> str:
        return f"{self.path} ({self.reason})"


def state_location(env: Mapping[str, str] | None = None, start: str | Path | None = None) -> StateLocation:
    """The state folder for the project of `start` (a manifest file or a folder; default the current folder)."""
    env = os.environ if env is None else env
    if env.get(STATE_ENV):
        return StateLocation(Path(env[STATE_ENV]).absolute(), f"set by {STATE_ENV}")
    origin = Path(start).absolute() if start is not None else Path.cwd()
    if start is not None and not origin.is_dir():
        origin = origin.parent
    shown = "the current folder" if start is None else str(origin)
    for folder in (origin, *origin.parents):
        if (folder / STATE_FOLDER).is_dir():
            return StateLocation(folder / STATE_FOLDER, f"the nearest {STATE_FOLDER}/ above {shown}")
        if (folder / ".git").exists():
            return StateLocation(folder / STATE_FOLDER, f"the root of the repository holding {shown}")
    return StateLocation(origin / STATE_FOLDER, f"next to {shown}, which is in no repository")


def state_dir(env: Mapping[str, str] | None = None, start: str | Path | None = None) -> Path:
    """The state folder itself (see `state_location`)."""
    return state_location(env, start).path
