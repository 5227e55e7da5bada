"""Writing one file of a cache in the state folder: whole or not at all, and never an error.

The footer cache, the render cache and the schema memo keep what a command found for the next
one. A reader must never see half a file (a concurrent command, a killed one), so the body goes
to a temporary name of this process and is renamed over the old file. A folder that cannot be
written only costs the next command the work again, so the failure is swallowed.
"""

from __future__ import annotations

import os
from pathlib import Path


def write_cache_file(path: Path, body: bytes) -> None:
    """Replace `path` with `body` atomically; do nothing when the folder cannot be written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        temporary.write_bytes(body)
        temporary.replace(path)
    except OSError:
        pass   # a cache that cannot be written only costs time
