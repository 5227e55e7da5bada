"""What apply reads from the target to decide whether anything changed: the ledger and row counts.

A re-apply with nothing to do waits on two things that do not need each other: listing the
sources (for S3: importing boto3, making its client, a LIST) and the target (importing the
driver, connecting, reading the ledger, and one COUNT(*) per loaded table, which the server
needs about 0.1 s per million rows for). The ledger and the row counts need only the manifest's
table names, so `EarlyRead` opens the connection and reads them in a thread while the caller
lists the sources, and hands both over when the caller gets to the load.

Where the target marks outside changes (registry `marks_outside_changes`: the Redshift emulator),
a table that carries the loader's trigger and has no mark has not been written since the loader
committed it, so it holds the rows the ledger recorded and is not counted: one catalog query
answers for every table. A marked table, or one without the trigger (loaded by an earlier
version, or the trigger dropped or disabled), is counted as before.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from .loader_tables import CHANGED_TABLE, LEDGER_TABLE, MARK_FUNCTION
from .progress import Progress
from .render import Renderer
from .target import Target
from .warehouses import connect
from .warehouses.base import Warehouse


def read_ledger(warehouse: Warehouse, target: Target, renderer: Renderer) -> dict[str, set[str]]:
    """Content hashes per table that the target's ledger says are loaded."""
    dialect = target.dialect
    if not warehouse.relation_exists(dialect.stored_name(target.schema), dialect.stored_name(LEDGER_TABLE)):
        return {}
    sql = renderer.render("ledger_select", schema=target.schema, table=LEDGER_TABLE).sql
    loaded: dict[str, set[str]] = {}
    for table_name, content_hash in warehouse.execute(sql):
        loaded.setdefault(table_name, set()).add(content_hash)
    return loaded


@dataclass
class LedgerReading:
    """The ledger, and for each table it lists, the rows it recorded and the rows the table holds."""

    loaded: dict[str, set[str]]
    recorded: dict[str, int] = field(default_factory=dict)
    held: dict[str, int] = field(default_factory=dict)   # 0 for a table that no longer exists


def read_ledger_and_rows(warehouse: Warehouse, target: Target, renderer: Renderer,
                         tables: Iterable[str]) -> LedgerReading:
    """The ledger, and the row counts of those of `tables` it has loaded (apply.changed_outside)."""
    loaded = read_ledger(warehouse, target, renderer)
    if not loaded:
        return LedgerReading(loaded)
    dialect = target.dialect
    sql = renderer.render("ledger_rows", schema=target.schema, table=LEDGER_TABLE).sql
    recorded = {name: int(rows or 0) for name, rows in warehouse.execute(sql)}
    held: dict[str, int] = {}
    unchanged = unmarked_tables(warehouse, target, renderer) if target.kind.marks_outside_changes else set()
    for name in tables:
        if name not in loaded or name not in recorded:
            continue
        if dialect.stored_name(name) in unchanged:
            held[name] = recorded[name]   # not written since the loader committed it
            continue
        exists = warehouse.relation_exists(dialect.stored_name(target.schema), dialect.stored_name(name))
        held[name] = int(warehouse.execute(renderer.render("count_rows", schema=target.schema, table=name).sql)
                         [0][0]) if exists else 0
    return LedgerReading(loaded, recorded, held)


def unmarked_tables(warehouse: Warehouse, target: Target, renderer: Renderer) -> set[str]:
    """The schema's tables (as stored) that carry the loader's trigger and no mark of a change."""
    dialect = target.dialect
    schema = dialect.stored_name(target.schema)
    if not warehouse.relation_exists(schema, dialect.stored_name(CHANGED_TABLE)):
        return set()   # loaded by a version without marks: every table is counted
    rendered = renderer.render("changed_unmarked", schema=target.schema, table=CHANGED_TABLE)
    values = {"schema_name": schema, "trigger_name": dialect.stored_name(CHANGED_TABLE),
              "function_name": dialect.stored_name(MARK_FUNCTION)}
    return {str(name) for (name,) in warehouse.execute(rendered.sql, values, rendered.param_names)}


class EarlyRead:
    """`connect` and `read_ledger_and_rows` (with `counts=False`, the ledger only) in a thread.

    `result()` gives the open connection and the reading, or raises what opening or reading
    raised, so the caller meets a failure where it would have connected itself. `discard()` is
    for a caller that stopped before the load: it does not wait (a server that does not answer
    would hold up the caller's own error), and whatever the thread opened is closed once it has.
    The thread is a daemon, so an interrupted apply does not wait for a COUNT(*) to end before
    the process exits (the server rolls the read-only transaction back when the connection drops).
    """

    def __init__(self, target: Target, renderer: Renderer, tables: Iterable[str], progress: Progress,
                 lock_timeout: float, *, counts: bool = True):
        self._connection: Warehouse | None = None
        self._reading: LedgerReading | None = None
        self._error: BaseException | None = None
        self._lock = threading.Lock()
        self._done = self._discarded = False
        names = tuple(tables)

        def run() -> None:
            try:
                self._connection = connect(target, progress, lock_timeout)
                self._reading = read_ledger_and_rows(self._connection, target, renderer, names) if counts \
                    else LedgerReading(read_ledger(self._connection, target, renderer))
            except BaseException as exc:   # handed to the caller's thread by result()
                self._error = exc
            finally:
                with self._lock:
                    self._done = True
                    if self._discarded or self._error is not None:
                        self._close()

        self._thread = threading.Thread(target=run, name="manifest-loader-ledger", daemon=True)
        self._thread.start()

    def result(self) -> tuple[Warehouse, LedgerReading]:
        self._thread.join()
        if self._error is not None:
            raise self._error
        with self._lock:   # the caller owns the connection from here on: discard() leaves it alone
            connection, self._connection = self._connection, None
        assert connection is not None and self._reading is not None
        return connection, self._reading

    def discard(self) -> None:
        with self._lock:
            self._discarded = True
            if self._done:
                self._close()

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.rollback()
            self._connection.close()
            self._connection = None
