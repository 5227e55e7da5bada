"""Find a table's Parquet files and read what their footers say (never their data pages)."""

from __future__ import annotations

import glob
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .storage import S3Location, s3_client, s3_filesystem

if TYPE_CHECKING:
    import pyarrow as pa

_GLOB_CHARS = set("*?[")
_HASH_CHUNK = 4 * 1024 * 1024
_DESCRIBE_THREADS = 8


class SourceProblem(ValueError):
    """A source that cannot be used; the message names the file."""


@dataclass(frozen=True)
class SourceFile:
    """One Parquet file of a table, identified by content."""

    uri: str              # file:///abs/path or s3://bucket/key
    display: str          # as the user would recognise it (relative to the manifest)
    size: int
    rows: int
    content_hash: str     # "sha256:<hex>" for local files, "etag:<etag>" for objects used in place
    schema: pa.Schema

    @property
    def local_path(self) -> Path | None:
        return Path(self.uri[len("file://"):]) if self.uri.startswith("file://") else None

    @property
    def digest(self) -> str:
        return self.content_hash.split(":", 1)[1]


def _shown(path: Path) -> str:
    """A path as messages print it: relative to the working directory when under it, like the
    manifest path the user typed, so messages are short and the same on every checkout."""
    cwd = Path.cwd()
    if path.is_relative_to(cwd):
        return str(path.relative_to(cwd)) or "."
    return str(path)


def list_sources(source: str, manifest_folder: Path) -> list[tuple[str, str]]:
    """(uri, display) of every Parquet file a source names, sorted for a stable plan."""
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in source):
        raise SourceProblem(f"source {source!r} contains a control character (newline, tab, NUL, ...); "
                            "no file name here needs one")
    if source.startswith("s3://"):
        return _list_s3(source)
    if "://" in source:
        raise SourceProblem(f"source '{source}' must be a path relative to the manifest or an s3:// URL")
    root = manifest_folder.resolve()
    if Path(source).is_absolute():
        raise SourceProblem(f"source '{source}' is an absolute path; write it relative to the manifest's "
                            f"folder ({_shown(root)}) so the manifest works on every checkout")
    pattern = root / source
    hint = ""
    if set(source) & _GLOB_CHARS:
        matches = [Path(p) for p in glob.glob(str(pattern), recursive=True)]
    elif pattern.is_dir():
        matches = list(pattern.glob("*.parquet"))
        if not matches and any(pattern.glob("**/*.parquet")):
            hint = (f"; a folder source reads only the *.parquet files directly in it, write "
                    f"'{source.rstrip('/')}/**/*.parquet' to include subfolders")
    elif pattern.exists():
        matches = [pattern]
    else:
        raise SourceProblem(f"source '{source}' does not exist (looked for {_shown(pattern)}); sources are "
                            "relative to the manifest's folder")
    files = []
    for path in sorted(matches):
        real = path.resolve()
        if not real.is_relative_to(root):
            raise SourceProblem(f"source '{source}' reaches {_shown(real)}, outside the manifest's folder "
                                f"{_shown(root)}; keep data under the manifest's folder or use s3://")
        if real.is_file():
            files.append((real.as_uri(), str(path.relative_to(root))))
    if not files:
        raise SourceProblem(f"source '{source}' matches no Parquet files (looked in {_shown(pattern)}){hint}")
    return files


def _list_s3(source: str) -> list[tuple[str, str]]:
    location = S3Location.parse(source)
    client = s3_client()
    keys: list[str] = []
    try:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=location.bucket,
                                                                     Prefix=location.key):
            keys += [o["Key"] for o in page.get("Contents", []) if o["Key"].endswith(".parquet")]
    except Exception as exc:  # botocore raises many types; the message is what matters
        raise SourceProblem(f"cannot list {source}: {_short(exc)}") from None
    if not keys:
        raise SourceProblem(f"source '{source}' matches no .parquet objects")
    return [(f"s3://{location.bucket}/{k}", f"s3://{location.bucket}/{k}") for k in sorted(keys)]


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0][:300]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def describe_sources(sources: list[tuple[str, str]], *, hash_content: bool = True) -> list[SourceFile]:
    """describe_source of each (uri, display), in order; several at once, since each waits on S3
    round trips or on hashing (which releases the GIL). The first problem in order is raised."""
    if len(sources) <= 1:
        return [describe_source(uri, display, hash_content=hash_content) for uri, display in sources]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(_DESCRIBE_THREADS, len(sources))) as pool:
        return list(pool.map(lambda source: describe_source(*source, hash_content=hash_content), sources))


def describe_source(uri: str, display: str, *, hash_content: bool = True) -> SourceFile:
    """Read one file's footer: schema, row count; hash local files by content (for staging)."""
    import pyarrow.parquet as pq

    if uri.startswith("s3://"):
        location = S3Location.parse(uri)
        try:
            head = s3_client().head_object(Bucket=location.bucket, Key=location.key)
            with s3_filesystem().open_input_file(f"{location.bucket}/{location.key}") as handle:
                metadata = pq.ParquetFile(handle).metadata
                schema = metadata.schema.to_arrow_schema()
        except Exception as exc:
            raise SourceProblem(f"{display}: cannot read the Parquet footer: {_short(exc)}") from None
        return SourceFile(uri, display, head["ContentLength"], metadata.num_rows,
                          "etag:" + head["ETag"].strip('"'), schema)
    path = Path(uri[len("file://"):])
    size = path.stat().st_size
    if size == 0:
        raise SourceProblem(f"{display} is empty (0 bytes), not a Parquet file; remove it or regenerate it")
    try:
        metadata = pq.read_metadata(path)
        schema = metadata.schema.to_arrow_schema()
    except Exception as exc:
        raise SourceProblem(f"{display} is not a readable Parquet file ({_short(exc)}); "
                            "regenerate it or remove it from the source") from None
    digest = file_sha256(path) if hash_content else "not-computed"
    return SourceFile(uri, display, size, metadata.num_rows, "sha256:" + digest, schema)
