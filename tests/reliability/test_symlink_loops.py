"""Looping directory links under `**` (issue 14, finding 6): each real file is listed once, and
listing finishes in bounded time. A real apply into the Snowflake emulator (fakesnow on disk)."""

from __future__ import annotations

import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from relkit import Emulator, isolated_emulator

from manifest_loader.apply import apply
from manifest_loader.commands import make_plan
from manifest_loader.sources import SourceProblem, list_sources

# glob.glob took minutes over these links: fail instead of hanging.
pytestmark = [pytest.mark.timeout(60), pytest.mark.online]   # online: the Snowflake emulator on disk

MANIFEST = """\
version: 1
name: loops
target: {warehouse: snowflake, schema: loops}
tables:
  - name: items
    source: data/**/*.parquet
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """data/part/a.parquet (3 rows), with data/part/back -> .. (a loop) and data/again -> part."""
    root = tmp_path / "manifests"
    part = root / "data" / "part"
    part.mkdir(parents=True)
    pq.write_table(pa.table({"id": pa.array([1, 2, 3], pa.int64())}), part / "a.parquet")
    (part / "back").symlink_to("..")
    (root / "data" / "again").symlink_to("part")
    (root / "loops.yaml").write_text(MANIFEST, encoding="utf-8")
    return root


@pytest.fixture(params=["snowflake"])
def emulator(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    return isolated_emulator(request, tmp_path, monkeypatch)


def test_a_file_behind_a_looping_link_loads_once(folder: Path, emulator: Emulator) -> None:
    listed = list_sources("data/**/*.parquet", folder)
    assert [entry.display for entry in listed] == ["data/again/a.parquet"]   # first path in sorted order
    result = apply(folder / "loops.yaml")
    assert result.rows == 3
    assert emulator.rows("SELECT count(*), count(DISTINCT id) FROM loops.items") == [(3, 3)]
    assert emulator.rows("SELECT count(*) FROM loops._manifest_loader_ledger") == [(1,)]


def test_two_looping_links_list_in_bounded_time(folder: Path, tmp_path: Path) -> None:
    (folder / "data" / "part" / "up").symlink_to("../..")
    started = time.monotonic()
    plan, _ = make_plan(folder / "loops.yaml", "snowflake")
    assert [f.source.display for t in plan.tables for f in t.files] == ["data/again/a.parquet"]
    assert time.monotonic() - started < 10


def test_a_link_out_of_the_folder_under_globstar_is_refused(folder: Path, tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    pq.write_table(pa.table({"id": [9]}), tmp_path / "outside" / "b.parquet")
    (folder / "data" / "part" / "out").symlink_to(tmp_path / "outside")
    with pytest.raises(SourceProblem, match="outside the manifest's folder"):
        list_sources("data/**/*.parquet", folder)
