"""Run a plan's steps against a warehouse connection, inside the dialect's transaction policy.

DDL steps that cannot sit in a transaction (Snowflake) run first, each committing on its own;
then every transactional step runs in one transaction that commits only if every copy,
check and ledger insert succeeded. Any failure rolls the transaction back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .dialects import get_dialect
from .errors import ConstraintViolation, LoadFailed
from .plan import MERGE_ONCE, PRIMARY_KEY, Check, Plan, Step, not_null_hint, widen_hint
from .progress import Progress
from .testhook import pause_point
from .warehouses.base import Warehouse


@dataclass
class TableOutcome:
    table: str
    mode: str
    files: int = 0
    rows: int = 0
    bytes: int = 0
    seconds: float = 0.0
    status: str = "unchanged"


@dataclass
class Execution:
    plan: Plan
    warehouse: Warehouse
    run_id: str
    progress: Progress
    # Called right after the lock is taken: raises if another apply changed the ledger meanwhile.
    after_lock: Callable[[], None] = lambda: None
    # staged key -> S3 VersionId, filled in by staging as each object is written.
    versions: Mapping[str, str] = field(default_factory=dict)
    # Waits for staging still going on (staged_gate.py), raising its failure. Called once: before
    # the ledger records the staged objects (their versions are known only once they are written,
    # and a load that streams may end first), else before the commit.
    staging_done: Callable[[], object] = lambda: None
    outcomes: dict[str, TableOutcome] = field(default_factory=dict)
    _staged: bool = field(default=False, init=False)

    def run(self) -> dict[str, TableOutcome]:
        self.outcomes = {t.name: TableOutcome(t.name, t.mode) for t in self.plan.tables}
        undo: list[str] = []   # DDL that committed on its own, taken back if the load fails
        began = False
        try:
            for step in self.plan.steps:
                if not step.transactional and not step.after_commit:
                    existed = step.undo_when == "created" and self._exists(step.undo_table)
                    self._step(step)
                    if step.undo_sql and not existed:
                        undo.append(step.undo_sql)
            self.warehouse.begin()
            began = True
            steps = self.plan.transaction_steps
            if not any(step.action == "lock" for step in steps):
                self.after_lock()   # serialized outside the transaction (e.g. the emulator's file lock)
            for step in steps:
                self._step(step)
                if step.action == "lock":
                    self.after_lock()
            self._wait_for_staging()
            pause_point("commit")
            self.warehouse.commit()
        except BaseException:
            if began:
                self.warehouse.rollback()
            self._undo(undo)
            raise
        pause_point("committed")
        for step in self.plan.steps:
            if step.after_commit:
                self._step(step)
        return self.outcomes

    def _exists(self, table: str) -> bool:
        dialect = get_dialect(self.plan.dialect)
        return self.warehouse.relation_exists(dialect.stored_name(self.plan.schema), dialect.stored_name(table))

    def _undo(self, statements: list[str]) -> None:
        """A failed first apply leaves no table it created (DDL committed before the load failed)."""
        for sql in reversed(statements):
            try:
                self.warehouse.execute(sql)
            except Exception as exc:   # noqa: BLE001 - the load's own error is the one to report
                self.progress.event("message", message=f"could not take back {sql.split(chr(10))[0]}: {exc}")

    def _step(self, step: Step) -> None:
        pause_point(step.template.rsplit("/", 1)[-1].removesuffix(".sql.j2"), step.action)
        if step.action == "lock":
            self.warehouse.lock(step)
        elif step.action == "copy":
            self._copy(step)
        elif step.action == "check":
            self._check(step)
        elif step.action == "ledger":
            rows: Sequence[Mapping[str, Any]] = step.params
            if "run_id" in step.param_names:   # ledger_insert: this run and the versions it staged
                self._wait_for_staging()
                rows = [{**row, "run_id": self.run_id, "staged_version": self.versions.get(row["staged_key"])}
                        for row in rows]
            self.warehouse.execute_many(step.sql, rows, step.param_names)
        else:
            params = step.params[0] if step.params else None
            self.warehouse.execute(step.sql, params, step.param_names)

    def _wait_for_staging(self) -> None:
        if not self._staged:
            self._staged = True
            self.staging_done()

    def _copy(self, step: Step) -> None:
        table = step.table or ""
        expected = sum(f.source.rows for f in step.files)
        outcome = self.outcomes[table]
        self.progress.event("table_start", table=table, rows=expected, files=len(step.files))
        started = time.monotonic()
        last = [0.0]

        def on_rows(rows: int) -> None:
            now = time.monotonic()
            if now - last[0] >= 0.2 or rows == expected:
                last[0] = now
                self.progress.event("table_rows", table=table, rows=rows)

        loaded = self.warehouse.copy(step, on_rows)
        if loaded != expected:
            raise LoadFailed(f"table {table}: loaded {loaded} rows but the Parquet footers of "
                             f"{', '.join(f.source.display for f in step.files)} say {expected}",
                             hint="a file changed while loading, or the warehouse skipped rows; apply again")
        outcome.files, outcome.rows = len(step.files), loaded
        outcome.bytes = sum(f.source.size for f in step.files)
        outcome.seconds = time.monotonic() - started
        outcome.status = "loaded"
        self.progress.event("table_done", table=table, rows=loaded, seconds=outcome.seconds)

    def _check(self, step: Step) -> None:
        rows = self.warehouse.execute(step.sql, step.params[0] if step.params else None, step.param_names)
        violations, sample = (int(rows[0][0] or 0), rows[0][1]) if rows else (0, None)
        longest = int(rows[0][2]) if rows and len(rows[0]) > 2 and rows[0][2] is not None else None
        if violations and step.check is not None:
            raise violation(step.check, violations, sample, self.plan, longest)


def violation(check: Check, count: int, sample: Any, plan: Plan, longest: int | None = None) -> ConstraintViolation:
    """A message that names the table, the constraint, a sample value and the files (and the way out:
    `longest`, the longest value of a VARCHAR(n) column, names the type that holds them all)."""
    table = next((t for t in plan.tables if t.name == check.table), None)
    files = ", ".join(f.source.display for f in table.files) if table else "?"
    columns = ", ".join(check.columns)
    unit = get_dialect(plan.dialect).varchar_counts
    shown = f"{str(sample)[:60]!r}" if sample is not None else None
    rows = f"{count} row{'s' if count != 1 else ''}"
    messages: Mapping[str, str] = {
        "not_null": f"table {check.table}: column {columns} is declared NOT NULL but {rows} are NULL",
        "primary_key": f"table {check.table}: primary key ({columns}) has {count} duplicated "
                       f"value{'s' if count != 1 else ''}, e.g. {shown}",
        "merge_keys": f"table {check.table}: the incoming files repeat merge key ({columns}) "
                      f"{count} time{'s' if count != 1 else ''}, e.g. {shown}",
        "foreign_key": f"table {check.table}: {rows} have ({columns}) values missing from {check.detail}, "
                       f"e.g. {shown}",
        "varchar_length": f"table {check.table}: column {columns} has {rows} longer than its "
                          f"VARCHAR({check.detail}) ({unit}), "
                          f"e.g. {shown}",
    }
    hint = f"fix the data in {files}, or turn the check off with checks: {{{_check_key(check.kind)}: false}}"
    if check.kind == "not_null":
        hint = not_null_hint(files, columns, check.detail == PRIMARY_KEY)
    if check.kind == "varchar_length":
        hint = widen_hint(files, columns, longest)
    if check.kind == "merge_keys":
        # No setting turns this one off: MERGE with a repeated key has no one right answer.
        hint = f"fix the data in {files}: {MERGE_ONCE}"
    return ConstraintViolation(f"{messages[check.kind]} (files: {files}); nothing was loaded", hint=hint)


def _check_key(kind: str) -> str:
    return {"foreign_key": "foreign_keys"}.get(kind, kind)
