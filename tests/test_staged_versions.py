"""On a versioned stage bucket the ledger records the S3 version of every object loaded, taken
from the response that wrote it: a PutObject, a CopyObject, or (where boto3's multipart
transfer hides the response) a HEAD afterwards. Local and S3 sources, moto over HTTP."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from loadkit import ROOT

from manifest_loader import stage
from manifest_loader.apply import apply
from manifest_loader.commands import make_plan
from manifest_loader.errors import LoadFailed
from manifest_loader.progress import Progress
from manifest_loader.query import run_query
from manifest_loader.stage import stage_plan
from manifest_loader.storage import s3_client

CUSTOMERS = ROOT / "manifests" / "data" / "ecommerce" / "customers"


def _manifest(folder: Path, source: str) -> Path:
    manifest = folder / "versions.yaml"
    manifest.write_text("version: 1\nname: versions\ntarget: {warehouse: redshift}\ntables:\n"
                        f"  - name: customers\n    source: {source}\n    primary_key: [customer_id]\n")
    return manifest


@pytest.fixture
def versioned_stage(s3_env: str, tmp_path: Path, pg_database: str, monkeypatch: pytest.MonkeyPatch) -> str:
    bucket = f"versioned-{uuid.uuid4().hex[:8]}"
    client = boto3.client("s3")
    client.create_bucket(Bucket=bucket)
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    monkeypatch.setenv("MANIFEST_LOADER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DW_SIMULATOR_STAGE_BUCKET", f"s3://{bucket}/staging")
    monkeypatch.setenv("DW_SIMULATOR_REDSHIFT_URL", pg_database)
    return bucket


def _heads_counted() -> list[str]:
    """Keys of the HeadObject calls the loader's S3 client makes from now on."""
    keys: list[str] = []

    def count(params: dict[str, Any], **_: Any) -> None:
        keys.append(params["Key"])

    s3_client().meta.events.register("provide-client-params.s3.HeadObject", count, unique_id="count-heads")
    return keys


def _recorded_versions(manifest: Path, bucket: str) -> dict[str, str]:
    _, rows = run_query(manifest, "select staged_key, staged_version from _manifest_loader_ledger", "redshift")
    recorded = {str(key).removeprefix(f"s3://{bucket}/"): version for key, version in rows}
    latest = {v["Key"]: v["VersionId"] for v in boto3.client("s3").list_object_versions(
        Bucket=bucket, Prefix="staging/")["Versions"] if v["IsLatest"]}
    assert recorded.keys() == latest.keys() and len(latest) == 2, (recorded, latest)
    assert recorded == latest
    return recorded


@pytest.mark.parametrize("multipart", [False, True], ids=["put", "multipart"])
def test_local_sources_record_the_version_their_upload_wrote(versioned_stage: str, tmp_path: Path, multipart: bool,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    if multipart:   # boto3's transfer manager, one part per file
        monkeypatch.setattr(stage, "MULTIPART_THRESHOLD", 1)
    manifest = _manifest(tmp_path, str(CUSTOMERS) + "/")
    heads = _heads_counted()
    try:
        assert apply(manifest, "redshift").rows == 200
    finally:
        s3_client().meta.events.unregister("provide-client-params.s3.HeadObject", unique_id="count-heads")
    _recorded_versions(manifest, versioned_stage)
    # One HEAD per file asks whether the stage holds it already; a single PutObject's response
    # carries the new version, so only a multipart upload is asked again afterwards.
    assert len(heads) == (4 if multipart else 2), heads


@pytest.mark.parametrize("copy_delay", [0.0, 1.5], ids=["as_it_comes", "copy_after_load"])
def test_s3_sources_record_the_version_their_copy_wrote(versioned_stage: str, tmp_path: Path, copy_delay: float,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # The emulator reads an S3 source while S3 copies it to the stage, so the rows can be in before
    # the copy (and its version) is: copy_after_load holds each copy back until the load is done.
    put = stage._put_s3

    def slow_put(*args: Any) -> bool:
        time.sleep(copy_delay)
        return put(*args)

    monkeypatch.setattr(stage, "_put_s3", slow_put)
    client = boto3.client("s3")
    for path in sorted(CUSTOMERS.glob("*.parquet")):
        client.upload_file(str(path), versioned_stage, f"raw/{path.name}")
    manifest = _manifest(tmp_path, f"s3://{versioned_stage}/raw/")
    assert apply(manifest, "redshift").rows == 200
    _recorded_versions(manifest, versioned_stage)


def test_a_local_file_changed_since_the_plan_is_never_uploaded(versioned_stage: str, tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    for path in CUSTOMERS.glob("*.parquet"):
        (folder / path.name).write_bytes(path.read_bytes())
    manifest = _manifest(tmp_path, str(folder) + "/")
    plan, _ = make_plan(manifest, "redshift")
    changed = sorted(folder.glob("*.parquet"))[0]
    changed.write_bytes(changed.read_bytes()[:-1] + b"\x00")
    with pytest.raises(LoadFailed, match=f"{changed.name} changed since it was planned"):
        stage_plan(plan, Progress())
    listed = boto3.client("s3").list_object_versions(Bucket=versioned_stage, Prefix="staging/")
    staged = {f.source.display.rsplit("/", 1)[-1]: f.staged_uri for f in plan.tables[0].files}
    kept = [v["Key"] for v in listed.get("Versions", [])]
    assert staged[changed.name].removeprefix(f"s3://{versioned_stage}/") not in kept, kept
