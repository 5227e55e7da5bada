"""Plan notes for source files shaped badly for the real warehouse's parallel COPY.

Real Redshift and Snowflake load files in parallel, one file per slice or thread at a time: one
huge file loads on one slice, and thousands of tiny files spend their time on per-file overhead.
Their guidance, as data on the dialect (`load_file_bytes`, `load_file_advice`):
Redshift, files of about 1 MB-1 GB after compression, their count a multiple of the cluster's
slices (https://docs.aws.amazon.com/redshift/latest/dg/c_best-practices-use-multiple-files.html);
Snowflake, about 100-250 MB compressed
(https://docs.snowflake.com/en/user-guide/data-load-considerations-prepare).
Emulator plans get the advice of the warehouse they stand in for: the same files go there next.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from . import registry
from .dialects import Dialect

# "Thousands of tiny files": from this many files smaller than the lower bound on average.
MANY_FILES = 1000


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def file_shape_notes(dialect: type[Dialect], sizes: Sequence[int]) -> list[str]:
    """Notes on one table's files (their sizes in bytes, as staged) for the real warehouse the
    dialect's target is (or stands in for)."""
    warehouse = registry.real(registry.by_dialect(dialect.name).warehouse).dialect
    if warehouse.load_file_bytes is None or not sizes:
        return []
    low, high = warehouse.load_file_bytes
    total = sum(sizes)
    target = f"{_size(low)}-{_size(high)}"
    notes = []
    huge = [s for s in sizes if s > high]
    if huge:
        suggested = max(2, math.ceil(total / high))
        what = "one file" if len(sizes) == 1 else f"{len(huge)} of {len(sizes)} files"
        notes.append(f"{what} larger than {_size(high)} (largest {_size(max(huge))}): {warehouse.title} loads "
                     f"each file on one {warehouse.load_file_advice}; split the {_size(total)} into at least "
                     f"{suggested} files of {target}")
    elif len(sizes) >= MANY_FILES and total / len(sizes) < low:
        suggested = max(1, math.ceil(total / low))
        notes.append(f"{len(sizes)} files averaging {_size(total / len(sizes))}: {warehouse.title} spends the load "
                     f"on per-file overhead below {_size(low)}; combine them into about {suggested} files of "
                     f"{target} (each {warehouse.load_file_advice} takes one file at a time)")
    return notes
