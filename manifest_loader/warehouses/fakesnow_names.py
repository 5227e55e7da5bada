"""Two name bugs of fakesnow 0.12 that refuse names real Snowflake takes.

* Its status messages ("Table … successfully created.") are `string.Template`s pasted into a
  SELECT between single quotes, with the name unescaped: a table named `a'b` ends the literal
  early and the CREATE fails with "unterminated quoted string". The templates here double the
  quote, as a SQL literal needs.
* It substitutes session variables (`$name`) over the whole statement text, quoted identifiers and
  string literals included, and refuses any `$word` left over: a quoted name `"$ab"` fails with
  "Session variable '$AB' does not exist". Snowflake substitutes variables only in the statement's
  own text, so here they are substituted (and checked) outside quotes only.

Both are installed once per process, before the first connection is opened.
"""

from __future__ import annotations

import re
from string import Template
from typing import Any

# A single-quoted literal ('' escapes a quote) or a double-quoted identifier ("" escapes one).
_QUOTED = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"")


class _LiteralTemplate(Template):
    """A Template whose substitutions land inside a single-quoted SQL literal."""

    def substitute(self, mapping: Any = None, /, **kwargs: Any) -> str:
        values = dict(mapping or {}, **kwargs)
        return super().substitute({key: str(value).replace("'", "''") for key, value in values.items()})


def install() -> None:
    import fakesnow.cursor as cursor
    import fakesnow.variables as variables

    for name in dir(cursor):
        template = getattr(cursor, name)
        if name.startswith("SQL_") and type(template) is Template and "${name}" in template.template:
            setattr(cursor, name, _LiteralTemplate(template.template))

    inline = variables.Variables.inline_variables
    if getattr(inline, "outside_quotes", False):
        return

    def outside_quotes(self: Any, sql: str) -> str:
        pieces, position = [], 0
        for quoted in _QUOTED.finditer(sql):
            pieces.append(inline(self, sql[position:quoted.start()]))
            pieces.append(quoted.group())
            position = quoted.end()
        pieces.append(inline(self, sql[position:]))
        return "".join(pieces)

    outside_quotes.outside_quotes = True  # type: ignore[attr-defined]
    variables.Variables.inline_variables = outside_quotes  # type: ignore[method-assign]
