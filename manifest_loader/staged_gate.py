"""Let a load read each staged object as soon as it is staged, or as it is being staged.

Where the loader itself streams the staged objects into the warehouse (the Redshift emulator:
fetch.py reads them for COPY FROM STDIN), the load need not wait for the whole stage: apply.py
opens the transaction while stage.py's threads are still putting files, and the reader asks,
object by object, for the one it is about to read:

* a file:// object copied from a local file is readable while it is copied (`staged_copy`): the
  copy writes the file's footer first, then its bytes in order, and the reader reads each row
  group once its bytes are in; what it reads is what was hashed and checked against the plan;
* an object that S3 copies from an S3 source (server-side) is read from that source, of the
  planned version (If-Match on its ETag: the bytes the copy is making), while the copy is made
  (`staged_source`);
* any other object is waited for (`wait_staged`).

Staging is finished and checked before the load commits (execute.py's staging_done), so an
object whose staging fails (a file changed since planning, S3 gone) fails the load, and nothing
is loaded. Where the warehouse's COPY reads the stage itself, staging ends before the load
starts and no gate is set: `wait_staged` returns at once and the others answer None.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .fetch import LocalCopy


class Gate(Protocol):
    def ready(self, uri: str) -> None: ...

    def staged_copy(self, uri: str) -> LocalCopy | None: ...

    def staged_source(self, uri: str) -> tuple[str, str] | None: ...


# Set for the load of one apply; the reader's threads run in copies of its context (read_ahead.py,
# run_events.submit), so they see it and another apply's load does not.
_GATE: ContextVar[Gate | None] = ContextVar("manifest_loader_staged_gate", default=None)


@contextlib.contextmanager
def staged_gate(gate: Gate) -> Iterator[None]:
    """While inside, the functions below ask `gate` (stage.Staging)."""
    token = _GATE.set(gate)
    try:
        yield
    finally:
        _GATE.reset(token)


def wait_staged(uri: str) -> None:
    """Return once the staged object the load reads at `uri` is in place; raises the error its
    staging ended with (the load then rolls back)."""
    gate = _GATE.get()
    if gate is not None:
        gate.ready(uri)


def staged_copy(uri: str) -> LocalCopy | None:
    """The file:// object at `uri` as it is being copied (read it through LocalCopy.wait_for), or
    None: then wait_staged and read it in place."""
    gate = _GATE.get()
    return gate.staged_copy(uri) if gate is not None else None


def staged_source(uri: str) -> tuple[str, str] | None:
    """(S3 source URI, ETag) to read instead of the staged object at `uri` while S3 copies it, or
    None: then wait_staged and read the staged object."""
    gate = _GATE.get()
    return gate.staged_source(uri) if gate is not None else None
