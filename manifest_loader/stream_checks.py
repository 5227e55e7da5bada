"""NOT NULL and VARCHAR(n) length checks made on each Arrow batch as the loader streams it.

On the Redshift emulator every row passes through the loader on its way into COPY FROM STDIN,
so these per-value checks cost one vectorised kernel per batch instead of a query that scans
the loaded table once per column. The first batch that breaks a check stops the load (the
transaction then rolls back) with the table, column, file and a sample value named.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from .errors import ConstraintViolation
from .plan import Check


@dataclass(frozen=True)
class _Rule:
    check: Check
    field: str          # the column's name in the batches (as the warehouse stores it)
    limit: int = 0      # varchar_length: the declared length


class BatchChecker:
    def __init__(self, checks: Iterable[Check], stored_name: Callable[[str], str], counts_bytes: bool):
        self.rules = [_Rule(c, stored_name(c.columns[0]), int(c.detail or 0)) for c in checks]
        self.counts_bytes = counts_bytes

    def __bool__(self) -> bool:
        return bool(self.rules)

    def checked(self, batches: Iterable[pa.RecordBatch], current_file: Callable[[], str]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for rule in self.rules:
                self._check(rule, batch.column(rule.field), current_file)
            yield batch

    def _check(self, rule: _Rule, column: pa.Array, current_file: Callable[[], str]) -> None:
        check = rule.check
        if check.kind == "not_null":
            if column.null_count:
                which = (f"a row of {current_file()} is NULL" if column.null_count == 1 else
                         f"{_rows(column.null_count)} of {current_file()} are NULL{_FIRST_BATCH}")
                raise ConstraintViolation(
                    f"table {check.table}: column {check.columns[0]} is declared NOT NULL but {which}; "
                    "nothing was loaded",
                    hint=f"fix the data in {current_file()}, make the column nullable, or turn the check off "
                         "with checks: {not_null: false}")
            return
        lengths = pc.binary_length(column) if self.counts_bytes else pc.utf8_length(column)
        over = pc.greater(lengths, rule.limit)
        count = pc.sum(over).as_py() or 0
        if count:
            sample = column.filter(over)[0].as_py()
            unit = "bytes" if self.counts_bytes else "characters"
            raise ConstraintViolation(
                f"table {check.table}: column {check.columns[0]} has {_rows(count)} longer than its "
                f"VARCHAR({rule.limit}) ({unit}) in {current_file()}{_FIRST_BATCH if count > 1 else ''}, "
                f"e.g. {str(sample)[:40]!r}; nothing was loaded",
                hint=f"fix the data in {current_file()}, widen the column's type override, or turn the check "
                     "off with checks: {varchar_length: false}")


# The load stops at the first batch that breaks a check, so a count covers that batch only.
_FIRST_BATCH = " (counted in the first batch that has any)"


def _rows(count: int) -> str:
    return f"{count} row{'s' if count != 1 else ''}"
