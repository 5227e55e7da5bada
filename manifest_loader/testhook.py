"""A pause point for crash tests: env-only, does nothing unless the variable is set.

`MANIFEST_LOADER_TEST_PAUSE_AT=copy,commit` makes apply stop at those points (a step's template
operation such as `create_table`, `copy`, `check_unique`, `ledger_insert`; its action `sql`,
`copy`, `check`, `ledger`, `lock`; or `stage`, `commit`, `committed`), print
`manifest-loader: paused at <point>` on stderr and sleep `MANIFEST_LOADER_TEST_PAUSE_SECONDS`
(default 60), so a test can kill the process at a known moment (tests/reliability/).
"""

from __future__ import annotations

import os
import sys
import time

PAUSE_ENV = "MANIFEST_LOADER_TEST_PAUSE_AT"
SECONDS_ENV = "MANIFEST_LOADER_TEST_PAUSE_SECONDS"


def pause_point(*names: str) -> None:
    wanted = os.environ.get(PAUSE_ENV)
    if not wanted:
        return
    hit = next((n for n in names if n in wanted.split(",")), None)
    if hit is not None:
        print(f"manifest-loader: paused at {hit}", file=sys.stderr, flush=True)
        time.sleep(float(os.environ.get(SECONDS_ENV, "60")))
