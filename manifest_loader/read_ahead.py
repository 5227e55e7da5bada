"""Run an iterator in a thread of its own, a few items ahead of the one consuming it.

The Redshift emulator's load is a chain: fetch a staged object, decode its pages, cast the
batch, check it, encode it for binary COPY (pgpq), then send it and the server stores it. Run
in one thread, the server waits while the loader decodes and the loader waits while the server
stores (the raw ADBC baseline in benchmarks/ works that way). pyarrow's readers and kernels
release the GIL, and so does psycopg while it waits for the socket, so reading and encoding the
next batches in a second thread while the main thread sends the current one overlaps the two
halves (docs/benchmarks.md). The queue between them is bounded, so memory stays at `depth`
batches however large the files are.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Generator
from typing import TypeVar

T = TypeVar("T")

# How often a producer blocked on a full queue looks whether its consumer has gone.
_POLL_SECONDS = 0.1


class _End:
    """The producer's last item: the exception it stopped with, or None when it ran out."""

    def __init__(self, error: BaseException | None):
        self.error = error


def read_ahead(items: Generator[T, None, None], depth: int, name: str) -> Generator[T, None, None]:
    """Yield what `items` yields, produced up to `depth` items ahead in a thread (in the caller's
    context, so its events reach the caller's run). An exception of `items` is raised here, at the
    point the consumer reaches it. When the consumer stops early (an error, close()), the producer
    stops at its next item and `items` is closed in its own thread, so its clean-up (temporary
    files) runs before this generator returns."""
    handoff: queue.Queue[T | _End] = queue.Queue(maxsize=depth)
    stopped = threading.Event()

    def offer(item: T | _End) -> bool:
        while not stopped.is_set():
            try:
                handoff.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        error: BaseException | None = None
        try:
            for item in items:
                if not offer(item):
                    return
        except BaseException as exc:   # handed to the consumer, which raises it
            error = exc
        finally:
            items.close()
        offer(_End(error))

    thread = threading.Thread(target=contextvars.copy_context().run, args=(produce,), name=name, daemon=True)
    thread.start()
    try:
        while True:
            item = handoff.get()
            if isinstance(item, _End):
                if item.error is not None:
                    raise item.error
                return
            yield item
    finally:
        stopped.set()
        thread.join()
