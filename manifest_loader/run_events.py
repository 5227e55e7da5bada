"""Events of the run in progress, for code far below it (S3 retries deep in staging and fetching).

The run's Progress is held in a context variable, not a process-wide list: under `serve` every
load runs in its own thread with its own context, so a retry reaches the run whose request was
retried and no other. Worker threads a run starts get its context through `submit`.

S3 retries are seen through botocore's event hooks on the client (not its DEBUG log):
`needs-retry` notes the failure of an attempt, and the next attempt's `request-created` reports
it, with the delay botocore waited.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    # Only named in annotations: concurrent.futures imports logging (0.01 s), which `plan` and
    # `validate` (storage.py imports this module) never need.
    from concurrent.futures import Executor, Future

    from .progress import Progress

T = TypeVar("T")

_CURRENT: contextvars.ContextVar[Progress | None] = contextvars.ContextVar("manifest_loader_run", default=None)
_FAILURE_KEY = "manifest_loader_failure"


def attach(progress: Progress) -> contextvars.Token[Progress | None]:
    """From now on in this context (and threads started through `submit`), events go to `progress`."""
    return _CURRENT.set(progress)


def detach(token: contextvars.Token[Progress | None]) -> None:
    _CURRENT.reset(token)


@contextmanager
def reporting_to(progress: Progress) -> Iterator[None]:
    """Within the block, events go to `progress`."""
    token = attach(progress)
    try:
        yield
    finally:
        detach(token)


def report(kind: str, **fields: Any) -> None:
    """Send an event to the run in progress in this context, if any."""
    progress = _CURRENT.get()
    if progress is not None:
        progress.event(kind, **fields)


def submit(pool: Executor, fn: Callable[..., T], *args: Any) -> Future[T]:
    """pool.submit, running `fn` in the caller's context (so its events reach the caller's run)."""
    return pool.submit(contextvars.copy_context().run, fn, *args)


def watch_retries(client: Any) -> Any:
    """Hook a boto3 client's retries into `report`; returns the client."""
    events = client.meta.events
    events.register_first("needs-retry.s3", _note_failure, unique_id="manifest-loader-note-failure")
    events.register("request-created.s3", _report_retry, unique_id="manifest-loader-report-retry")
    return client


def _note_failure(request_dict: dict[str, Any] | None = None, response: Any = None,
                  caught_exception: BaseException | None = None, **_: Any) -> None:
    """Remember why this attempt failed (botocore then decides whether to retry); decides nothing."""
    if request_dict is None or (caught_exception is None and not _failed(response)):
        return
    if caught_exception is not None:
        error = type(caught_exception).__name__
    else:
        status = response[0].status_code if response and response[0] is not None else "?"
        code = (response[1] or {}).get("Error", {}).get("Code", "") if len(response) > 1 else ""
        error = f"{status} {code}".strip()
    request_dict.setdefault("context", {})[_FAILURE_KEY] = (error, time.monotonic())


def _failed(response: Any) -> bool:
    try:
        return int(response[0].status_code) >= 400
    except (TypeError, AttributeError, IndexError, ValueError):
        return False


def _report_retry(request: Any = None, operation_name: str = "", **_: Any) -> None:
    """A request made again after a failed attempt: tell the run, naming the request."""
    from urllib.parse import urlparse

    context = getattr(request, "context", None) or {}
    attempt = int((context.get("retries") or {}).get("attempt", 1))
    failure = context.pop(_FAILURE_KEY, None)
    if attempt <= 1 or failure is None:
        return
    error, failed_at = failure
    path = urlparse(str(getattr(request, "url", ""))).path
    report("retry", what=f"an S3 request ({operation_name} {path})", error=error or "a transient failure",
           delay=f"{time.monotonic() - failed_at:.1f}s", attempt=attempt - 1)
