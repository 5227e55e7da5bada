"""What overlaps in a Redshift emulator load: read_ahead, the thread that decodes the next batches
while COPY sends the current one, and fetch.LocalCopy, which lets a reader read the row groups of a
staged object that are already downloaded.

Pure Python and fast; the load through them is covered by every Redshift emulator test, and a
download cut short by tests/reliability/test_s3_faults.py.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Generator

import pytest

from manifest_loader.errors import LoadFailed
from manifest_loader.fetch import LocalCopy
from manifest_loader.read_ahead import read_ahead

_VAR: contextvars.ContextVar[str] = contextvars.ContextVar("read_ahead_test", default="unset")


def test_items_arrive_in_order_from_another_thread_in_the_callers_context() -> None:
    threads: set[str] = set()
    _VAR.set("caller's run")
    seen_context: list[str] = []

    def produce() -> Generator[int, None, None]:
        for i in range(1000):
            threads.add(threading.current_thread().name)
            seen_context.append(_VAR.get())
            yield i

    assert list(read_ahead(produce(), 3, "reader")) == list(range(1000))
    assert threads == {"reader"}
    assert set(seen_context) == {"caller's run"}


def test_the_producer_stays_at_most_depth_items_ahead() -> None:
    produced: list[int] = []
    gate = threading.Event()

    def produce() -> Generator[int, None, None]:
        for i in range(100):
            produced.append(i)
            yield i

    stream = read_ahead(produce(), 4, "reader")
    assert next(stream) == 0
    gate.wait(0.3)   # let the producer run as far as it may
    # 0 handed over, 4 waiting in the queue, one more made and blocked on the full queue.
    assert len(produced) <= 1 + 4 + 1
    assert list(stream) == list(range(1, 100))


def test_an_error_reaches_the_consumer_after_the_items_before_it() -> None:
    def produce() -> Generator[int, None, None]:
        yield 1
        yield 2
        raise ValueError("file 3 is corrupt")

    stream = read_ahead(produce(), 2, "reader")
    assert next(stream) == 1
    assert next(stream) == 2
    with pytest.raises(ValueError, match="file 3 is corrupt"):
        next(stream)


def test_a_consumer_that_stops_early_stops_and_closes_the_producer() -> None:
    cleaned_up_in: list[str] = []

    def produce() -> Generator[int, None, None]:
        try:
            i = 0
            while True:   # endless: only the consumer's close can stop it
                yield i
                i += 1
        finally:
            cleaned_up_in.append(threading.current_thread().name)

    stream = read_ahead(produce(), 2, "reader")
    assert [next(stream) for _ in range(5)] == [0, 1, 2, 3, 4]
    stream.close()   # what happens when COPY fails and the driver drops the stream
    assert cleaned_up_in == ["reader"]
    assert not any(t.name == "reader" for t in threading.enumerate())


def _waits(copy: LocalCopy, end: int) -> bool:
    """Whether wait_for(end) is still blocked after a moment."""
    waiter = threading.Thread(target=copy.wait_for, args=(end,), daemon=True)
    waiter.start()
    waiter.join(0.05)
    return waiter.is_alive()


def test_a_reader_waits_for_the_footer_then_only_for_the_bytes_it_needs() -> None:
    copy = LocalCopy("/nonexistent", downloading=True)
    assert _waits(copy, 0)                 # not even the footer yet
    copy.tail_written(1000)                # bytes 1000.. (the tail) are in
    assert not _waits(copy, 0)
    assert _waits(copy, 1)
    copy.written(400)
    assert not _waits(copy, 400) and _waits(copy, 401)
    copy.written(1000)
    assert not _waits(copy, 5000)          # inside the tail: already there
    copy.wait_all()


def test_a_failed_download_raises_in_the_reader() -> None:
    copy = LocalCopy("/nonexistent", downloading=True)
    copy.tail_written(1000)
    copy.failed(LoadFailed("table t: cannot read the staged object s3://b/k (f.parquet) from S3: reset"))
    with pytest.raises(LoadFailed, match="cannot read the staged object"):
        copy.wait_for(10)


def test_a_local_file_never_waits() -> None:
    copy = LocalCopy("/nonexistent")
    copy.wait_for(10**12)
    copy.wait_all()
