"""Staged bytes are verified by hash, not trusted by size (issue 14, finding 5).

Real stages (the file:// stage, moto S3 over HTTP) and real emulators (PostgreSQL, fakesnow on
disk). A source swapped for a same-size file between plan and stage fails the apply, naming the
file, with nothing loaded; a staged object replaced by same-size bytes is not trusted again.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from loadkit import watching
from relkit import Emulator, isolated_emulator

import manifest_loader.apply as apply_module
from manifest_loader.apply import apply
from manifest_loader.errors import LoadFailed
from manifest_loader.sources import file_sha256

MANIFEST = """\
version: 1
name: swap
target:
  warehouse: {warehouse}
  schema: swap
tables:
  - name: items
    source: data/items.parquet
    mode: replace
"""

# The embedded Snowflake emulator's database on disk, or `manifest-loader serve` in its own process.
pytestmark = pytest.mark.online


def _write(path: Path, ids: list[int]) -> None:
    # No dictionary, no compression, no statistics: two files of different values have one size.
    pq.write_table(pa.table({"id": pa.array(ids, pa.int64())}), path, compression="none", use_dictionary=False,
                   write_statistics=False)


@pytest.fixture(params=[("redshift", "file"), ("snowflake", "s3")], ids=["redshift-file", "snowflake-s3"])
def setup(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Emulator, Path]:
    warehouse, stage = request.param
    request.param = warehouse
    emulator = isolated_emulator(request, tmp_path, monkeypatch)
    if stage == "s3":
        request.getfixturevalue("s3_env")
        monkeypatch.setenv("DW_SIMULATOR_STAGE_BUCKET", f"s3://local/swap-{tmp_path.name}")
    folder = tmp_path / "manifests"
    (folder / "data").mkdir(parents=True)
    _write(folder / "data" / "items.parquet", [1, 2, 3])
    manifest = folder / "swap.yaml"
    manifest.write_text(MANIFEST.format(warehouse=warehouse), encoding="utf-8")
    return emulator, manifest


def _ids(emulator: Emulator) -> list[int]:
    return sorted(row[0] for row in emulator.rows("SELECT id FROM swap.items"))


def test_a_file_swapped_after_planning_fails_the_apply(setup: tuple[Emulator, Path], tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    emulator, manifest = setup
    source = manifest.parent / "data" / "items.parquet"
    swapped = tmp_path / "swapped.parquet"
    _write(swapped, [7, 8, 9])
    assert swapped.stat().st_size == source.stat().st_size and file_sha256(swapped) != file_sha256(source)
    real_stage = apply_module.start_staging

    def swap_then_stage(*args: object, **kwargs: object) -> object:
        source.write_bytes(swapped.read_bytes())      # between plan and stage
        return real_stage(*args, **kwargs)            # type: ignore[arg-type]

    monkeypatch.setattr(apply_module, "start_staging", swap_then_stage)
    with pytest.raises(LoadFailed) as caught:
        apply(manifest)
    assert "data/items.parquet changed since it was planned" in str(caught.value)
    assert "swap.items" not in emulator.snapshot()          # nothing loaded, not even the table
    monkeypatch.setattr(apply_module, "start_staging", real_stage)
    assert apply(manifest).changed                          # planned again: loads the file as it is now
    assert _ids(emulator) == [7, 8, 9]
    assert not apply(manifest).changed


def test_a_replaced_staged_object_is_not_trusted(setup: tuple[Emulator, Path], tmp_path: Path) -> None:
    emulator, manifest = setup
    first = apply(manifest)
    staged = first.plan.tables[0].files[0].staged_uri
    forged = tmp_path / "forged.parquet"
    _write(forged, [7, 8, 9])
    if staged.startswith("s3://"):
        import boto3

        bucket, key = staged[len("s3://"):].split("/", 1)
        boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=forged.read_bytes())
    else:
        from manifest_loader.fileuri import file_path

        file_path(staged).write_bytes(forged.read_bytes())
    apply(manifest, force=True)
    assert _ids(emulator) == [1, 2, 3]


@pytest.mark.parametrize("setup", [("redshift", "file")], indirect=True, ids=["redshift-file"])
def test_the_load_starts_while_staging_goes_on_and_a_late_failure_loads_nothing(
        setup: tuple[Emulator, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Redshift emulator streams the staged objects itself: its COPY starts once the first
    is staged (stage.Staging, staged_gate.py), not after the last. A later object that fails
    staging then stops the load under way, and the transaction leaves nothing behind."""

    from manifest_loader import stage

    emulator, manifest = setup
    data = manifest.parent / "data"
    _write(data / "more.parquet", [4, 5, 6])
    manifest.write_text(manifest.read_text().replace("data/items.parquet", "data/*.parquet"), encoding="utf-8")
    progress, loading = watching("table_start")
    real_put = stage._put
    seen: dict[str, bool] = {}

    def put_more_late(staged: stage.StagedFile, result: stage.StageResult, **options: Any) -> bool:
        if staged.source.display.endswith("more.parquet"):
            seen["load started first"] = loading.wait(timeout=30)
            _write(data / "more.parquet", [7, 8, 9])    # changed since planning: staging it fails
        return real_put(staged, result, **options)

    monkeypatch.setattr(stage, "_put", put_more_late)
    with pytest.raises(LoadFailed) as caught:
        apply(manifest, progress=progress)
    assert seen == {"load started first": True}
    assert "data/more.parquet changed since it was planned" in str(caught.value)
    assert "swap.items" not in emulator.snapshot()          # the rows of items.parquet were rolled back
    monkeypatch.setattr(stage, "_put", real_put)
    assert apply(manifest).changed
    assert _ids(emulator) == [1, 2, 3, 7, 8, 9]


@pytest.mark.parametrize("setup", [("redshift", "file")], indirect=True, ids=["redshift-file"])
def test_a_file_is_read_while_it_is_staged_and_a_change_midway_loads_nothing(
        setup: tuple[Emulator, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """On the Redshift emulator a local file's copy to the file:// stage is read as it is written
    (footer first, then each row group once its bytes are in: staged_gate.py), so even a load of
    one file does not wait for its copy. What is read is what is hashed: a file changed while it
    is copied fails the apply, naming it, and the table keeps what it had."""

    from manifest_loader import fetch, stage

    emulator, manifest = setup
    source = manifest.parent / "data" / "items.parquet"
    ids = list(range(200_000))
    pq.write_table(pa.table({"id": pa.array(ids, pa.int64())}), source, compression="none", row_group_size=20_000)
    size = source.stat().st_size
    monkeypatch.setattr(stage, "_READ_BYTES", 64 * 1024)
    monkeypatch.setattr(stage, "_COPY_BYTES", 64 * 1024)
    progress, loading = watching("table_rows")
    real_written = fetch.LocalCopy.written
    seen: dict[str, bool] = {}
    midway: list[Callable[[], None]] = []

    def written(copy: fetch.LocalCopy, end: int) -> None:
        real_written(copy, end)
        if end > size // 2 and "rows loaded before the copy ended" not in seen:
            seen["rows loaded before the copy ended"] = loading.wait(timeout=30)
            for change in midway:
                change()

    monkeypatch.setattr(fetch.LocalCopy, "written", written)
    first = apply(manifest, progress=progress)
    assert first.changed
    assert seen == {"rows loaded before the copy ended": True}
    rows = emulator.rows("SELECT count(*), sum(id), min(id), max(id) FROM swap.items")
    assert rows == [(200_000, sum(ids), 0, 199_999)]

    # Again, with the staged copy gone and the file rewritten (same size, other values) while it
    # is copied again, half done.
    from manifest_loader.fileuri import file_path

    file_path(first.plan.tables[0].files[0].staged_uri).unlink()
    changed = pa.table({"id": pa.array([i + 1_000_000 for i in ids], pa.int64())})
    rewritten = source.with_name("rewritten.parquet")
    pq.write_table(changed, rewritten, compression="none", row_group_size=20_000)
    assert rewritten.stat().st_size == size
    midway.append(lambda: source.write_bytes(rewritten.read_bytes()))
    seen.clear()
    progress, loading = watching("table_rows")
    with pytest.raises(LoadFailed) as caught:
        apply(manifest, progress=progress, force=True)
    assert seen == {"rows loaded before the copy ended": True}
    assert "data/items.parquet changed since it was planned" in str(caught.value)
    assert emulator.rows("SELECT count(*), sum(id) FROM swap.items") == [(200_000, sum(ids))]
