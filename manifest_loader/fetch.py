"""Fetch staged S3 objects to local files, and let the reader start before the download ends.

Reading Parquet straight from S3 costs a ranged GET per row group, and a server that reads the
whole object for every range (moto does) then reads it once per row group: at 10M rows that
was the slowest part of a load (docs/benchmarks.md). So each object comes down in two GETs to a
temporary file of its full size: first its last 64 KB (the footer; often the whole of a small
file), then the rest from the start, streamed. The reader opens the file as soon as the footer
is there and reads each row group as soon as its bytes are, so decoding and COPY overlap the
download of the first object too (a 1M-row load waited ~0.4 s for it), and the next object
comes down while the current one loads. Memory stays at one chunk; disk holds at most two
objects, in two temporary files taken in turn and removed when the table is loaded. A body cut
short is asked for again from where it stopped.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from typing import IO, Any

from .errors import LoadFailed, changed_since_planned
from .fileuri import file_path
from .run_events import report, submit, watch_retries
from .staged_gate import staged_copy, staged_source, wait_staged
from .storage import S3Location, endpoint_url, new_s3_client, region, s3_client

CHUNK_BYTES = 1024 * 1024
# The first GET: the footer and its length (Parquet ends with them). Footers of files with a
# few dozen row groups fit; a larger one just means the rest of the file arrives first.
TAIL_BYTES = 64 * 1024
# Requests are retried by botocore; a body cut short (reset, truncated) is retried here.
BODY_ATTEMPTS = 4
_BACKOFF_SECONDS = 0.5


class LocalCopy:
    """A file to read: local, or one still coming in (an object coming down, or a file:// object
    being staged: stage.py). Before reading bytes [0, end) a reader calls wait_for(end);
    wait_for(0) waits for the footer only. A failed download or copy raises its error (naming
    table and object) in the reader."""

    def __init__(self, path: str, downloading: bool = False, *, stops_when_abandoned: bool = True):
        self.path = path
        self.abandoned = False   # set when the reader is done with it: the download stops
        self.arriving = downloading   # its bytes come in while it is read: wait_for them, not for the stage
        # A staging copy (stage.py) is finished whatever its reader does: the stage needs it whole.
        self._stops_when_abandoned = stops_when_abandoned
        self._changed = threading.Condition()
        self._tail_from: int | None = None if downloading else 0   # where the downloaded tail starts
        self._written = 0                                           # bytes [0, written) are there
        self._error: BaseException | None = None

    def wait_for(self, end: int) -> None:
        with self._changed:
            while self._error is None and (self._tail_from is None or self._written < min(end, self._tail_from)):
                self._changed.wait()
            if self._error is not None:
                raise self._error

    @contextlib.contextmanager
    def pinned(self) -> Iterator[str]:
        """The path, not renamed while inside: open the file here (after wait_for(0))."""
        with self._changed:
            yield self.path

    def wait_all(self) -> None:
        self.wait_for(2**63)

    @property
    def tail_seen(self) -> bool:
        """Whether the reader may have read bytes already (then they cannot come from elsewhere)."""
        with self._changed:
            return self._tail_from is not None and self.arriving

    def tail_written(self, start: int) -> None:
        with self._changed:
            self._tail_from = start
            self._changed.notify_all()

    def written(self, end: int) -> None:
        if self.abandoned and self._stops_when_abandoned:
            raise _Abandoned
        with self._changed:
            self._written = end
            self._changed.notify_all()

    def failed(self, error: BaseException) -> None:
        with self._changed:
            self._error = error
            self._changed.notify_all()

    def complete(self, path: str, *, renaming: str | None = None) -> None:
        """Every byte is in, at `path` now: `renaming` (a staging copy's temporary file) is renamed
        to it here, while no reader is opening it (`pinned`); a reader that opened it earlier keeps
        reading the same file."""
        with self._changed:
            if renaming is not None:
                os.replace(renaming, path)
            self.path = path
            self._tail_from = 0 if self._tail_from is None else self._tail_from
            self._written = 2**63
            self._changed.notify_all()


class _Abandoned(Exception):
    """The reader went away (the load failed or ended): stop downloading."""


def local_copies(uris: list[tuple[str, str]], table: str) -> Iterator[tuple[str, str, LocalCopy]]:
    """(uri, display, copy to read) for each file; s3:// objects are downloaded (the next one while
    this one is read), file:// read in place (as they are staged, where staging copies them:
    staged_gate.py)."""
    with tempfile.TemporaryDirectory(prefix="manifest-loader-fetch-") as folder:
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="manifest-loader-fetch")

        def start(index: int) -> tuple[LocalCopy, Future[None] | None]:
            uri, display = uris[index]
            if not uri.startswith("s3://"):
                return staged_copy(uri) or LocalCopy(str(file_path(uri))), None
            # Two files, taken in turn and overwritten in place: the page cache's pages of the one
            # read before are written again instead of freed and new ones taken (writing and
            # reading ten 123 MB objects: 0.7-0.8 s of CPU against 0.9-1.2 s: docs/benchmarks.md).
            copy = LocalCopy(os.path.join(folder, f"{index % 2}.parquet"), downloading=True)
            return copy, submit(pool, _download_into, uri, copy, table, display)

        pending = start(0) if uris else None
        try:
            for index, (uri, display) in enumerate(uris):
                assert pending is not None
                (copy, download), pending = pending, start(index + 1) if index + 1 < len(uris) else None
                try:
                    if not copy.arriving:
                        wait_staged(uri)   # a file:// object may still be being staged (and not readable yet)
                    yield uri, display, copy
                    if download is not None:
                        download.result()   # the last bytes (after the last row group) are in too
                finally:
                    copy.abandoned = True
        finally:
            if pending is not None:
                pending[0].abandoned = True
            pool.shutdown(wait=True, cancel_futures=True)


def _download_into(uri: str, copy: LocalCopy, table: str, display: str) -> None:
    """The object's tail (its footer), then the rest from the start, into copy.path at their offsets."""
    from botocore.exceptions import BotoCoreError, ClientError

    location, planned_etag = S3Location.parse(uri), None
    try:
        client = _client(endpoint_url(), region())
        # An object S3 copies from an S3 source is read from the source's planned version: the same
        # bytes (staged_gate.py). Should that version be gone by now (overwritten or deleted
        # after planning), the staged copy holds them once its copy, which checked the same
        # version, has ended; if the copy failed, its error is what is said.
        source = staged_source(uri)
        if source is not None:
            try:
                _read_into(client, S3Location.parse(source[0]), source[1], copy)
                return
            except ClientError as exc:
                if _error_code(exc) not in ("PreconditionFailed", "412", "NoSuchKey", "404") or copy.tail_seen:
                    location, planned_etag = S3Location.parse(source[0]), source[1]
                    raise
        wait_staged(uri)
        _read_into(client, location, None, copy)
    except _Abandoned:
        return
    except (ClientError, BotoCoreError, OSError) as exc:
        error = _source_changed(exc, display, planned_etag) or _failure(exc, table, uri, display)
        copy.failed(error)
        raise error from None
    except BaseException as exc:
        copy.failed(exc)
        raise


def _read_into(client: Any, location: S3Location, planned_etag: str | None, copy: LocalCopy) -> None:
    """The object's tail (its footer), then the rest from the start, into copy.path at their offsets."""
    # Unbuffered: what is written is what the reader finds. Not truncated first (the file may hold
    # an object read before: local_copies); the reader waits for each byte of this one.
    with os.fdopen(os.open(copy.path, os.O_RDWR | os.O_CREAT, 0o600), "r+b", buffering=0) as out:
        tail = _get(client, location, f"bytes=-{TAIL_BYTES}", planned_etag)
        size, etag = _object_size(tail), tail["ETag"].strip('"')
        tail_from = size - int(tail["ContentLength"])
        out.truncate(size)
        _write_body(client, location, out, tail, tail_from, size, etag, None)
        copy.tail_written(tail_from)
        if tail_from > 0:
            body = _get(client, location, f"bytes=0-{tail_from - 1}", etag)
            _write_body(client, location, out, body, 0, tail_from, etag, copy.written)


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _get(client: Any, location: S3Location, byte_range: str | None, etag: str | None) -> dict[str, Any]:
    """GetObject of a range (HTTP syntax) or the whole object, of the version with `etag` when given."""
    options = {"Range": byte_range} if byte_range else {}
    if etag:
        options["IfMatch"] = f'"{etag}"'
    try:
        return dict(client.get_object(Bucket=location.bucket, Key=location.key, **options))
    except Exception as exc:
        # An empty object has no last bytes to give (416): ask for all of it.
        if byte_range and byte_range.startswith("bytes=-") and "InvalidRange" in str(exc):
            return _get(client, location, None, etag)
        raise


def _object_size(response: dict[str, Any]) -> int:
    """The whole object's size: from Content-Range (bytes a-b/size) of a ranged answer."""
    content_range = response.get("ContentRange")
    return int(content_range.rsplit("/", 1)[1]) if content_range else int(response["ContentLength"])


def _write_body(client: Any, location: S3Location, out: IO[bytes], response: dict[str, Any], start: int,
                end: int, etag: str, on_written: Callable[[int], None] | None) -> None:
    """Stream `response`'s body into out[start:end]; a body cut short is asked for again from where it
    stopped, BODY_ATTEMPTS times in all. Raises botocore's errors or OSError."""
    from botocore.exceptions import BotoCoreError

    position = start
    for attempt in range(1, BODY_ATTEMPTS + 1):
        try:
            out.seek(position)
            for chunk in response["Body"].iter_chunks(CHUNK_BYTES):
                chunk = chunk[:end - position]
                out.write(chunk)
                position += len(chunk)
                if on_written is not None:
                    on_written(position)
            if position >= end:
                return
            problem: Exception = OSError(f"got {position - start} of {end - start} bytes of "
                                         f"s3://{location.bucket}/{location.key}")
        except (BotoCoreError, OSError) as exc:
            problem = exc
        if attempt == BODY_ATTEMPTS:
            raise problem
        report("retry", what=f"an S3 request (GetObject {location.bucket}/{location.key}, body cut short)",
               error=_first_line(problem), delay=f"{_BACKOFF_SECONDS * attempt:.1f}s", attempt=attempt)
        time.sleep(_BACKOFF_SECONDS * attempt)
        response = _get(client, location, f"bytes={position}-{end - 1}", etag)


class _Window(io.BytesIO):
    """Bytes [start, ...) of an object, written at the object's own offsets."""

    def __init__(self, start: int):
        super().__init__()
        self.start = start

    def seek(self, position: int, whence: int = 0) -> int:
        return super().seek(position - self.start if whence == 0 else position, whence)


def read_range(client: Any, location: S3Location, byte_range: str, etag: str) -> bytes:
    """A range (HTTP syntax, `bytes=-N` for the last N) of the version with `etag`, whole: a body
    cut short is asked for again from where it stopped, as fetch_object's. Raises botocore's
    errors or OSError."""
    response = _get(client, location, byte_range, etag)
    start, end = 0, int(response["ContentLength"])
    if response.get("ContentRange"):   # "bytes first-last/size"; none when S3 sent it all
        first, last = response["ContentRange"].split()[1].split("/")[0].split("-")
        start, end = int(first), int(last) + 1
    out = _Window(start)
    _write_body(client, location, out, response, start, end, etag, None)
    return out.getvalue()


def fetch_object(uri: str, path: str, *, if_match: str | None = None) -> None:
    """The whole object into `path`: one GET streamed; a body that ends early is asked for again from
    where it stopped. Raises botocore's errors (requests were already retried by botocore) or OSError.
    `if_match`: the ETag the object must still have (else S3 answers PreconditionFailed)."""
    location = S3Location.parse(uri)
    client = _client(endpoint_url(), region())
    response = _get(client, location, None, if_match)
    with open(path, "wb") as out:
        _write_body(client, location, out, response, 0, int(response["ContentLength"]),
                    if_match or response["ETag"].strip('"'), None)


@lru_cache(maxsize=4)
def _client(endpoint: str | None, region_name: str) -> Any:
    """The loader's S3 client, but checking whole-object checksums only when asked (as pyarrow's
    reader did): moto reports a multipart object's composite CRC as if it covered the whole
    object, and botocore then rejects every full GET of it. Sizes are checked, and row counts
    against the footers."""
    loader_client = s3_client()   # first: it imports botocore (storage._session)
    from botocore.config import Config

    config = loader_client.meta.config.merge(Config(response_checksum_validation="when_required"))
    return watch_retries(new_s3_client(config, endpoint, region_name))


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def _source_changed(exc: Exception, display: str, planned_etag: str | None) -> LoadFailed | None:
    """The planned version of an S3 source being read is gone: overwritten after planning (S3
    answers If-Match with PreconditionFailed; the same as staging says when its copy meets it)
    or deleted. Said of the source, not of the staged object the load would otherwise read."""
    from botocore.exceptions import ClientError

    if planned_etag is None or not isinstance(exc, ClientError):
        return None
    code = _error_code(exc)
    if code in ("PreconditionFailed", "412"):
        return changed_since_planned(display, f"S3 no longer holds the planned version, ETag {planned_etag}")
    if code in ("NoSuchKey", "404"):
        return changed_since_planned(display, "it was deleted from S3 while it was read")
    return None


def _failure(exc: Exception, table: str, uri: str, display: str) -> LoadFailed:
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "?")
        if code in ("NoSuchKey", "404"):
            return LoadFailed(f"table {table}: the staged object {uri} ({display}) is gone from S3",
                              hint="apply again: staging puts it back")
        what = f"{code}: {exc.response.get('Error', {}).get('Message', '')}".rstrip(": ")
    else:
        what = _first_line(exc)
    return LoadFailed(f"table {table}: cannot read the staged object {uri} ({display}) from S3: {what}",
                      hint="S3 kept failing after retries: check the endpoint (AWS_ENDPOINT_URL) and apply again")
