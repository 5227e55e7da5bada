"""Find a table's Parquet files and read what their footers say (never their data pages)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from .fileuri import file_path, is_file_uri
from .footer_cache import Footer, FooterCache, FooterColumn, FooterSchema
from .globbing import expand
from .storage import S3Location, s3_client

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq

_GLOB_CHARS = set("*?[")
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
    schema: FooterSchema  # the columns and their portable types
    # min and max of the signed-integer columns, from the footer's statistics (where every row group has them)
    int_ranges: Mapping[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def local_path(self) -> Path | None:
        return file_path(self.uri) if is_file_uri(self.uri) else None

    @property
    def digest(self) -> str:
        return self.content_hash.split(":", 1)[1]


class Listed(NamedTuple):
    """A file a source names; an S3 listing also gives its ETag and size, so no HEAD is needed."""

    uri: str
    display: str
    etag: str | None = None
    size: int | None = None


def _shown(path: Path) -> str:
    """A path as messages print it: relative to the working directory when under it, like the
    manifest path the user typed, so messages are short and the same on every checkout."""
    cwd = Path.cwd()
    if path.is_relative_to(cwd):
        return str(path.relative_to(cwd)) or "."
    return str(path)


def list_sources(source: str, manifest_folder: Path, *, real_folder: Path | None = None) -> list[Listed]:
    """(uri, display) of every Parquet file a source names, sorted for a stable plan.

    A relative path is read from the manifest's folder and may not leave it through `..` or a
    symlink (a checked-in manifest must not pick up files elsewhere by accident). An absolute
    path, a `file://` URI or a `${VAR}`-rooted path (interpolated to an absolute one before this
    sees it) names data kept elsewhere on purpose, such as a simulator's data root: it is read
    where it is. `real_folder` is `manifest_folder.resolve()` when the caller already knows it (a
    manifest of 200 tables spent 5% of its plan resolving its folder again for each).
    """
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in source):
        raise SourceProblem(f"source {source!r} contains a control character (newline, tab, NUL, ...); "
                            "no file name here needs one")
    if source.startswith("s3://"):
        return _list_s3(source)
    if is_file_uri(source):
        return _list_local(source, file_path(source), None)
    if "://" in source:
        raise SourceProblem(f"source '{source}' must be a path (relative to the manifest, or absolute), "
                            "a file:// URI or an s3:// URL")
    if Path(source).is_absolute():
        return _list_local(source, Path(source), None)
    root = real_folder or manifest_folder.resolve()
    return _list_local(source, root / source, root)


def _list_local(source: str, pattern: Path, root: Path | None) -> list[Listed]:
    """Files a local source names; with `root` (a relative source) they must stay under it."""
    hint = ""
    if set(source) & _GLOB_CHARS:
        matches = expand(pattern, root)
    elif pattern.is_dir():
        matches = list(pattern.glob("*.parquet"))
        if not matches and any(pattern.glob("**/*.parquet")):
            hint = (f"; a folder source reads only the *.parquet files directly in it, write "
                    f"'{source.rstrip('/')}/**/*.parquet' to include subfolders")
    elif pattern.exists():
        matches = [pattern]
    else:
        where = "sources are relative to the manifest's folder" if root is not None else \
            "check the path (and the variable it starts with, if any)"
        raise SourceProblem(f"source '{source}' does not exist (looked for {_shown(pattern)}); {where}")
    files = []
    for path in sorted(matches):
        real = path.resolve()
        if root is not None and not real.is_relative_to(root):
            raise SourceProblem(f"source '{source}' reaches {_shown(real)}, outside the manifest's folder "
                                f"{_shown(root)}; keep data under the manifest's folder, or name data kept "
                                "elsewhere by an absolute path, a file:// URI, ${VAR}/... or s3://")
        if real.is_file():
            shown = str(path.relative_to(root)) if root is not None else _shown(path)
            files.append(Listed(real.as_uri(), shown))
    if not files:
        raise SourceProblem(f"source '{source}' matches no Parquet files (looked in {_shown(pattern)}){hint}")
    return files


def _list_s3(source: str) -> list[Listed]:
    location = S3Location.parse(source)
    client = s3_client()
    objects: list[Listed] = []
    try:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=location.bucket,
                                                                     Prefix=location.key):
            for o in page.get("Contents", []):
                if o["Key"].endswith(".parquet"):
                    uri = f"s3://{location.bucket}/{o['Key']}"
                    objects.append(Listed(uri, uri, o["ETag"].strip('"'), o["Size"]))
    except Exception as exc:  # botocore raises many types; the message is what matters
        raise SourceProblem(f"cannot list {source}: {_short(exc)}{_credentials_hint(exc)}") from None
    if not objects:
        raise SourceProblem(f"source '{source}' matches no .parquet objects")
    return sorted(objects)


def _credentials_hint(exc: Exception) -> str:
    if type(exc).__name__ != "NoCredentialsError":
        return ""
    return ("; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), and AWS_ENDPOINT_URL "
            "for a local S3 such as moto")


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0][:300]


def file_sha256(path: Path) -> str:
    with path.open("rb", buffering=0) as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()   # one reused 256 KiB buffer


def _sha256_beside(path: Path) -> Callable[[], str]:
    """file_sha256(path) in a thread of its own; the function returned waits for it (and raises
    what it raised)."""
    import threading

    outcome: list[str | BaseException] = []

    def run() -> None:
        try:
            outcome.append(file_sha256(path))
        except BaseException as exc:   # handed to the caller by wait()
            outcome.append(exc)

    thread = threading.Thread(target=run, name="manifest-loader-hash", daemon=True)
    thread.start()

    def wait() -> str:
        thread.join()
        if isinstance(outcome[0], BaseException):
            raise outcome[0]
        return outcome[0]

    return wait


def describe_sources(sources: list[Listed], *, hash_content: bool = True,
                     cache: FooterCache | None = None) -> list[SourceFile]:
    """describe_source of each listed file, in order; several at once, since each waits on S3
    round trips or on hashing (which releases the GIL). The first problem in order is raised."""
    def describe(listed: Listed) -> SourceFile:
        return describe_source(listed.uri, listed.display, hash_content=hash_content, cache=cache,
                               etag=listed.etag, size=listed.size)

    if len(sources) <= 1:
        return [describe(listed) for listed in sources]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(_DESCRIBE_THREADS, len(sources))) as pool:
        return list(pool.map(describe, sources))


def describe_source(uri: str, display: str, *, hash_content: bool = True, cache: FooterCache | None = None,
                    etag: str | None = None, size: int | None = None) -> SourceFile:
    """One file's schema and row count (from its footer, or the cache); local files are hashed by
    content (for staging), S3 objects are known by ETag."""
    if uri.startswith("s3://"):
        return _describe_s3(uri, display, cache, etag, size)
    path = file_path(uri)
    size = path.stat().st_size
    if size == 0:
        raise SourceProblem(f"{display} is empty (0 bytes), not a Parquet file; remove it or regenerate it")
    identity = FooterCache.local_identity(path) if cache else ""
    cached = cache.get(identity) if cache else None
    # The hash (sha256 releases the GIL) runs beside the footer's read, which imports pyarrow first.
    hashed = _sha256_beside(path) if hash_content and (cached is None or cached.sha256 is None) else None
    footer = cached or _read_footer(path, display)
    if hashed is not None:
        footer = replace(footer, sha256=hashed())
    if cache and footer != cached:
        cache.put(identity, footer)
    return SourceFile(uri, display, size, footer.rows, "sha256:" + (footer.sha256 or "not-computed"),
                      footer.schema, footer.int_ranges)


def _read_footer(path: Path, display: str) -> Footer:
    import pyarrow.parquet as pq

    try:
        metadata = pq.read_metadata(path)
    except Exception as exc:
        raise SourceProblem(f"{display} is not a readable Parquet file ({_short(exc)}); "
                            "regenerate it or remove it from the source") from None
    return footer_of(metadata, display)


def footer_of(metadata: pq.FileMetaData, display: str = "the file") -> Footer:
    """Row count, Arrow schema and the integer columns' ranges a Parquet footer gives; raises
    SourceProblem for a footer no reader can be trusted with (footer_checks)."""
    import pyarrow.types as t

    from .footer_checks import FooterProblem, footer_rows

    try:
        rows = footer_rows(metadata, display)
    except FooterProblem as exc:
        raise SourceProblem(str(exc)) from None
    schema = metadata.schema.to_arrow_schema()
    leaves = {metadata.schema.column(i).path: i for i in range(metadata.num_columns)}
    ranges: dict[str, tuple[int, int]] = {}
    for name in (f.name for f in schema if t.is_signed_integer(f.type)):
        index = leaves.get(name)
        if index is None:
            continue
        chunks = [metadata.row_group(g).column(index) for g in range(metadata.num_row_groups)]
        # A row group of NULLs only has no min/max, and no value a key check needs to see.
        chunks = [c for c in chunks if not (c.statistics is not None and c.statistics.null_count == c.num_values)]
        bounds = [_bounds(c) for c in chunks]
        if bounds and None not in bounds:
            ranges[name] = (min(b[0] for b in bounds), max(b[1] for b in bounds))   # type: ignore[index]
    return Footer(rows, columns_of(schema), int_ranges=ranges)


def columns_of(schema: pa.Schema) -> FooterSchema:
    """Each column's portable type (or why it has none), as resolve and plan need them."""
    import pyarrow.types as t

    from .types import TypeProblem, infer_from_arrow

    columns = []
    for column in schema:
        kind = column.type
        nanoseconds = t.is_timestamp(kind) and kind.unit == "ns"
        try:
            portable, problem = infer_from_arrow(kind), None
        except TypeProblem as exc:
            portable, problem = None, str(exc)
        columns.append(FooterColumn(column.name, portable, problem, _holds_map(kind), nanoseconds))
    return FooterSchema(tuple(columns))


def _holds_map(kind: pa.DataType) -> bool:
    """Whether a type is a MAP, or holds one inside a list or struct."""
    import pyarrow.types as t

    if t.is_map(kind):
        return True
    if t.is_list(kind) or t.is_large_list(kind) or t.is_fixed_size_list(kind):
        return _holds_map(kind.value_type)
    if t.is_struct(kind):
        return any(_holds_map(field.type) for field in kind)
    return False


def _bounds(chunk: pq.ColumnChunkMetaData) -> tuple[int, int] | None:
    stats = chunk.statistics
    if stats is None or not stats.has_min_max:
        return None
    low, high = stats.min, stats.max
    return (low, high) if isinstance(low, int) and isinstance(high, int) else None


_S3_TAIL_BYTES = 64 * 1024   # the footer of a file with a few dozen row groups, and its length


def _s3_metadata(location: S3Location, etag: str, size: int) -> pq.FileMetaData:
    """The footer of the listed version of an S3 object (If-Match on its ETag: an object rewritten
    since the LIST fails, rather than mixing one version's size with another's footer), read by
    ranged GETs on the loader's client: the last 64 KB, then the whole footer if it is longer
    (a body cut short is asked for again from where it stopped).
    Not pyarrow's S3 filesystem, whose AWS SDK start-up (0.05 s) an S3 apply paid only for this."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from .fetch import read_range  # a body cut short is asked for again, as a staged object's

    def tail(length: int) -> bytes:
        return read_range(s3_client(), location, f"bytes=-{length}", etag)

    data = tail(min(_S3_TAIL_BYTES, size)) if size > 0 else b""
    if len(data) >= 8 and data[-4:] == b"PAR1":
        footer = int.from_bytes(data[-8:-4], "little") + 8
        if len(data) < footer <= size:
            data = tail(footer)
    # Offsets in the footer point into the whole file; only the footer is parsed here, and a
    # damaged one fails as it would on the whole file.
    return pq.ParquetFile(pa.BufferReader(data)).metadata


def _describe_s3(uri: str, display: str, cache: FooterCache | None, etag: str | None,
                 size: int | None) -> SourceFile:
    location = S3Location.parse(uri)
    try:
        if etag is None or size is None:
            head = s3_client().head_object(Bucket=location.bucket, Key=location.key)
            etag, size = head["ETag"].strip('"'), int(head["ContentLength"])
        identity = FooterCache.s3_identity(uri, etag, size)
        footer = cache.get(identity) if cache else None
        if footer is None:
            footer = footer_of(_s3_metadata(location, etag, size), display)
            if cache:
                cache.put(identity, footer)
    except SourceProblem:
        raise
    except Exception as exc:
        raise SourceProblem(f"{display}: cannot read the Parquet footer: {_short(exc)}") from None
    return SourceFile(uri, display, size, footer.rows, "etag:" + etag, footer.schema, footer.int_ranges)
