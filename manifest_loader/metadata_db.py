"""Where the metadata database of load runs is, and the clock its rows use.

Shared by runs.py (SQLAlchemy, every reader) and run_log.py (apply's sqlite3 writes), so neither
imports the other for them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

METADATA_ENV = "DW_SIMULATOR_TARGET_DB_URL"


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def metadata_url(state: Path, env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    if env.get(METADATA_ENV):
        return env[METADATA_ENV]
    return f"sqlite:///{state / 'metadata.sqlite'}"
