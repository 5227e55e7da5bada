"""Writing to the user is a courtesy: a reader that went away never changes what a command did.

`manifest-loader apply m.yaml --progress log 2>&1 | head -3` closes the pipe after three lines;
every later write fails with BrokenPipeError. The load must still complete, be recorded and
exit by its own outcome, so progress and the CLI write through `write_line`, which drops the
text once its stream is gone and points the stream at /dev/null (else the interpreter's last
flush at exit fails again and turns the exit status into 120).
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import IO


def write_line(text: str, stream: IO[str] | None = None) -> bool:
    """Write one line and flush; False (and nothing raised) when the reader has gone away."""
    target = stream if stream is not None else sys.stdout
    try:
        target.write(text + "\n")
        target.flush()
    except (BrokenPipeError, ConnectionResetError):
        detach(target)
        return False
    except ValueError:   # "I/O operation on closed file": closed by whoever owns it
        return False
    return True


def detach(stream: IO[str]) -> None:
    """Point a stream whose reader went away at /dev/null, so later writes and the exit flush succeed."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        descriptor = stream.fileno()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, descriptor)
        os.close(devnull)
