"""Errors a user can cause, each with the message they see and the exit code it maps to.

Exit codes (documented in the README): 0 success, 1 the load or a connection failed,
2 the manifest or the command line is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_LOAD_FAILED = 1
EXIT_BAD_INPUT = 2


def close_matches(word: str, possibilities: list[str], n: int = 1) -> list[str]:
    """difflib's close matches, for "did you mean"; difflib is imported only when a name is wrong."""
    from difflib import get_close_matches

    return get_close_matches(word, possibilities, n=n)


@dataclass(frozen=True, order=True)
class Problem:
    """One mistake in a manifest, located as precisely as we can."""

    file: str
    line: int
    col: int
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.path}: {self.message}"


class LoaderError(Exception):
    """Base class: carries a user-facing message and an exit code; never needs a traceback."""

    exit_code = EXIT_LOAD_FAILED

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


class ManifestError(LoaderError):
    """The manifest is wrong: one or more located problems, reported all at once."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.col, p.path, p.message))
        super().__init__("\n".join(str(p) for p in self.problems))


class UsageError(LoaderError):
    """The command line or the environment asks for something impossible before any work starts."""

    exit_code = EXIT_BAD_INPUT


class UnknownTable(UsageError):
    """A request names a table the manifest does not have."""


class SourceError(LoaderError):
    """A Parquet source is missing, unreadable, or disagrees with the manifest."""

    exit_code = EXIT_BAD_INPUT


class TemplateNotFound(LoaderError):
    """No template for an operation along the dialect's lookup chain."""

    exit_code = EXIT_LOAD_FAILED


class ConnectionFailed(LoaderError):
    """The warehouse, metadata database or stage could not be reached."""


class LoadFailed(LoaderError):
    """The load ran and failed; everything was rolled back."""


def changed_since_planned(display: str, how: str) -> LoadFailed:
    """A source whose content is no longer what the plan read (staging's hash of a local file, or
    S3's answer to If-Match on the planned ETag): the same words wherever it is found out."""
    return LoadFailed(f"{display} changed since it was planned ({how}); nothing was loaded",
                      hint="make the plan again (or apply again) to load the file as it is now")


class QueryFailed(LoadFailed):
    """A user's statement failed in the warehouse.

    `position` is (line, column), 1-based, in the SQL that ran when the warehouse said where;
    `translated_sql` is that SQL when it is not the user's (the Redshift emulator's translation).
    """

    def __init__(self, message: str, position: tuple[int, int] | None = None, hint: str | None = None):
        super().__init__(message, hint)
        self.position = position
        self.translated_sql: str | None = None


class ConstraintViolation(LoadFailed):
    """Loaded data broke a constraint the loader enforces (NOT NULL, key, FK, length, count)."""
