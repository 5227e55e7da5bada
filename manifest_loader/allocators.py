"""Which allocators a load's memory comes from, chosen so that peak RSS stays flat with data size.

A Redshift-emulator load decodes and encodes batches in a read-ahead thread, hands them to
the main thread's COPY and frees them there, while staging threads copy files beside them. What
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

glibc's mmap threshold is fixed at 1 MiB. Left dynamic, glibc raises it to the size of each
large block freed, so the encoded COPY data (a few MB per batch, made by pgpq in the read-ahead
thread and freed after psycopg sends it) came from the arenas instead of mmap, and the arenas
grew with fragmentation as the load went on: peak RSS of the local apply 181 MB at 1M rows,
205 MB at 10M (+13%; RSS sampled every 0.25 s: 176 MB at 1.5 s, 200 MB at 10 s). Fixed: 176
and 179 MB (+2%), in the same time (14.6 s at 10M either way). A value the user set wins.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import sys
from pathlib import Path

POOL_VARIABLE = "ARROW_DEFAULT_MEMORY_POOL"
# glibc's mallopt parameters (malloc.h), each with the variable a user would tune it by.
_M_ARENA_MAX = -8
_M_MMAP_THRESHOLD = -3
# Two arenas: the load's threads (staging, read-ahead, the COPY's) share them instead of each
# keeping freed blocks in a heap of its own; one arena measured no lower and serializes them.
_ARENAS = 2
# Blocks from 1 MiB up are mapped and unmapped whole (see above); setting it also stops glibc
# from raising it on its own.
_MMAP_THRESHOLD = 1 << 20
_SETTINGS = ((_M_ARENA_MAX, _ARENAS, "MALLOC_ARENA_MAX"),
             (_M_MMAP_THRESHOLD, _MMAP_THRESHOLD, "MALLOC_MMAP_THRESHOLD_"))


def start_process() -> None:
    """Before pyarrow is imported or a thread started: Arrow's pool, and glibc's arenas capped
    and its mmap threshold fixed, each unless the user tuned it (its variable, GLIBC_TUNABLES)."""
    if POOL_VARIABLE not in os.environ:   # the user's choice wins, and then the header is not read
        os.environ[POOL_VARIABLE] = "jemalloc" if arrow_has_jemalloc() else "system"
    if sys.platform != "linux" or "GLIBC_TUNABLES" in os.environ:
        return
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return
    except (ValueError, OSError):   # not glibc (musl has no such name)
        return
    libc = ctypes.CDLL(None)
    for parameter, value, variable in _SETTINGS:
        if variable not in os.environ:
            libc.mallopt(parameter, value)


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
