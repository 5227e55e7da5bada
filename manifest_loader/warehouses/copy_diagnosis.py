"""Say what the user's data did wrong when a warehouse's own COPY failed.

The Snowflake emulator's COPY INTO reads the staged copies itself, so its errors name the
stage's content-addressed object (`<sha256>.parquet`), a column in upper case and no value:
`NOT NULL constraint failed: PEOPLE.EMAIL`, `Could not cast value 1099511627776 to
DECIMAL(10,0)`, `Snappy decompression failure`. After such a failure the loader reads the same
files the way the Redshift emulator streams them (the same casts, the same NOT NULL checks,
casting.batches and stream_checks) and reports the first problem found there, naming the table,
column, source file and a value. When the files read cleanly, the warehouse's message is kept,
with every staged name replaced by the source file it holds.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePosixPath

from ..errors import LoaderError, LoadFailed
from ..plan import Step, not_null_check

# (staged path, source file's display name) -> the column the warehouse's own reader fails on, if any
ColumnProbe = Callable[[str, str], LoaderError | None]


def explain_copy_failure(step: Step, error: str, title: str, probe: ColumnProbe | None = None) -> LoaderError:
    """The error to raise for a failed COPY of `step`: the data's own problem when one is found, else
    (with `probe`) the column of the file that the warehouse's reader cannot read."""
    import pyarrow as pa

    from ..casting import batches
    from ..stream_checks import BatchChecker

    table = step.table or ""
    columns = step.copy_columns
    schema = pa.schema([pa.field(c.name, c.type.arrow_type()) for c in columns])
    checks = [not_null_check(table, c) for c in columns if not c.nullable]
    checker = BatchChecker(checks, lambda name: name, counts_bytes=False)
    current = {"file": ""}

    def remember(display: str) -> None:
        current["file"] = display

    files = [(f.load_uri, f.source.display) for f in step.files]
    try:
        stream = batches(files, [c.name for c in columns], schema, table, remember)
        for _ in checker.checked(stream, lambda: current["file"]) if checker else stream:
            pass
    except LoaderError as found:
        return found
    except Exception:   # noqa: BLE001 - the data read cleanly as far as this goes; keep the warehouse's words
        pass
    else:
        from ..fileuri import file_path

        for file in step.files if probe else ():
            column = probe(str(file_path(file.load_uri)), file.source.display)   # type: ignore[misc]
            if column is not None:
                return column
    text = with_sources(error, step)
    if not any(f.source.display in text for f in step.files):
        text += f" (file{'s' if len(step.files) > 1 else ''}: {', '.join(f.source.display for f in step.files)})"
    return LoadFailed(f"table {table}: COPY failed on {title}: {text}",
                      hint="the whole apply was rolled back; fix the file named, or the column's type override, "
                           "and apply again")


def with_sources(text: str, step: Step) -> str:
    """The text with each staged object's path or name replaced by the source file it is a copy of."""
    for file in step.files:
        for staged in {file.load_uri, file.staged_uri}:
            path = staged.removeprefix("file://")
            text = text.replace(path, file.source.display)
            text = text.replace(PurePosixPath(path).name, file.source.display)
    return text
