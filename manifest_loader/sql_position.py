"""Where in a statement an error points: line and column from a character offset or from a message.

PostgreSQL reports a 1-based character offset (PG_DIAG_STATEMENT_POSITION); sqlglot, which reads
the SQL for our Redshift translator and for fakesnow, reports "Line L, Col: C" at the end of the
token it stopped at. Both become (line, column), 1-based, so the page can point at the spot.
"""

from __future__ import annotations

import re
from typing import Any

# sqlglot's ParseError text, as fakesnow passes it on: "Invalid expression / Unexpected token. Line 1, Col: 20."
_SQLGLOT_POSITION = re.compile(r"\bLine (\d+), Col: (\d+)\b")
_PG_POSITION_FIELD = b"PG_DIAG_STATEMENT_POSITION"


def line_col(sql: str, offset: int) -> tuple[int, int]:
    """(line, column) of a 1-based character offset into `sql`."""
    before = sql[:max(0, offset - 1)]
    line = before.count("\n") + 1
    return line, len(before) - (before.rfind("\n") + 1) + 1


def token_start(line: int, end_col: int, token: str | None) -> tuple[int, int]:
    """sqlglot points at the last character of the token it stopped at; a caret reads better at its first."""
    if token and "\n" not in token and end_col >= len(token):
        return line, end_col - len(token) + 1
    return line, end_col


def in_message(text: str, sql: str) -> tuple[int, int] | None:
    """The position sqlglot wrote into an error message about `sql`, moved to the start of the word it ends."""
    match = _SQLGLOT_POSITION.search(text)
    if not match:
        return None
    line, col = int(match.group(1)), int(match.group(2))
    lines = sql.split("\n")
    if 1 <= line <= len(lines) and 1 <= col <= len(lines[line - 1]):
        text_line = lines[line - 1]
        start = col
        while start > 1 and (text_line[start - 2].isalnum() or text_line[start - 2] == "_"):
            start -= 1
        if text_line[col - 1].isalnum() or text_line[col - 1] == "_":
            return line, start
    return line, col


def postgres_position(exc: BaseException, sql: str) -> tuple[int, int] | None:
    """The statement position a PostgreSQL error carries (ADBC keeps the server's fields in `details`)."""
    details: Any = getattr(exc, "details", None) or []
    for key, value in details:
        if key == _PG_POSITION_FIELD and value.isdigit():
            return line_col(sql, int(value))
    return None
