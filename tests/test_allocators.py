"""What a load's memory comes from (allocators.py): Arrow's pool, glibc's arena cap and mmap threshold."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

from manifest_loader import allocators

ROOT = Path(__file__).resolve().parents[1]


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("ARROW_DEFAULT_MEMORY_POOL", "MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_", "GLIBC_TUNABLES")}
    clean["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env={**clean, **env},
                          capture_output=True, text=True, timeout=120, check=True)


_POOL = """
    import manifest_loader.cli
    import pyarrow as pa
    print(pa.default_memory_pool().backend_name, "jemalloc" in pa.supported_memory_backends())
"""


def test_the_cli_gives_arrow_jemalloc_when_the_build_has_it_and_no_warning() -> None:
    done = _python(_POOL)
    backend, has_jemalloc = done.stdout.split()
    assert backend == ("jemalloc" if has_jemalloc == "True" else "system")
    assert allocators.arrow_has_jemalloc() == (has_jemalloc == "True")
    assert "Unsupported backend" not in done.stderr


def test_a_pool_the_user_set_wins() -> None:
    assert _python(_POOL, ARROW_DEFAULT_MEMORY_POOL="system").stdout.split()[0] == "system"


@pytest.mark.parametrize("define, expected", [
    ("#define ARROW_JEMALLOC\n#define ARROW_JEMALLOC_VENDORED\n", True),
    ("/* #undef ARROW_JEMALLOC */\n#define ARROW_MIMALLOC\n", False),
    (None, False),
])
def test_jemalloc_is_read_from_the_builds_configuration_header(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, define: str | None, expected: bool) -> None:
    if define is not None:
        header = tmp_path / "include" / "arrow" / "util" / "config.h"
        header.parent.mkdir(parents=True)
        header.write_text(f"#pragma once\n{define}")
    monkeypatch.setattr(allocators.importlib.util, "find_spec",
                        lambda name: SimpleNamespace(submodule_search_locations=[str(tmp_path)]))
    assert allocators.arrow_has_jemalloc() is expected


# Eight threads alive at once, each allocating: glibc gives each a new arena up to its limit
# (8 per core), then shares. malloc_info lists one <heap> per arena.
_ARENAS = """
    import ctypes, tempfile, threading
    import manifest_loader.cli
    barrier = threading.Barrier(9)
    def work():
        kept = [bytearray(1000) for _ in range(50)]
        barrier.wait()
        barrier.wait()
    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads: t.start()
    barrier.wait()
    libc = ctypes.CDLL(None)
    libc.fopen.restype = ctypes.c_void_p
    with tempfile.NamedTemporaryFile(suffix=".xml") as out:
        stream = libc.fopen(out.name.encode(), b"w")
        libc.malloc_info(0, ctypes.c_void_p(stream))
        libc.fclose(ctypes.c_void_p(stream))
        print(open(out.name).read().count("<heap nr="))
    barrier.wait()
    for t in threads: t.join()
"""


@pytest.mark.skipif(sys.platform != "linux" or not os.confstr("CS_GNU_LIBC_VERSION"), reason="glibc only")
def test_glibc_arenas_are_capped_at_two_unless_the_user_tuned_malloc() -> None:
    assert int(_python(_ARENAS).stdout) <= 2
    # The same threads with the cap left to the user: more arenas, so the count above means something.
    assert int(_python(_ARENAS, GLIBC_TUNABLES="glibc.malloc.check=0").stdout) > 2


# A 2 MiB block freed, then another taken: glibc's dynamic threshold (its default) has risen to
# 2 MiB by then and takes the second from an arena; a fixed 1 MiB threshold maps it. mallinfo2's
# hblks counts the mapped blocks.
_MAPPED = """
    import ctypes
    import manifest_loader.cli
    class Info(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                                                         "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.mallinfo2.restype = Info
    libc.free(ctypes.c_void_p(libc.malloc(2 << 20)))
    before = libc.mallinfo2().hblks
    block = libc.malloc(2 << 20)
    print(libc.mallinfo2().hblks - before)
    libc.free(ctypes.c_void_p(block))
"""


@pytest.mark.skipif(sys.platform != "linux" or not os.confstr("CS_GNU_LIBC_VERSION"), reason="glibc only")
def test_glibc_maps_large_blocks_whole_unless_the_user_tuned_malloc() -> None:
    assert _python(_MAPPED).stdout.strip() == "1"
    assert _python(_MAPPED, MALLOC_MMAP_THRESHOLD_="4194304").stdout.strip() == "0"   # the user's 4 MiB
    assert _python(_MAPPED, GLIBC_TUNABLES="glibc.malloc.check=0").stdout.strip() == "0"   # glibc's own
