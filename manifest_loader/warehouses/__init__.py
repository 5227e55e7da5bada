"""One module per kind of target connection; the target's registry record names the class to open."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..progress import Progress
    from ..target import Target
    from .base import Warehouse


def connect(target: Target, progress: Progress, lock_timeout: float) -> Warehouse:
    """Open the target's connection; imports only the driver this target needs."""
    from ..target import require_url

    require_url(target)
    return target.kind.open(target, progress, lock_timeout)
