"""Run one contender as its own process and measure it from outside: wall time and peak RSS.

Peak RSS comes from GNU time's %M (max resident set of the child, in KiB) when
/usr/bin/time exists, else from getrusage(RUSAGE_CHILDREN) of a fresh wrapper process
whose only child is the contender (so nothing else is counted).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

GNU_TIME = "/usr/bin/time"
_WRAPPER = ("import resource, subprocess, sys\n"
            "code = subprocess.call(sys.argv[2:])\n"
            "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
            "sys.exit(code)\n")


@dataclass
class Measured:
    argv: list[str]
    seconds: float
    rss_mb: float | None
    returncode: int
    stdout: str
    stderr: str
    cpu_seconds: float | None = None   # user + system CPU of the process and everything it waited for


def rss_method() -> str:
    return "GNU time %M" if os.path.exists(GNU_TIME) else "getrusage(RUSAGE_CHILDREN) of a wrapper process"


def measure(argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None,
            timeout: float | None = None) -> Measured:
    """Run argv to completion; wall seconds as seen by the caller, peak RSS of the process."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss", delete=False) as handle:
        rss_file = handle.name
    try:
        if os.path.exists(GNU_TIME):
            command = [GNU_TIME, "-f", "%M", "-o", rss_file, *argv]
        else:
            command = [sys.executable, "-c", _WRAPPER, rss_file, *argv]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
        seconds = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        text = Path(rss_file).read_text().strip().splitlines()
        # GNU time writes "Command exited with non-zero status N" before %M on failure.
        rss = float(text[-1]) / 1024 if text and text[-1].isdigit() else None
    finally:
        os.unlink(rss_file)
    return Measured(argv, seconds, rss, done.returncode, done.stdout, done.stderr, cpu)
