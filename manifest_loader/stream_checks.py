"""NOT NULL, VARCHAR(n) length and key checks made on each Arrow batch as the loader streams it.

On the Redshift emulator every row passes through the loader on its way into COPY FROM STDIN,
so these per-value checks cost one vectorised kernel per batch instead of a query that scans
the loaded table once per column. A single integer key is checked for repeats against a bitmap
of the values seen so far, one bit per value between the footers' min and max (the plan only
streams the check when that range is narrow), instead of a sorted GROUP BY over the loaded
table: 6 s of server CPU at 10M rows (docs/benchmarks.md). The first batch that breaks a check
stops the load (the transaction then rolls back) with the table, column, file and a sample
value named.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from .errors import ConstraintViolation, LoadFailed
from .plan import MERGE_ONCE, PRIMARY_KEY, Check, not_null_hint, widen_hint

_KEY_KINDS = ("primary_key", "merge_keys")


@dataclass(frozen=True)
class _Rule:
    check: Check
    field: str          # the column's name in the batches (as the warehouse stores it)
    limit: int = 0      # varchar_length: the declared length


class BatchChecker:
    def __init__(self, checks: Iterable[Check], stored_name: Callable[[str], str], counts_bytes: bool):
        checks = list(checks)
        # detail is the length of a VARCHAR(n) check (of a NOT NULL check, whether it is a key column)
        self.rules = [_Rule(c, stored_name(c.columns[0]), int(c.detail) if c.kind == "varchar_length" else 0)
                      for c in checks if c.kind not in _KEY_KINDS]
        self.keys = [_KeyBitmap(c, stored_name(c.columns[0])) for c in checks if c.kind in _KEY_KINDS]
        self.counts_bytes = counts_bytes

    def __bool__(self) -> bool:
        return bool(self.rules or self.keys)

    def checked(self, batches: Iterable[pa.RecordBatch], current_file: Callable[[], str]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for rule in self.rules:
                self._check(rule, batch.column(rule.field), current_file)
            for key in self.keys:
                key.add(batch.column(key.field), current_file)
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
                    hint=not_null_hint(current_file(), check.columns[0], check.detail == PRIMARY_KEY))
            return
        lengths = pc.binary_length(column) if self.counts_bytes else pc.utf8_length(column)
        # One pass, and no Python value turned into an Arrow scalar: pyarrow imports pandas (when
        # installed, 0.3 s) the first time it converts one. Only a violation counts the rows.
        longest = pc.max(lengths).as_py()
        if longest is not None and longest > rule.limit:
            over = pc.greater(lengths, rule.limit)
            count = pc.sum(over).as_py() or 0
            sample = column.filter(over)[0].as_py()
            unit = "bytes" if self.counts_bytes else "characters"
            raise ConstraintViolation(
                f"table {check.table}: column {check.columns[0]} has {_rows(count)} longer than its "
                f"VARCHAR({rule.limit}) ({unit}) in {current_file()}{_FIRST_BATCH if count > 1 else ''}, "
                f"e.g. {str(sample)[:40]!r}; nothing was loaded",
                hint=widen_hint(current_file(), check.columns[0], int(longest)))


class _KeyBitmap:
    """Which key values have passed so far: bit (value - min) of a bitmap sized by the footers' range."""

    def __init__(self, check: Check, field: str):
        import numpy as np

        assert check.key_range is not None
        self.check, self.field = check, field
        self.low, self.high = check.key_range
        self.seen = np.zeros((self.high - self.low) // 8 + 1, dtype=np.uint8)
        self.nulls = 0

    def add(self, column: pa.Array, current_file: Callable[[], str]) -> None:
        import numpy as np

        self.nulls += column.null_count
        values = _integers(pc.drop_null(column) if column.null_count else column)
        if not len(values):
            self._refuse_nulls(current_file)
            return
        if values.min() < self.low or values.max() > self.high:
            outside = values[(values < self.low) | (values > self.high)][0]
            raise LoadFailed(f"table {self.check.table}: {current_file()} holds key value {outside} in column "
                             f"{self.check.columns[0]}, outside the range {self.low}..{self.high} that the files' "
                             "Parquet statistics give; the statistics are wrong",
                             hint=f"rewrite {current_file()} with a Parquet writer that records correct "
                                  "statistics; nothing was loaded")
        offsets = values - self.low
        byte, bit = offsets >> 3, np.left_shift(1, offsets & 7).astype(np.uint8)
        # The bitmap's bytes this batch's values fall in: a few KB for keys that come in order.
        window = self.seen[int(byte.min()):int(byte.max()) + 1]
        if len(window) <= _WINDOW_BYTES_PER_VALUE * len(values):
            # Each value neither seen before nor repeated in the batch sets a bit of its own, so
            # fewer new bits than values means a repeat: found without sorting the batch, which
            # was most of the check's CPU at 10M rows (docs/benchmarks.md, "Stop 19").
            before = window.copy()
            np.bitwise_or.at(self.seen, byte, bit)
            if _set_bits(window) - _set_bits(before) == len(values):
                self._refuse_nulls(current_file)
                return
            window[:] = before
        self._refuse_repeats(offsets, byte, bit, current_file)
        np.bitwise_or.at(self.seen, byte, bit)
        self._refuse_nulls(current_file)

    def _refuse_repeats(self, offsets: Any, byte: Any, bit: Any, current_file: Callable[[], str]) -> None:
        """Refuse the batch if a value repeats one seen before or one in the batch, counting them."""
        import numpy as np

        seen_before = (self.seen[byte] & bit) != 0
        ordered = np.sort(offsets)
        repeated_here = ordered[1:][ordered[1:] == ordered[:-1]]
        if seen_before.any() or len(repeated_here):
            repeated = np.union1d(offsets[seen_before], repeated_here) + self.low
            self._refuse(len(repeated), str(repeated[0]), current_file)

    def _refuse_nulls(self, current_file: Callable[[], str]) -> None:
        # As the query's GROUP BY would: NULL keys are one group, so two of them repeat.
        if self.nulls > 1:
            self._refuse(1, None, current_file)

    def _refuse(self, count: int, sample: str | None, current_file: Callable[[], str]) -> None:
        # Worded as the query's message (execute.violation), naming the file where the repeat showed.
        check, columns = self.check, ", ".join(self.check.columns)
        shown = repr(sample) if sample is not None else "NULL"
        counted = _FIRST_BATCH if count > 1 else ""
        if check.kind == "primary_key":
            what = f"primary key ({columns}) has {count} duplicated value{'s' if count != 1 else ''}{counted}"
            hint = (f"fix the data in {current_file()} (or a file loaded before it), or turn the check off "
                    "with checks: {primary_key: false}")
        else:
            what = f"the incoming files repeat merge key ({columns}) {count} time{'s' if count != 1 else ''}{counted}"
            hint = f"fix the data in {current_file()} (or a file loaded before it): {MERGE_ONCE}"
        raise ConstraintViolation(f"table {check.table}: {what}, e.g. {shown} (first repeated in {current_file()}); "
                                  "nothing was loaded", hint=hint)


# Above this many bitmap bytes per value (keys scattered over a wide range) the batch is sorted
# instead. Measured over ten million shuffled keys: at 9.5 bytes per value (batches of 131,072)
# copying and counting the window took half the sort's CPU, at 76 (batches of 16,384) 3.4 times
# it; 4 keeps clear of the crossing, and keys in order need about 1/8.
_WINDOW_BYTES_PER_VALUE = 4


def _set_bits(data: Any) -> int:
    import numpy as np

    if hasattr(np, "bitwise_count"):   # numpy 2.0
        return int(np.bitwise_count(data).sum(dtype=np.int64))
    return int(np.unpackbits(data).sum(dtype=np.int64))


def _integers(column: pa.Array) -> Any:
    """An integer array without NULLs as int64 numpy values, read from its data buffer in place:
    Array.to_numpy() imports pandas (when installed, 0.3 s) on its way."""
    import numpy as np

    width = column.type.bit_width // 8
    data = np.frombuffer(column.buffers()[1], dtype=f"<i{width}", count=len(column), offset=column.offset * width)
    return data.astype(np.int64, copy=False)


# The load stops at the first batch that breaks a check, so a count covers that batch only.
_FIRST_BATCH = " (counted in the first batch that has any)"


def _rows(count: int) -> str:
    return f"{count} row{'s' if count != 1 else ''}"
