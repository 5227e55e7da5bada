"""The footer cache: a file that changed is read again, a damaged entry is a miss, plan writes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
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


def test_an_entry_other_code_wrote_is_a_miss(tmp_path: Path) -> None:
    data, cache = tmp_path / "t.parquet", FooterCache(tmp_path / "footers")
    write(data, [1, 2])
    describe_source(data.as_uri(), "t.parquet", cache=cache)
    (entry,) = (tmp_path / "footers").iterdir()
    raw = json.loads(entry.read_bytes())
    raw["rows"] = 99
    entry.write_text(json.dumps(raw))
    assert describe_source(data.as_uri(), "t.parquet", cache=cache).rows == 99   # this code's entry: a hit
    raw["code"] = "0" * 16   # the types inferred by another version of the loader
    entry.write_text(json.dumps(raw))
    assert describe_source(data.as_uri(), "t.parquet", cache=cache).rows == 2


def test_the_cache_keeps_what_resolve_and_plan_read_from_the_schema(tmp_path: Path) -> None:
    data, cache = tmp_path / "t.parquet", FooterCache(tmp_path / "footers")
    pq.write_table(pa.table({
        "id": pa.array([1], pa.int32()), "price": pa.array([1], pa.decimal128(12, 2)),
        "at": pa.array([1], pa.timestamp("ns")), "tags": pa.array([{"a": 1}], pa.map_(pa.string(), pa.int64())),
        "nothing": pa.array([None], pa.null()), "huge": pa.array([1], pa.decimal256(40, 2))}), data)
    first = describe_source(data.as_uri(), "t.parquet", cache=cache)
    again = describe_source(data.as_uri(), "t.parquet", cache=cache)
    assert cache.get(FooterCache.local_identity(data)) is not None
    assert again.schema == first.schema
    columns = {c.name: c for c in again.schema}
    assert [str(c.portable) for c in again.schema] == ["integer", "decimal(12,2)", "timestamp", "json", "None",
                                                       "None"]
    assert columns["at"].nanoseconds and not columns["id"].nanoseconds
    assert columns["tags"].holds_map and not columns["price"].holds_map
    assert columns["huge"].problem is not None and "decimal(40,2)" in columns["huge"].problem
    assert columns["nothing"].problem is None


def test_plan_answered_from_the_caches_imports_no_pyarrow_yaml_or_load(tmp_path: Path) -> None:
    """A repeated `plan` (the footer cache and the parse memo answer) imports neither pyarrow nor
    PyYAML, nor the load's modules (apply.py: staging, execution, the run log); at exit its heap is
    frozen, so the interpreter's last collection does not walk it."""
    folder = tmp_path / "project"
    (folder / "data").mkdir(parents=True)
    write(folder / "data" / "t.parquet", [1, 2, 3])
    (folder / "m.yaml").write_text("version: 1\nname: m\ntarget: {warehouse: redshift}\n"
                                   "tables:\n  - {name: t, source: data/t.parquet, primary_key: [id]}\n")
    env = {**os.environ, "MANIFEST_LOADER_STATE_DIR": str(tmp_path / "state"),
           "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    for name in ("DW_SIMULATOR_REDSHIFT_URL", "DW_SIMULATOR_STAGE_BUCKET"):
        env.pop(name, None)
    heavy = ("pyarrow", "yaml", "manifest_loader.apply", "manifest_loader.stage", "manifest_loader.run_log")
    # The managed emulator was never made here, so `plan` (ledger read on) has no target to read.
    # Registered before plan's own exit handler, so it runs after it: the heap is frozen by then, and
    # the interpreter's last collection skips it.
    script = ("import atexit, gc, sys; from manifest_loader.cli import main\n"
              "atexit.register(lambda: print('frozen at exit:', gc.get_freeze_count() > 0))\n"
              "try:\n    main(['plan', sys.argv[1]])\nexcept SystemExit as exit:\n"
              "    assert not exit.code, exit.code\n"
              f"print('imported:', sorted(m for m in {heavy!r} if m in sys.modules))")
    outputs = [subprocess.run([sys.executable, "-c", script, str(folder / "m.yaml")], env=env, capture_output=True,
                              text=True, check=True).stdout for _ in range(2)]
    first, said_first = outputs[0].rsplit("imported:", 1)
    again, said_again = outputs[1].rsplit("imported:", 1)
    assert "pyarrow" in said_first and "yaml" in said_first   # the first plan reads the footer and parses
    assert said_again.strip() == "[]\nfrozen at exit: True"
    assert first == again
