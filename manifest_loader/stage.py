"""Stage Parquet files where the warehouse (or the loader) reads them: s3:// or file://.

Objects are content-addressed (<prefix>/<manifest>/<table>/<digest>.parquet). What is staged
is verified, never assumed: a local file's sha256 is computed over the bytes actually copied
or uploaded and must be the one planned (else the file changed since planning: the apply fails
naming it, and nothing is loaded); an S3 source is copied or downloaded only if its ETag is
still the planned one. An existing object is trusted only by content: a file:// object by its
sha256, an S3 object by the hash recorded in its metadata at upload (`x-amz-meta-sha256`, or
`x-amz-meta-source-etag` for server-side copies). S3 calls retry
transient failures (botocore's standard mode: 5xx, throttling, resets, timeouts, with
exponential backoff and jitter) and never 4xx; errors name bucket and key.
"""

from __future__ import annotations

import errno
import functools
import hashlib
import os
import tempfile
import threading
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from .errors import ConnectionFailed, LoadFailed, changed_since_planned
from .fetch import TAIL_BYTES, LocalCopy
from .fileuri import file_path
from .plan import Plan, StagedFile, copy_manifest_body, copy_manifest_uri
from .progress import Progress
from .registry import by_dialect
from .run_events import submit
from .storage import S3Location, endpoint_url, s3_client, s3_probe_client
from .testhook import pause_point

MULTIPART_THRESHOLD = 64 * 1024 * 1024
COPY_MULTIPART_THRESHOLD = 5 * 1024 ** 3   # the largest object a single CopyObject may copy
# Files staged at once, as the AWS CLI copies several objects at once: ten 120 MB CopyObjects on
# moto took 6.3 s one at a time, 3.7 s four at a time (docs/benchmarks.md).
STAGE_THREADS = 4
# Local files copied onto a file:// stage go one at a time, in the plan's order: one kernel copy
# outruns the load that reads it, while four at once gave the first file a quarter of the copying
# and the load waited for its bytes (a 10M-row local apply streamed its first million rows in
# 3.7 s with four, 2.1 s with one: docs/benchmarks.md, "Stop 19").
LOCAL_COPY_THREADS = 1
# Uploads read the file through a hash as they send it, so parts are buffered in memory: bounded
# at UPLOAD_CHUNKS_IN_MEMORY x UPLOAD_CHUNK_BYTES per file being staged.
UPLOAD_CHUNK_BYTES = 16 * 1024 * 1024
UPLOAD_CHUNKS_IN_MEMORY = 4
# A local file's copy is hashed (or, where the kernel cannot copy it, copied) through one buffer
# of this size per staging thread: glibc keeps a freed buffer of a thread's own in that thread's
# heap, so with four threads 4 MB buffers (each read a new bytes object) held 40 MB more at 10
# files than at one (docs/benchmarks.md).
_READ_BYTES = 1024 * 1024
# What the kernel copies at a time, and how often a reader of the copy hears of new bytes.
_COPY_BYTES = 8 * 1024 * 1024
# copy_file_range cannot copy between these files (another filesystem, a kernel or filesystem
# without it): the copy goes through the buffer instead.
_NO_KERNEL_COPY = frozenset({errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL, errno.EPERM})


class _HashingReader:
    """A file read once, front to back, through sha256: the digest of exactly the bytes read.
    No seek(): the transfer manager then reads it in order and never twice."""

    def __init__(self, handle: Any):
        self.handle, self.sha256 = handle, hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.sha256.update(data)
        return bytes(data)


def _changed(staged: StagedFile, now: str) -> LoadFailed:
    return changed_since_planned(staged.source.display,
                                 f"its content is now {now}, the plan has {staged.source.content_hash}")


def _metadata(staged: StagedFile) -> dict[str, str]:
    """What an S3 object records about its content, to be trusted by it later."""
    kind, digest = staged.source.content_hash.split(":", 1)
    return {"sha256": digest} if kind == "sha256" else {"source-etag": digest}


@dataclass
class StageResult:
    uploaded: int = 0
    skipped: int = 0
    bytes_uploaded: int = 0
    version_ids: dict[str, str] = field(default_factory=dict)


def s3_failure(exc: Exception, action: str, uri: str) -> Exception:
    """A short error naming what failed, where, and what to do."""
    from botocore.exceptions import ClientError, EndpointConnectionError

    endpoint = endpoint_url() or "AWS S3"
    cause = exc.__context__ or exc.__cause__
    if isinstance(cause, ClientError | EndpointConnectionError):
        exc = cause   # boto3's transfer manager wraps the client error that says what happened
    if isinstance(exc, EndpointConnectionError):
        return ConnectionFailed(f"cannot reach the S3 endpoint {endpoint} ({action} {uri})",
                                hint="start it, or check AWS_ENDPOINT_URL")
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "?")
        location = S3Location.parse(uri)
        if code == "NoSuchBucket":
            return LoadFailed(f"bucket '{location.bucket}' does not exist at {endpoint} ({action} {uri})",
                              hint="create it, or point DW_SIMULATOR_STAGE_BUCKET / stage.url at another bucket")
        if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            return LoadFailed(f"S3 refused to {action} {uri}: {code}",
                              hint="check the credentials in the environment and the bucket policy")
        transient = code.startswith("5") or code in ("SlowDown", "InternalError", "ServiceUnavailable",
                                                     "Throttling", "RequestTimeout")
        return LoadFailed(f"S3 failed to {action} {uri}: {code}: {exc.response.get('Error', {}).get('Message', '')}",
                          hint=_PERSISTED if transient else None)
    return ConnectionFailed(f"S3 failed to {action} {uri}: {type(exc).__name__}: {str(exc)[:200]}", hint=_PERSISTED)


_PERSISTED = "S3 kept failing after retries: check the endpoint (AWS_ENDPOINT_URL) and apply again"


def stage_plan(plan: Plan, progress: Progress) -> StageResult:
    """Put every file of the plan on the stage (and the local mirror the emulator reads)."""
    return start_staging(plan, progress).finish()


def start_staging(plan: Plan, progress: Progress) -> Staging:
    """Start putting the plan's files on the stage (see Staging for how many at once) and return at once:
    `Staging.ready` waits for one object, `finish` for all of them."""
    if plan.stage.startswith("s3://"):
        _preflight(plan.stage)
    return Staging(plan, progress)


class Staging:
    """The plan's files being staged: S3 objects STAGE_THREADS at a time, local files copied onto a
    file:// stage one at a time in the plan's order (LOCAL_COPY_THREADS). A load that reads the staged objects
    itself (the Redshift emulator's, fetch.py) starts before staging ends and waits for each
    object as it comes to it (`ready`, through staged_gate.py); `finish` waits for the rest and
    raises the first failure in the plan's order. Each file is reported (`stage_file`) once it
    and every file before it in the plan's order are staged, from the thread that staged the
    last of them, so progress shows staging while the load runs. `close` stops what is not
    staged yet."""

    def __init__(self, plan: Plan, progress: Progress):
        self.plan, self.progress, self.result = plan, progress, StageResult()
        self._order = [(t.name, f) for t in plan.tables for f in t.files]
        files = [f for _, f in self._order]
        progress.event("stage_start", files=len(files), bytes=sum(f.source.size for f in files), stage=plan.stage)
        pause_point("stage")
        self._lock = threading.Lock()
        self._reported_upto = 0                  # _order[:_reported_upto] are reported
        self._uploads_reported: set[str] = set()
        self._pool = ThreadPoolExecutor(max_workers=STAGE_THREADS, thread_name_prefix="manifest-loader-stage")
        self._copy_pool = ThreadPoolExecutor(max_workers=LOCAL_COPY_THREADS,
                                             thread_name_prefix="manifest-loader-stage-copy")
        # One upload per staged object: two files with the same content share it.
        self._pending: dict[str, Future[bool]] = {}
        self._by_load_uri: dict[str, str] = {}
        # file:// objects copied from local files, readable while they are copied (staged_gate.py)
        self._copies: dict[str, LocalCopy] = {}
        self._files: dict[str, StagedFile] = {}
        for staged in files:
            self._by_load_uri[staged.load_uri] = staged.staged_uri
            if staged.staged_uri not in self._pending:
                self._files[staged.staged_uri] = staged
                copy = None
                if staged.staged_uri.startswith("file://") and staged.source.local_path is not None:
                    copy = self._copies[staged.staged_uri] = LocalCopy("", downloading=True,
                                                                       stops_when_abandoned=False)
                # in this run's context
                pool = self._pool if copy is None else self._copy_pool
                self._pending[staged.staged_uri] = submit(pool, self._put, staged, copy)
        for uri, future in list(self._pending.items()):
            future.add_done_callback(functools.partial(self._staged, uri))

    def _staged(self, uri: str, future: Future[bool]) -> None:
        copy = self._copies.get(uri)
        if copy is not None and (future.cancelled() or future.exception() is not None):
            copy.failed(future.exception() or LoadFailed(f"staging {uri} was stopped; nothing was loaded"))
        self._report_staged()

    def _put(self, staged: StagedFile, copy: LocalCopy | None) -> bool:
        uploaded = _put(staged, self.result, copy=copy)
        if staged.load_uri != staged.staged_uri:
            _mirror(staged)
        return uploaded

    def _report_staged(self) -> None:
        """Report the files staged so far, in the plan's order, each once."""
        with self._lock:
            while self._reported_upto < len(self._order):
                table, staged = self._order[self._reported_upto]
                future = self._pending[staged.staged_uri]
                if not future.done() or future.cancelled() or future.exception() is not None:
                    return
                uploaded = future.result() and staged.staged_uri not in self._uploads_reported
                self._uploads_reported.add(staged.staged_uri)
                self.result.uploaded += uploaded
                self.result.skipped += not uploaded
                self.result.bytes_uploaded += staged.source.size if uploaded else 0
                self._reported_upto += 1
                self.progress.event("stage_file", table=table, bytes=staged.source.size, uploaded=uploaded)

    def ready(self, uri: str) -> None:
        """Wait until the object a load reads at `uri` (its load or staged URI) is staged; raises
        the error staging it ended with."""
        self._pending[self._by_load_uri.get(uri, uri)].result()

    def staged_copy(self, uri: str) -> LocalCopy | None:
        """The file:// object at `uri` as it is copied from its local file, or None."""
        return self._copies.get(self._by_load_uri.get(uri, uri))

    def staged_source(self, uri: str) -> tuple[str, str] | None:
        """(source URI, ETag) of the object at `uri` when S3 copies it from an S3 source, whether the
        copy is still running or done: the planned version holds the same bytes. Reading it
        whichever way the race between copy and reader goes keeps the load's reads the same from
        run to run (on moto, reading a fresh copy cost its server twice the CPU of the source it
        had just served: docs/benchmarks.md); fetch.py falls back to the staged copy when the
        source is gone or changed."""
        staged_uri = self._by_load_uri.get(uri, uri)
        staged = self._files.get(staged_uri)
        if (staged is None or not staged_uri.startswith("s3://")
                or staged.source.local_path is not None or not staged.source.uri.startswith("s3://")):
            return None
        return staged.source.uri, staged.source.digest

    def finish(self) -> StageResult:
        try:
            for _, staged in self._order:
                self._pending[staged.staged_uri].result()   # the first failure in the plan's order
            self._report_staged()
            for table in self.plan.tables:
                if by_dialect(self.plan.dialect).copy_manifest_file and table.files:
                    _put_bytes(copy_manifest_uri(table.files), copy_manifest_body(table.files))
        finally:
            self.close()
        self.progress.event("stage_done", uploaded=self.result.uploaded, skipped=self.result.skipped)
        return self.result

    def raise_failure(self) -> None:
        """Raise the first failure in the plan's order of the objects staged so far, once those
        being put are done; the rest are not started. For a load that failed while staging went
        on: a stage that failed (S3 gone, a file changed) explains it, so that is what is said."""
        self.close()
        for _, staged in self._order:
            future = self._pending[staged.staged_uri]
            error = None if future.cancelled() else future.exception()
            if error is not None:
                raise error from None

    def close(self) -> None:
        """Wait for the objects being put; drop those not started (each is written whole or not at all)."""
        for pool in (self._pool, self._copy_pool):
            pool.shutdown(wait=False, cancel_futures=True)
        for pool in (self._pool, self._copy_pool):
            pool.shutdown(wait=True)


def _preflight(stage: str) -> None:
    """One unretried request: an endpoint that is down or a bucket that is missing fails at once."""
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

    location = S3Location.parse(stage)
    try:
        s3_probe_client().head_bucket(Bucket=location.bucket)
    except EndpointConnectionError as exc:
        raise s3_failure(exc, "reach the stage", stage) from None
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchBucket", "NotFound"):
            exc.response["Error"]["Code"] = "NoSuchBucket"
            raise s3_failure(exc, "use the stage", stage) from None
        # Anything else (throttling, 5xx) may be transient: the retried requests will tell.
    except BotoCoreError:
        pass   # a reset or a timeout may be transient too: the retried requests will tell


def _put(staged: StagedFile, result: StageResult, *, copy: LocalCopy | None = None) -> bool:
    if staged.staged_uri.startswith("file://"):
        return _put_file(staged, copy)
    return _put_s3(staged, result)


def _put_file(staged: StagedFile, copy: LocalCopy | None = None) -> bool:
    """Copy the file to the stage (S3 sources: download it). `copy`, for a local file: told where
    the bytes are as they are written, so a load can read them meanwhile (staged_gate.py)."""
    target = file_path(staged.staged_uri)
    if target.exists() and target.stat().st_size == staged.source.size and _holds(target, staged):
        if copy is not None:
            copy.complete(str(target))
        return False
    source = staged.source.local_path
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write beside the target and rename: a crash never leaves a half-written staged object.
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".staging-")
    os.close(fd)
    try:
        if source is not None:
            digest = _copy_hashed(str(source), temp, copy)
            if digest != staged.source.digest:
                raise _changed(staged, "sha256:" + digest)
        else:
            from .fetch import fetch_object

            try:
                fetch_object(staged.source.uri, temp, if_match=staged.source.digest)
            except Exception as exc:
                raise _s3_source_failure(exc, staged, "download") from None
        if copy is not None:
            copy.complete(str(target), renaming=temp)
        else:
            os.replace(temp, target)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)
    return True


def _copy_hashed(source: str, temp: str, copy: LocalCopy | None) -> str:
    """Copy `source` into `temp` and return the sha256 of the bytes written. With `copy`, the last
    TAIL_BYTES (the footer) are written first and then the rest in order, each step told to
    `copy`, so a reader can open the file and read each row group once its bytes are in. The
    digest is of exactly the bytes written, the footer hashed last in its place: a file changed
    between the two reads gives another digest and fails the check, as one changed before."""
    with open(source, "rb", buffering=0) as reader, open(temp, "r+b", buffering=0) as writer:
        size = os.fstat(reader.fileno()).st_size
        body_end: int | None = None   # without a footer written ahead: to the end, however long the file is now
        tail = b""
        if copy is not None:
            body_end = max(0, size - TAIL_BYTES)
            reader.seek(body_end)
            tail = reader.read()
            writer.truncate(body_end + len(tail))
            writer.seek(body_end)
            _write_all(writer, memoryview(tail))
            copy.path = temp
            copy.tail_written(body_end)
        body = _BodyCopy(reader.fileno(), writer.fileno())
        while body_end is None or body.position < body_end:
            step = _COPY_BYTES if body_end is None else min(_COPY_BYTES, body_end - body.position)
            if not body.next(step):
                break
            if copy is not None:
                copy.written(body.position)
        body.digest.update(tail)
    return body.digest.hexdigest()


class _BodyCopy:
    """A file's bytes copied in order from offset 0 into another, hashed as they land.

    The kernel copies them (copy_file_range: no pass through this process's memory) and the
    digest is taken by reading back what was written, from the page cache, through one reused
    buffer: at 10M rows this measured 1.7–2.6 s of CPU against 5.4–8.3 s for reading into a
    buffer and writing it out, most of it the kernel's (docs/benchmarks.md, "Stop 18"). Where
    the kernel cannot (another filesystem for the stage, no copy_file_range), through the buffer.
    """

    def __init__(self, reader: int, writer: int):
        self.reader, self.writer = reader, writer
        self.position, self.digest = 0, hashlib.sha256()
        self.in_kernel = hasattr(os, "copy_file_range")
        self.buffer = memoryview(bytearray(_READ_BYTES))

    def next(self, most: int) -> int:
        """Copy up to `most` more bytes; 0 at the source's end."""
        copied = self._in_kernel(most) if self.in_kernel else None
        if copied is None:
            copied = self._through_buffer(most)
        self.position += copied
        return copied

    def _in_kernel(self, most: int) -> int | None:
        try:
            copied = os.copy_file_range(self.reader, self.writer, most, self.position, self.position)
        except OSError as exc:
            if exc.errno not in _NO_KERNEL_COPY:
                raise
            self.in_kernel = False
            return None
        done = 0
        while done < copied:
            read = os.preadv(self.writer, [self.buffer[:min(_READ_BYTES, copied - done)]], self.position + done)
            if not read:
                raise OSError(errno.EIO, "the staged copy is shorter than what was written to it")
            self.digest.update(self.buffer[:read])
            done += read
        return copied

    def _through_buffer(self, most: int) -> int:
        read = os.preadv(self.reader, [self.buffer[:min(_READ_BYTES, most)]], self.position)
        chunk = self.buffer[:read]
        self.digest.update(chunk)
        written = 0
        while written < read:
            written += os.pwrite(self.writer, chunk[written:], self.position + written)
        return read


def _write_all(writer: Any, data: memoryview) -> None:
    """An unbuffered file's write() may write less than it was given."""
    while data:
        data = data[writer.write(data):]


def _holds(path: Any, staged: StagedFile) -> bool:
    """Whether a staged file holds the planned content (S3 sources, known by ETag, by size)."""
    from .sources import file_sha256

    if not staged.source.content_hash.startswith("sha256:"):
        return True
    return file_sha256(path) == staged.source.digest


def _s3_source_failure(exc: Exception, staged: StagedFile, action: str) -> Exception:
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") in ("PreconditionFailed", "412"):
        return _changed(staged, "another object (its ETag is no longer the planned one)")
    return s3_failure(exc, action, staged.source.uri)


def _put_s3(staged: StagedFile, result: StageResult) -> bool:
    client = s3_client()
    location = S3Location.parse(staged.staged_uri)
    metadata = _metadata(staged)
    existing = _head(client, location)
    if (existing is not None and existing["ContentLength"] == staged.source.size
            and all(existing.get("Metadata", {}).get(k) == v for k, v in metadata.items())):
        if existing.get("VersionId"):
            result.version_ids[staged.staged_uri] = existing["VersionId"]
        return False
    # The new object's version comes from the response that wrote it (None where the bucket
    # keeps no versions); only boto3's multipart transfers hide it, and a HEAD asks then.
    version: str | None = None
    multipart = False
    try:
        if staged.source.local_path is not None and staged.source.size < MULTIPART_THRESHOLD:
            version = _put_small(client, staged, location, metadata)
        elif staged.source.local_path is not None:
            _upload(client, staged, location, metadata)
            multipart = True
        else:   # already on S3: copy server-side, never through this machine
            source = S3Location.parse(staged.source.uri)
            copy = {"CopySource": {"Bucket": source.bucket, "Key": source.key}, "Bucket": location.bucket,
                    "Key": location.key, "CopySourceIfMatch": f'"{staged.source.digest}"', "Metadata": metadata,
                    "MetadataDirective": "REPLACE"}
            if staged.source.size < COPY_MULTIPART_THRESHOLD:
                # One CopyObject up to S3's 5 GiB limit: a multipart copy of a 120 MB object took 3x
                # as long on moto (docs/benchmarks.md); without boto3's transfer manager (its import
                # is 0.05-0.08 s). Its HEAD of the planned version is kept: not every S3-compatible
                # store honours CopySourceIfMatch (moto copies whatever the source now holds).
                client.head_object(Bucket=source.bucket, Key=source.key, IfMatch=copy["CopySourceIfMatch"])
                version = client.copy_object(**copy).get("VersionId")
            else:
                _multipart_copy(client, copy)
                multipart = True
    except LoadFailed:
        raise
    except Exception as exc:
        if staged.source.local_path is None:
            raise _s3_source_failure(exc, staged, "copy") from None
        raise s3_failure(exc, "upload", staged.staged_uri) from None
    if multipart:
        version = (_head(client, location) or {}).get("VersionId")
    if version:
        result.version_ids[staged.staged_uri] = version
    return True


def _put_small(client: Any, staged: StagedFile, location: S3Location, metadata: dict[str, str]) -> str | None:
    """A local file under MULTIPART_THRESHOLD in one PutObject: read whole (as boto3's transfer
    manager buffers a stream this size anyway), checked against the plan's sha256 before a byte
    is sent, and its version taken from the response, not from a HEAD after it."""
    assert staged.source.local_path is not None
    with open(staged.source.local_path, "rb") as handle:
        body = handle.read(staged.source.size + 1)   # a file grown since the plan fails the hash below
    digest = hashlib.sha256(body).hexdigest()
    if digest != staged.source.digest:
        raise _changed(staged, "sha256:" + digest)
    version: str | None = client.put_object(Bucket=location.bucket, Key=location.key, Body=body,
                                            Metadata=metadata).get("VersionId")
    return version


def _upload(client: Any, staged: StagedFile, location: S3Location, metadata: dict[str, str]) -> None:
    """A local file to S3 through boto3's managed transfer (multipart above MULTIPART_THRESHOLD),
    hashed as it is read: what S3 holds is what was planned, or it is deleted again."""
    from boto3.s3.transfer import TransferConfig, create_transfer_manager

    assert staged.source.local_path is not None
    config = TransferConfig(multipart_threshold=MULTIPART_THRESHOLD, multipart_chunksize=UPLOAD_CHUNK_BYTES)
    config.max_in_memory_upload_chunks = UPLOAD_CHUNKS_IN_MEMORY
    with open(staged.source.local_path, "rb") as handle:
        reader = _HashingReader(handle)
        # What boto3 puts on its own clients as upload_fileobj, on the loader's botocore client.
        with create_transfer_manager(client, config) as manager:
            manager.upload(fileobj=reader, bucket=location.bucket, key=location.key,
                           extra_args={"Metadata": metadata}).result()
    if reader.sha256.hexdigest() != staged.source.digest:
        client.delete_object(Bucket=location.bucket, Key=location.key)
        raise _changed(staged, "sha256:" + reader.sha256.hexdigest())


def _multipart_copy(client: Any, copy: dict[str, Any]) -> None:
    """An object over 5 GiB copied server-side in parts, by boto3's managed copy."""
    from boto3.s3.transfer import TransferConfig, create_transfer_manager

    config = TransferConfig(multipart_threshold=COPY_MULTIPART_THRESHOLD, multipart_chunksize=MULTIPART_THRESHOLD)
    config.preferred_transfer_client = "classic"   # as boto3's copy(): the CRT client has no copy
    extra = {k: v for k, v in copy.items() if k not in ("CopySource", "Bucket", "Key")}
    with create_transfer_manager(client, config) as manager:
        manager.copy(copy_source=copy["CopySource"], bucket=copy["Bucket"], key=copy["Key"], extra_args=extra).result()


def _put_bytes(uri: str, body: bytes) -> None:
    location = S3Location.parse(uri)
    try:
        s3_client().put_object(Bucket=location.bucket, Key=location.key, Body=body)
    except Exception as exc:
        raise s3_failure(exc, "upload", uri) from None


def _head(client: Any, location: S3Location) -> dict[str, Any] | None:
    from botocore.exceptions import ClientError

    try:
        return client.head_object(Bucket=location.bucket, Key=location.key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise s3_failure(exc, "check", str(location)) from None
    except Exception as exc:
        raise s3_failure(exc, "check", str(location)) from None


def _mirror(staged: StagedFile) -> None:
    """Download a staged object to the local mirror the Snowflake emulator reads."""
    target = file_path(staged.load_uri)
    if target.exists() and target.stat().st_size == staged.source.size and _holds(target, staged):
        return
    from .fetch import fetch_object

    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.partial")
    try:
        # One GET, not download_file's ranged ones: moto reads the whole object for each range,
        # which made the mirror of a 120 MB file take 1.8 s instead of 0.4 s (docs/benchmarks.md).
        fetch_object(staged.staged_uri, str(temp))
    except Exception as exc:
        raise s3_failure(exc, "download", staged.staged_uri) from None
    if not _holds(temp, staged):
        os.unlink(temp)
        raise LoadFailed(f"the staged object {staged.staged_uri} no longer holds {staged.source.display} "
                         f"({staged.source.content_hash}): it was replaced on S3 after staging; nothing was loaded",
                         hint="apply again: staging uploads it again")
    os.replace(temp, target)


def remove_staged(uris: Iterable[str]) -> int:
    """Delete staged objects (and local mirrors); returns how many were removed."""
    removed = 0
    for uri in uris:
        if uri.startswith("file://"):
            path = file_path(uri)
            if path.exists():
                path.unlink()
                removed += 1
            continue
        location = S3Location.parse(uri)
        try:
            s3_client().delete_object(Bucket=location.bucket, Key=location.key)
            removed += 1
        except Exception as exc:
            raise s3_failure(exc, "delete", uri) from None
    return removed


def list_stage(prefix_uri: str) -> list[str]:
    """Every staged object under a prefix (file:// or s3://)."""
    if prefix_uri.startswith("file://"):
        root = file_path(prefix_uri)
        return sorted(p.as_uri() for p in root.rglob("*") if p.is_file()) if root.exists() else []
    location = S3Location.parse(prefix_uri)
    keys: list[str] = []
    try:
        for page in s3_client().get_paginator("list_objects_v2").paginate(Bucket=location.bucket,
                                                                          Prefix=location.key.rstrip("/") + "/"):
            keys += [f"s3://{location.bucket}/{o['Key']}" for o in page.get("Contents", [])]
    except Exception as exc:
        raise s3_failure(exc, "list", prefix_uri) from None
    return sorted(keys)
