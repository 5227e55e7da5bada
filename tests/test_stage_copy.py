"""A local file's copy to a file:// stage (stage._copy_hashed): the kernel copies, the digest is
taken from what landed; across filesystems, or without copy_file_range, through one buffer."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from manifest_loader import stage
from manifest_loader.fetch import TAIL_BYTES, LocalCopy

SIZE = 3 * 1024 * 1024 + 12_345   # not a multiple of any step


@pytest.fixture
def source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(stage, "_COPY_BYTES", 256 * 1024)
    monkeypatch.setattr(stage, "_READ_BYTES", 64 * 1024)
    path = tmp_path / "source.parquet"
    path.write_bytes(os.urandom(SIZE))
    return path


def _target(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / ".staging-test"
    path.write_bytes(b"")
    return path


def _copy(source: Path, target: Path, copy: LocalCopy | None) -> str:
    digest = stage._copy_hashed(str(source), str(target), copy)
    assert target.read_bytes() == source.read_bytes()
    assert digest == hashlib.sha256(source.read_bytes()).hexdigest()
    return digest


class _Watched(LocalCopy):
    def __init__(self, path: str):
        super().__init__(path, stops_when_abandoned=False)
        self.tail_at: int | None = None
        self.ends: list[int] = []

    def tail_written(self, start: int) -> None:
        self.tail_at = start
        super().tail_written(start)

    def written(self, end: int) -> None:
        self.ends.append(end)
        super().written(end)


@pytest.mark.parametrize("reader", [False, True], ids=["whole", "read-while-copied"])
def test_the_kernel_copies_and_the_digest_is_of_what_landed(
        source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reader: bool) -> None:
    calls: list[int] = []
    real = os.copy_file_range

    def counted(*args: int) -> int:
        copied = real(*args)
        calls.append(copied)
        return copied

    monkeypatch.setattr(os, "copy_file_range", counted)
    copy = _Watched(str(source)) if reader else None
    _copy(source, _target(tmp_path / "stage"), copy)
    body = SIZE - TAIL_BYTES if reader else SIZE
    assert sum(calls) == body and len(calls) >= body // (256 * 1024)
    if copy is not None:
        assert copy.tail_at == SIZE - TAIL_BYTES
        assert copy.ends == sorted(copy.ends) and copy.ends[-1] == SIZE - TAIL_BYTES and len(copy.ends) > 3


def test_a_stage_on_another_filesystem_is_copied_through_the_buffer(
        source: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = Path("/dev/shm")
    if not other.is_dir() or other.stat().st_dev == source.stat().st_dev:
        pytest.skip("no second filesystem at /dev/shm")
    buffered: list[int] = []
    real = stage._BodyCopy._through_buffer

    def through_buffer(self: stage._BodyCopy, most: int) -> int:
        buffered.append(most)
        return real(self, most)

    monkeypatch.setattr(stage._BodyCopy, "_through_buffer", through_buffer)
    folder = other / f"manifest-loader-test-{os.getpid()}"
    try:
        copy = _Watched(str(source))
        _copy(source, _target(folder), copy)
        assert copy.ends[-1] == SIZE - TAIL_BYTES
        assert len(buffered) > 3   # the kernel refused (EXDEV) and the buffer took over
    finally:
        for path in folder.glob("*"):
            path.unlink()
        folder.rmdir()


def test_without_copy_file_range_the_copy_goes_through_the_buffer(
        source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "copy_file_range")
    _copy(source, _target(tmp_path / "stage"), None)


def test_a_copy_error_that_is_not_about_the_kernel_is_raised(
        source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(*args: int) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "copy_file_range", full)
    with pytest.raises(OSError, match="No space left"):
        stage._copy_hashed(str(source), str(_target(tmp_path / "stage")), None)
