"""Let a load read each staged object as soon as it is staged, while staging goes on.

Where the loader itself streams the staged objects into the warehouse (the Redshift emulator:
fetch.py reads them for COPY FROM STDIN), the load need not wait for the whole stage: apply.py
opens the transaction while stage.py's threads are still putting files, and the reader waits,
object by object, for the one it is about to read. Where the warehouse's COPY reads the stage
itself, staging ends before the load starts and no gate is set, so `wait_staged` returns at once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar

# Set for the load of one apply; the reader's threads run in copies of its context (read_ahead.py,
# run_events.submit), so they see it and another apply's load does not.
_GATE: ContextVar[Callable[[str], None] | None] = ContextVar("manifest_loader_staged_gate", default=None)


@contextlib.contextmanager
def staged_gate(wait: Callable[[str], None]) -> Iterator[None]:
    """While inside, `wait_staged(uri)` calls `wait(uri)`."""
    token = _GATE.set(wait)
    try:
        yield
    finally:
        _GATE.reset(token)


def wait_staged(uri: str) -> None:
    """Return once the staged object the load reads at `uri` is in place; raises the error its
    staging ended with (the load then rolls back)."""
    wait = _GATE.get()
    if wait is not None:
        wait(uri)
