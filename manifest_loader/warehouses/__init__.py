"""One module per kind of target connection; the target's registry record names the class to open."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..progress import Progress
    from ..target import Target
    from .base import Warehouse


def connect(target: Target, progress: Progress, lock_timeout: float, *, for_query: bool = False) -> Warehouse:
    """Open the target's connection (starting a managed emulator first); imports only the driver it needs.
    `for_query`: a connection for a user's SQL (Warehouse.open_for_query), sandboxed where the target
    is an emulator on this machine (the Redshift emulator sandboxes each query itself, pg_sandbox.py)."""
    from ..target import with_server

    target = with_server(target, lambda message: progress.event("message", message=message),
                         lock_timeout=lock_timeout)
    if for_query:
        return target.kind.connection_class().open_for_query(target, progress, lock_timeout)
    return target.kind.open(target, progress, lock_timeout)
