"""One module per kind of target connection; `connect()` picks it from the target's dialect."""

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
    name = target.dialect.name
    if name == "postgres":
        from .postgres import PostgresWarehouse

        return PostgresWarehouse.open(target, progress, lock_timeout)
    if name == "fakesnow":
        from .fakesnow import FakesnowWarehouse

        return FakesnowWarehouse.open(target, progress, lock_timeout)
    from .sqlalchemy_warehouse import SqlAlchemyWarehouse

    return SqlAlchemyWarehouse.open(target, progress, lock_timeout)
