"""What `plan` reads from the target: the ledger of append and merge tables, and the tables that drifted.

Apart from apply.py, so that `plan` does not import the load (staging, execution, the run log):
the connection's modules are imported only when there is a target to read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .errors import LoaderError
from .target import Target, has_server

if TYPE_CHECKING:
    from .drift import TableDrift
    from .render import Renderer
    from .resolve import ResolvedManifest
    from .warehouses.base import Warehouse


@dataclass
class TargetReading:
    """What `plan` read from the target: the ledger (append/merge tables) and the tables that drifted."""

    held: dict[str, frozenset[str]] | None = None   # None: the ledger was not read
    drifts: dict[str, TableDrift] = field(default_factory=dict)
    note: str | None = None                         # why it was not read


def read_for_plan(target: Target, renderer: Renderer, resolved: ResolvedManifest) -> TargetReading:
    """The ledger (to mark held files of append/merge tables) and the existing tables' drift, for `plan`.

    Nothing is read when the target is not configured here (no URL); a note says why when it
    cannot be read; an embedded emulator whose database does not exist yet holds nothing (and is
    not created). Only reads, in a transaction that is rolled back.
    """
    tables = [t.name for t in resolved.tables if t.spec.mode in ("append", "merge")]
    empty = TargetReading({name: frozenset() for name in tables})
    if not has_server(target):
        return empty   # a managed emulator not made yet holds nothing
    if target.url is None and target.managed:
        from .localpg import LocalPostgres

        if LocalPostgres(target.state).running() is None:   # plan starts nothing
            return TargetReading(note="the managed Redshift emulator is not running, so its ledger and tables were "
                                      "not read and every file is listed (`manifest-loader emulator up` starts it)")
    elif target.url is None and target.is_emulator and not target.fakesnow_path.exists():
        return empty
    from .drift import compare_existing_tables
    from .ledger_read import read_ledger
    from .progress import Progress
    from .warehouses import connect

    connection: Warehouse | None = None
    try:
        connection = connect(target, Progress(), 5.0)
        loaded = read_ledger(connection, target, renderer)
        drifts = compare_existing_tables(connection, resolved, target, renderer)
    except LoaderError as exc:
        return TargetReading(note=f"the ledger was not read, so every file is listed: "
                                  f"{exc.message.splitlines()[0]} (existing tables were not compared with the "
                                  "manifest either)")
    finally:
        if connection is not None:
            connection.rollback()
            connection.close()
    return TargetReading({name: frozenset(loaded.get(name, set())) for name in tables}, drifts)


def read_target(target: Target, renderer: Renderer,
                resolved: ResolvedManifest) -> tuple[dict[str, set[str]], dict[str, TableDrift]]:
    """The ledger and the existing tables' drift, read in a transaction that is rolled back (`plan --out`)."""
    from .drift import compare_existing_tables
    from .ledger_read import read_ledger
    from .progress import Progress
    from .warehouses import connect

    connection = connect(target, Progress(), 60.0)
    try:
        return read_ledger(connection, target, renderer), compare_existing_tables(connection, resolved, target,
                                                                                  renderer)
    finally:
        connection.rollback()
        connection.close()
