"""Fetch staged S3 objects whole, one GET each, the next one while the current one loads.

Reading Parquet straight from S3 costs a ranged GET per row group, and a server that reads the
whole object for every range (moto does) then reads it once per row group: at 10M rows that
was the slowest part of a load (docs/benchmarks.md). One streamed GET per object to a
temporary file is one request, and the download of the next file overlaps the load of the
current one. Memory stays at one chunk; disk holds at most two objects, removed as they load.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from typing import Any

from .errors import LoadFailed
from .fileuri import file_path
from .run_events import report, submit, watch_retries
from .storage import S3Location, endpoint_url, region, s3_client

CHUNK_BYTES = 1024 * 1024
# Requests are retried by botocore; a body cut short (reset, truncated) is retried here.
BODY_ATTEMPTS = 4
_BACKOFF_SECONDS = 0.5


def local_copies(uris: list[tuple[str, str]], table: str) -> Iterator[tuple[str, str, str]]:
    """(uri, display, path to read) for each file; s3:// objects are downloaded first, file:// read in place."""
    with tempfile.TemporaryDirectory(prefix="manifest-loader-fetch-") as folder:
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="manifest-loader-fetch")

        def fetch(index: int) -> str:
            uri, display = uris[index]
            if not uri.startswith("s3://"):
                return str(file_path(uri))
            path = os.path.join(folder, f"{index}.parquet")
            download(uri, path, table, display)
            return path

        pending: Future[str] | None = submit(pool, fetch, 0) if uris else None
        try:
            for index, (uri, display) in enumerate(uris):
                assert pending is not None
                path = pending.result()
                pending = submit(pool, fetch, index + 1) if index + 1 < len(uris) else None
                try:
                    yield uri, display, path
                finally:
                    if path.startswith(folder):
                        with contextlib.suppress(OSError):
                            os.unlink(path)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def download(uri: str, path: str, table: str, display: str) -> None:
    """fetch_object, with errors that name the table and the file."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        fetch_object(uri, path)
    except (ClientError, BotoCoreError, OSError) as exc:
        raise _failure(exc, table, uri, display) from None


def fetch_object(uri: str, path: str, *, if_match: str | None = None) -> None:
    """One GET streamed to `path`; a body that ends early is requested again. Raises botocore's
    errors (requests were already retried by botocore) or OSError. `if_match`: the ETag the
    object must still have (else S3 answers PreconditionFailed)."""
    from botocore.exceptions import BotoCoreError

    location = S3Location.parse(uri)
    for attempt in range(1, BODY_ATTEMPTS + 1):
        condition = {"IfMatch": f'"{if_match}"'} if if_match else {}
        response = _client(endpoint_url(), region()).get_object(Bucket=location.bucket, Key=location.key,
                                                                **condition)
        written = 0
        try:
            with open(path, "wb") as out:
                for chunk in response["Body"].iter_chunks(CHUNK_BYTES):
                    out.write(chunk)
                    written += len(chunk)
            if written == response["ContentLength"]:
                return
            problem: Exception = OSError(f"got {written} of {response['ContentLength']} bytes of {uri}")
        except (BotoCoreError, OSError) as exc:
            problem = exc
        if attempt == BODY_ATTEMPTS:
            raise problem
        report("retry", what=f"an S3 request (GetObject {location.bucket}/{location.key}, body cut short)",
               error=_first_line(problem), delay=f"{_BACKOFF_SECONDS * attempt:.1f}s", attempt=attempt)
        time.sleep(_BACKOFF_SECONDS * attempt)


@lru_cache(maxsize=4)
def _client(endpoint: str | None, region_name: str) -> Any:
    """The loader's S3 client, but checking whole-object checksums only when asked (as pyarrow's
    reader did): moto reports a multipart object's composite CRC as if it covered the whole
    object, and botocore then rejects every full GET of it. Sizes are checked, and row counts
    against the footers."""
    import boto3
    from botocore.config import Config

    config = s3_client().meta.config.merge(Config(response_checksum_validation="when_required"))
    return watch_retries(boto3.client("s3", endpoint_url=endpoint, region_name=region_name, config=config))


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


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
