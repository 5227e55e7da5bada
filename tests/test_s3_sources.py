"""Sources already on S3 are used where they are: footers read in place, staged by server-side copy."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import boto3
import pyarrow.parquet as pq
import pytest
from loadkit import ROOT, count, fingerprints, parquet_columns, warehouse_columns, watching

from manifest_loader.apply import apply
from manifest_loader.commands import make_plan

MANIFEST = """\
version: 1
name: s3src
target: {warehouse: redshift}
tables:
  - name: customers
    source: s3://local/raw/customers/
    primary_key: [customer_id]
"""


@pytest.fixture
def s3_manifest(tmp_path: Path, s3_env: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MANIFEST_LOADER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DW_SIMULATOR_STAGE_BUCKET", "s3://local/staging")
    client = boto3.client("s3")
    for path in sorted((ROOT / "manifests" / "data" / "ecommerce" / "customers").glob("*.parquet")):
        client.upload_file(str(path), "local", f"raw/customers/{path.name}")
    manifest = tmp_path / "s3src.yaml"
    manifest.write_text(MANIFEST)
    return manifest


@pytest.mark.parametrize("warehouse", ["redshift", "snowflake"])
def test_s3_sources_load_without_passing_through_local_disk(s3_manifest: Path, warehouse: str, pg_database: str,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DW_SIMULATOR_REDSHIFT_URL", pg_database)
    plan, _ = make_plan(s3_manifest, warehouse)
    (table,) = plan.tables
    assert [f.source.uri for f in table.files] == ["s3://local/raw/customers/part-0.parquet",
                                                   "s3://local/raw/customers/part-1.parquet"]
    assert all(f.source.content_hash.startswith("etag:") for f in table.files)
    result = apply(s3_manifest, warehouse)
    assert result.rows == 200
    keys = {o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket="local", Prefix="staging/")["Contents"]}
    assert {f.staged_uri.removeprefix("s3://local/") for f in table.files} <= keys
    expected = fingerprints(parquet_columns(ROOT / "manifests" / "data" / "ecommerce" / "customers"))
    actual = fingerprints(warehouse_columns(s3_manifest, "customers", warehouse, "customer_id"))
    assert actual == expected
    assert count(s3_manifest, "customers", warehouse) == 200
    state = s3_manifest.parent / "state"
    # The emulator's local copies of the staged objects are gone once the load is done.
    assert not any(p.is_file() for p in (state / "mirror").rglob("*"))
    # What the footers said is remembered by ETag: the re-apply reads none of them again.
    assert len(list((state / "footers").iterdir())) == 2
    assert not apply(s3_manifest, warehouse).changed
    # What the listing must still see on a re-apply: an object removed, added back, overwritten.
    client, folder = boto3.client("s3"), ROOT / "manifests" / "data" / "ecommerce" / "customers"
    client.delete_object(Bucket="local", Key="raw/customers/part-1.parquet")
    first = pq.read_metadata(folder / "part-0.parquet").num_rows
    assert apply(s3_manifest, warehouse).changed and count(s3_manifest, "customers", warehouse) == first
    client.upload_file(str(folder / "part-1.parquet"), "local", "raw/customers/part-1.parquet")
    assert apply(s3_manifest, warehouse).changed and count(s3_manifest, "customers", warehouse) == 200
    fewer = s3_manifest.parent / "fewer.parquet"
    pq.write_table(pq.read_table(folder / "part-1.parquet").slice(0, 10), fewer)
    client.upload_file(str(fewer), "local", "raw/customers/part-1.parquet")
    assert apply(s3_manifest, warehouse).changed and count(s3_manifest, "customers", warehouse) == first + 10
    assert not apply(s3_manifest, warehouse).changed


_LIST = """
import sys
import time
from pathlib import Path
from manifest_loader.sources import list_sources
files = list_sources("s3://local/raw/customers/", Path("."))
print(len(files), sorted(m for m in ("boto3", "s3transfer", "pyarrow", "numpy", "OpenSSL") if m in sys.modules))
# botocore's TLS context is the one it would have taken from pyOpenSSL's module, which still imports.
import botocore.httpsession, urllib3.contrib.pyopenssl, urllib3.util.ssl_
print(botocore.httpsession.SSLContext is urllib3.util.ssl_.SSLContext is urllib3.contrib.pyopenssl.orig_util_SSLContext)
"""


def test_listing_s3_sources_imports_neither_boto3_nor_pyarrow(s3_manifest: Path) -> None:
    # What a re-apply with nothing to load needs of S3: botocore's client for the LIST (boto3 and
    # its s3transfer cost 0.05-0.08 s, pyOpenSSL 0.05 s: storage.py), nanoarrow for the ledger
    # (tests/test_adbc_session.py).
    done = subprocess.run([sys.executable, "-c", _LIST], capture_output=True, text=True, check=True,
                          cwd=s3_manifest.parent)
    assert done.stdout.strip().splitlines() == ["2 []", "True"], done.stdout + done.stderr


_APPLY = """
import sys, traceback

HEAVY = ("boto3", "s3transfer", "pyarrow", "numpy")


class _Who:
    # Says on stderr which of the loader's frames first imported a heavy module, so a failure shows why.
    def find_spec(self, name, path=None, target=None):
        if name in HEAVY:
            frames = [f for f in traceback.extract_stack()[:-1] if "manifest_loader" in f.filename]
            print(f"imported {name} by:", "".join(traceback.format_list(frames)), sep="\\n", file=sys.stderr)
        return None


sys.meta_path.insert(0, _Who())
import manifest_loader.apply
from manifest_loader.cli import main

apply = sys.modules["manifest_loader.apply"]

staged = []
start_staging = apply.start_staging


def staging(*args, **kwargs):
    staged.append("staging")
    print("staging started by:", "".join(traceback.format_stack()), sep="\\n", file=sys.stderr)
    return start_staging(*args, **kwargs)


apply.start_staging = staging
try:
    main(["apply", sys.argv[1], "--target-warehouse", "redshift", "--progress", "log"])
except SystemExit as exit:
    assert not exit.code, exit.code
print(sorted([m for m in HEAVY if m in sys.modules] + staged))
"""


def test_a_no_change_reapply_from_s3_imports_neither_boto3_nor_pyarrow(s3_manifest: Path, pg_database: str,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # What a re-apply with nothing to load needs: botocore's client for the LIST, nanoarrow for the
    # ledger's rows (adbc_session.py). boto3's transfers and pyarrow cost it 0.2-0.3 s of CPU.
    monkeypatch.setenv("DW_SIMULATOR_REDSHIFT_URL", pg_database)

    def apply_in_a_process() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", _APPLY, str(s3_manifest)], capture_output=True, text=True,
                              check=True, cwd=s3_manifest.parent)

    first = apply_in_a_process()
    assert "No changes:" not in first.stdout, first.stdout + first.stderr
    again = apply_in_a_process()
    assert again.stdout.startswith("No changes:"), again.stdout + again.stderr
    assert again.stdout.strip().splitlines()[-1] == "[]", again.stdout + again.stderr
    assert count(s3_manifest, "customers", "redshift") == 200


def test_an_object_over_the_copy_limit_is_staged_by_a_multipart_copy(s3_manifest: Path, pg_database: str,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # Objects over 5 GiB cannot be copied by one CopyObject: boto3's managed copy copies them in parts.
    from manifest_loader import stage

    monkeypatch.setattr(stage, "COPY_MULTIPART_THRESHOLD", 1)
    monkeypatch.setenv("DW_SIMULATOR_REDSHIFT_URL", pg_database)
    # A stage of its own: nothing staged there by an earlier test.
    monkeypatch.setenv("DW_SIMULATOR_STAGE_BUCKET", f"s3://local/staging-{s3_manifest.parent.name}")
    result = apply(s3_manifest, "redshift")
    assert result.rows == 200
    client = boto3.client("s3")
    for staged in result.plan.tables[0].files:
        key = staged.staged_uri.removeprefix("s3://local/")
        body = client.get_object(Bucket="local", Key=key)["Body"].read()
        source = client.get_object(Bucket="local", Key=staged.source.uri.removeprefix("s3://local/"))["Body"].read()
        assert body == source and client.head_object(Bucket="local", Key=key)["ETag"].endswith('-1"')
    expected = fingerprints(parquet_columns(ROOT / "manifests" / "data" / "ecommerce" / "customers"))
    assert fingerprints(warehouse_columns(s3_manifest, "customers", "redshift", "customer_id")) == expected


def test_s3_footers_are_read_by_ranged_gets_of_the_listed_version(s3_env: str, tmp_path: Path) -> None:
    import pyarrow as pa

    from manifest_loader.sources import SourceProblem, describe_source

    client = boto3.client("s3")
    # A footer longer than the first 64 KB read: 200 columns in 40 row groups.
    table = pa.table({f"c{i}": pa.array(range(400), pa.int64()) for i in range(200)})
    wide = tmp_path / "wide.parquet"
    pq.write_table(table, wide, row_group_size=10)
    footer_bytes = int.from_bytes(wide.read_bytes()[-8:-4], "little")
    assert footer_bytes > 64 * 1024
    client.upload_file(str(wide), "local", "footers/wide.parquet")
    described = describe_source("s3://local/footers/wide.parquet", "wide.parquet")
    assert described.rows == 400 and len(described.schema.columns) == 200
    # A small file: the first read is all of it.
    small = tmp_path / "small.parquet"
    pq.write_table(pa.table({"id": [1, 2, 3]}), small)
    client.upload_file(str(small), "local", "footers/small.parquet")
    assert describe_source("s3://local/footers/small.parquet", "small.parquet").rows == 3
    # Not Parquet: named as such.
    client.put_object(Bucket="local", Key="footers/t.parquet", Body=b"id,v\n1,a\n")
    with pytest.raises(SourceProblem, match=r"t.parquet: cannot read the Parquet footer: .*magic bytes"):
        describe_source("s3://local/footers/t.parquet", "t.parquet")
    # Rewritten after it was listed: the listed version is gone, and that is what is said.
    listed = client.head_object(Bucket="local", Key="footers/small.parquet")
    client.upload_file(str(wide), "local", "footers/small.parquet")
    with pytest.raises(SourceProblem, match=r"small.parquet: cannot read the Parquet footer: .*PreconditionFailed"):
        describe_source("s3://local/footers/small.parquet", "small.parquet", etag=listed["ETag"].strip('"'),
                        size=listed["ContentLength"])


def test_missing_credentials_say_which_variables_to_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         request: pytest.FixtureRequest) -> None:
    from click.testing import CliRunner

    from manifest_loader.cli import main
    from manifest_loader.storage import _client, _session

    # Clients are cached per endpoint and region, and the botocore session keeps the credentials
    # it found: start from neither, and leave neither behind.
    for cache in (_client, _session):
        cache.cache_clear()
        request.addfinalizer(cache.cache_clear)

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    manifest = tmp_path / "m.yaml"
    manifest.write_text(MANIFEST)
    result = CliRunner().invoke(main, ["validate", str(manifest)])
    assert result.exit_code == 2, result.output
    assert "cannot list s3://local/raw/customers/: Unable to locate credentials; set AWS_ACCESS_KEY_ID and " \
           "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), and AWS_ENDPOINT_URL for a local S3 such as moto" in result.output


def test_the_emulator_reads_an_s3_source_while_s3_copies_it_to_the_stage(
        s3_manifest: Path, pg_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Redshift emulator's load reads the planned version of an S3 source (If-Match on its
    ETag: the bytes the server-side copy makes) instead of waiting for the copy (staged_gate.py);
    the copy still ends before the commit. A source overwritten after planning fails the apply
    with the copy's word for it, and nothing is loaded."""

    import manifest_loader.apply as apply_module
    from manifest_loader import stage
    from manifest_loader.errors import LoadFailed

    monkeypatch.setenv("DW_SIMULATOR_REDSHIFT_URL", pg_database)
    progress, loading = watching("table_rows")
    real_put_s3 = stage._put_s3
    seen: list[bool] = []

    def copy_once_rows_loaded(staged: stage.StagedFile, result: stage.StageResult) -> bool:
        seen.append(loading.wait(timeout=30))
        return real_put_s3(staged, result)

    monkeypatch.setattr(stage, "_put_s3", copy_once_rows_loaded)
    result = apply(s3_manifest, "redshift", progress=progress)
    assert result.rows == 200 and seen == [True, True]
    keys = {o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket="local", Prefix="staging/")["Contents"]}
    assert {f.staged_uri.removeprefix("s3://local/") for f in result.plan.tables[0].files} <= keys
    expected = fingerprints(parquet_columns(ROOT / "manifests" / "data" / "ecommerce" / "customers"))
    assert fingerprints(warehouse_columns(s3_manifest, "customers", "redshift", "customer_id")) == expected

    # Overwritten between planning and staging (with the staged copies gone, so they are made
    # again): neither the read nor the copy takes the new bytes.
    monkeypatch.setattr(stage, "_put_s3", real_put_s3)
    for staged in result.plan.tables[0].files:
        boto3.client("s3").delete_object(Bucket="local", Key=staged.staged_uri.removeprefix("s3://local/"))
    folder = ROOT / "manifests" / "data" / "ecommerce" / "customers"
    fewer = s3_manifest.parent / "fewer.parquet"
    pq.write_table(pq.read_table(folder / "part-1.parquet").slice(0, 10), fewer)
    real_stage = apply_module.start_staging

    def overwrite_then_stage(*args: object, **kwargs: object) -> object:
        boto3.client("s3").upload_file(str(fewer), "local", "raw/customers/part-1.parquet")
        return real_stage(*args, **kwargs)   # type: ignore[arg-type]

    monkeypatch.setattr(apply_module, "start_staging", overwrite_then_stage)
    with pytest.raises(LoadFailed) as caught:
        apply(s3_manifest, "redshift", force=True)
    assert "part-1.parquet changed since it was planned" in str(caught.value)
    assert count(s3_manifest, "customers", "redshift") == 200


def test_an_s3_source_gone_after_its_copy_is_read_from_the_stage(
        s3_manifest: Path, pg_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The emulator reads an S3 source's planned version even once S3 has copied it; a source
    deleted after its copy ended is read from the staged copy, which holds the same bytes."""
    from manifest_loader import fetch, stage
    from manifest_loader.staged_gate import wait_staged

    monkeypatch.setenv("DW_SIMULATOR_REDSHIFT_URL", pg_database)
    real_put_s3, real_staged_source = stage._put_s3, fetch.staged_source
    client = boto3.client("s3")
    asked: list[str] = []

    def copy_then_delete_the_source(staged: stage.StagedFile, result: stage.StageResult) -> bool:
        copied = real_put_s3(staged, result)
        client.delete_object(Bucket="local", Key=staged.source.uri.removeprefix("s3://local/"))
        return copied

    def once_staged(uri: str) -> tuple[str, str] | None:
        wait_staged(uri)               # the copy (and the deletion) first
        source = real_staged_source(uri)
        asked.append(source[0] if source else "")
        return source

    monkeypatch.setattr(stage, "_put_s3", copy_then_delete_the_source)
    monkeypatch.setattr(fetch, "staged_source", once_staged)
    result = apply(s3_manifest, "redshift")
    assert result.rows == 200
    assert sorted(asked) == ["s3://local/raw/customers/part-0.parquet", "s3://local/raw/customers/part-1.parquet"]
    expected = fingerprints(parquet_columns(ROOT / "manifests" / "data" / "ecommerce" / "customers"))
    assert fingerprints(warehouse_columns(s3_manifest, "customers", "redshift", "customer_id")) == expected


def test_an_s3_source_deleted_while_it_is_read_is_named_as_the_source(
        s3_manifest: Path, pg_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Once the emulator has read part of an S3 source, the staged copy cannot take over (its bytes
    would be mixed with the source's): the apply fails naming the source as changed since it was
    planned, not the staged object, which is still there, and nothing is loaded."""
    from manifest_loader import fetch, stage
    from manifest_loader.errors import LoadFailed

    monkeypatch.setenv("DW_SIMULATOR_REDSHIFT_URL", pg_database)
    # The footer first, then the rest: these files are smaller than the usual tail (64 KiB).
    monkeypatch.setattr(fetch, "TAIL_BYTES", 4096)
    client = boto3.client("s3")
    real_get, real_put_s3 = fetch._get, stage._put_s3
    staged: list[str] = []
    deleted: list[str] = []

    def put_s3(file: stage.StagedFile, result: stage.StageResult) -> bool:
        done = real_put_s3(file, result)
        staged.append(file.staged_uri)
        return done

    def delete_before_the_body(s3: object, location: fetch.S3Location, byte_range: str | None,
                               etag: str | None) -> dict[str, object]:
        if location.key.startswith("raw/") and byte_range and byte_range.startswith("bytes=0-") and not deleted:
            deadline = time.monotonic() + 30   # both copies made first: staging has nothing to say
            while len(staged) < 2:
                assert time.monotonic() < deadline, "staging did not end"
                time.sleep(0.05)
            client.delete_object(Bucket="local", Key=location.key)
            deleted.append(location.key)
        return real_get(s3, location, byte_range, etag)

    monkeypatch.setattr(stage, "_put_s3", put_s3)
    monkeypatch.setattr(fetch, "_get", delete_before_the_body)
    with pytest.raises(LoadFailed) as caught:
        apply(s3_manifest, "redshift")
    assert len(deleted) == 1
    message = str(caught.value)
    assert (f"{deleted[0].rsplit('/', 1)[1]} changed since it was planned "
            "(it was deleted from S3 while it was read)") in message
    assert "staged object" not in message
    with pytest.raises(Exception, match="customers"):
        count(s3_manifest, "customers", "redshift")


def test_objects_of_every_size_in_turn_load_whole(tmp_path: Path, s3_env: str, pg_database: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # The emulator downloads objects into two temporary files taken in turn and overwritten in
    # place (fetch.local_copies): a small object after a large one in the same file, and a large
    # one after a small one, must each load exactly their own rows.
    import datetime

    import pyarrow as pa

    monkeypatch.setenv("MANIFEST_LOADER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DW_SIMULATOR_STAGE_BUCKET", "s3://local/staging")
    monkeypatch.setenv("DW_SIMULATOR_REDSHIFT_URL", pg_database)
    folder, client, first = tmp_path / "data", boto3.client("s3"), 0
    folder.mkdir()
    for index, rows in enumerate([40_000, 300, 700, 60_000]):
        ids = range(first, first + rows)
        pq.write_table(pa.table({
            "id": pa.array(ids, pa.int64()),
            "name": [f"näme {i} ✓" if i % 7 else None for i in ids],
            "score": [i / 3 for i in ids],
            "at": [datetime.datetime(2026, 1, 1) + datetime.timedelta(seconds=i) for i in ids],
        }), folder / f"part-{index}.parquet", row_group_size=8_000)
        client.upload_file(str(folder / f"part-{index}.parquet"), "local", f"raw/sizes/part-{index}.parquet")
        first += rows
    manifest = tmp_path / "sizes.yaml"
    manifest.write_text("version: 1\nname: sizes\ntarget: {warehouse: redshift}\ntables:\n"
                        "  - name: events\n    source: s3://local/raw/sizes/\n    primary_key: [id]\n")
    assert apply(manifest, "redshift").rows == first
    assert count(manifest, "events", "redshift") == first
    loaded = warehouse_columns(manifest, "events", "redshift", "id")
    assert fingerprints(loaded) == fingerprints(parquet_columns(folder))
