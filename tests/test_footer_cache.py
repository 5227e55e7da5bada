"""The footer cache: a file that changed is read again, a damaged entry is a miss, plan writes nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from manifest_loader.footer_cache import Footer, FooterCache
from manifest_loader.sources import describe_source


def write(path: Path, values: list[int]) -> None:
    pq.write_table(pa.table({"id": pa.array(values, pa.int64())}), path)


def test_an_unchanged_file_is_answered_from_the_cache(tmp_path: Path) -> None:
    data, cache = tmp_path / "t.parquet", FooterCache(tmp_path / "footers")
    write(data, [1, 2, 3])
    first = describe_source(data.as_uri(), "t.parquet", cache=cache)
    assert len(list((tmp_path / "footers").iterdir())) == 1
    # Prove the second answer is the cache's: its entry now says 99 rows.
    identity = FooterCache.local_identity(data)
    cache.put(identity, Footer(99, first.schema, first.digest))
    again = describe_source(data.as_uri(), "t.parquet", cache=cache)
    assert again.rows == 99 and again.content_hash == first.content_hash


def test_a_rewritten_file_is_read_again(tmp_path: Path) -> None:
    data, cache = tmp_path / "t.parquet", FooterCache(tmp_path / "footers")
    write(data, [1, 2, 3])
    first = describe_source(data.as_uri(), "t.parquet", cache=cache)
    stat = data.stat()
    write(data, [1, 2, 3, 4])
    # Even with the old modification time put back, ctime and size tell the files apart.
    os.utime(data, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    second = describe_source(data.as_uri(), "t.parquet", cache=cache)
    assert (first.rows, second.rows) == (3, 4)
    assert first.content_hash != second.content_hash


def test_a_damaged_entry_is_a_miss(tmp_path: Path) -> None:
    data, cache = tmp_path / "t.parquet", FooterCache(tmp_path / "footers")
    write(data, [1, 2])
    describe_source(data.as_uri(), "t.parquet", cache=cache)
    (entry,) = (tmp_path / "footers").iterdir()
    entry.write_bytes(b"{not json\n\x00\x01")
    assert describe_source(data.as_uri(), "t.parquet", cache=cache).rows == 2
    assert cache.get(FooterCache.local_identity(data)) is not None   # rewritten


def test_a_read_only_cache_writes_nothing(tmp_path: Path) -> None:
    data = tmp_path / "t.parquet"
    write(data, [1])
    described = describe_source(data.as_uri(), "t.parquet", cache=FooterCache(tmp_path / "footers", writable=False))
    assert described.rows == 1
    assert not (tmp_path / "footers").exists()


@pytest.mark.parametrize("hash_content", [False, True])
def test_a_hash_computed_later_is_remembered(tmp_path: Path, hash_content: bool) -> None:
    data, cache = tmp_path / "t.parquet", FooterCache(tmp_path / "footers")
    write(data, [5, 6])
    described = describe_source(data.as_uri(), "t.parquet", cache=cache, hash_content=hash_content)
    remembered = cache.get(FooterCache.local_identity(data))
    assert remembered is not None
    assert (remembered.sha256 is not None) == hash_content
    if not hash_content:
        assert describe_source(data.as_uri(), "t.parquet", cache=cache).content_hash.startswith("sha256:")
        assert cache.get(FooterCache.local_identity(data)).sha256 is not None   # type: ignore[union-attr]
    else:
        assert described.content_hash == "sha256:" + remembered.sha256   # type: ignore[operator]
