"""Which allocators a load's memory comes from, chosen so that peak RSS stays flat with data size.

A Redshift-emulator load decodes batches in a read-ahead thread, hands them to the ADBC
driver's thread and frees them there, while staging threads copy files beside them. What
the allocator keeps of memory freed that way is what makes the peak grow with the number of
files, not the data itself (docs/benchmarks.md, "Stop 18"). Measured on the 10M-row dataset
(ten files) against the 1M-row one (one file), peak RSS of the local apply:

* Arrow's mimalloc pool (its default): 352 MB at 10M; it keeps freed pages;
* the system allocator: 165–167 → 192–196 MB (+17%);
* Arrow's jemalloc pool: 162–169 → 178–183 MB (+8–10%);
* jemalloc, and glibc held to two arenas: 161–165 → 172–175 MB (+6%), at the same speed.

`ARROW_DEFAULT_MEMORY_POOL` is read once, when Arrow loads, and covers every buffer Arrow
allocates (pyarrow's `set_memory_pool` only reaches what pyarrow itself allocates, not the
Parquet reader's pages: switching that way measured no lower). Naming a pool a build lacks
prints a warning, so jemalloc is named only when the installed build's configuration header
(`arrow/util/config.h`, shipped for extensions built against it) says it has it, without
importing pyarrow; otherwise the system allocator, which every build has. A pool the user set wins.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import sys
from pathlib import Path

POOL_VARIABLE = "ARROW_DEFAULT_MEMORY_POOL"
# glibc's mallopt parameter M_ARENA_MAX (malloc.h).
_M_ARENA_MAX = -8
# Two arenas: the load's threads (staging, read-ahead, the driver's) share them instead of each
# keeping freed blocks in a heap of its own; one arena measured no lower and serializes them.
_ARENAS = 2


def start_process() -> None:
    """Before pyarrow is imported or a thread started: Arrow's pool, and glibc's arenas capped
    unless the user tuned them (MALLOC_ARENA_MAX, GLIBC_TUNABLES)."""
    if POOL_VARIABLE not in os.environ:   # the user's choice wins, and then the header is not read
        os.environ[POOL_VARIABLE] = "jemalloc" if arrow_has_jemalloc() else "system"
    if sys.platform != "linux" or "MALLOC_ARENA_MAX" in os.environ or "GLIBC_TUNABLES" in os.environ:
        return
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return
    except (ValueError, OSError):   # not glibc (musl has no such name)
        return
    ctypes.CDLL(None).mallopt(_M_ARENA_MAX, _ARENAS)


def arrow_has_jemalloc() -> bool:
    """Whether the installed pyarrow was built with jemalloc, read from its configuration header."""
    spec = importlib.util.find_spec("pyarrow")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        try:
            header = (Path(folder) / "include" / "arrow" / "util" / "config.h").read_text(errors="replace")
        except OSError:
            continue
        return any(line.split()[:2] == ["#define", "ARROW_JEMALLOC"] for line in header.splitlines())
    return False
