"""Column headers of a query as the emulated warehouse names them, from the SQL the user wrote.

An emulator runs a translation of the user's SQL (fakesnow rewrites Snowflake SQL for DuckDB),
so the engine names an unaliased expression after the translation:
`count_if((CAST((X > 1) AS BOOLEAN) IS NOT DISTINCT FROM true))` for `count_if(x > 1)`.
The header of such a column is taken from the user's own text instead, by the emulated
warehouse's rule (`Dialect.derived_column_names`): Snowflake names it by the expression as
written, upper-cased outside string literals; Redshift names a function call by the function
(`nvl`, where the Redshift emulator's PostgreSQL says `coalesce` for the translation). Aliased
columns, plain column references and `*` keep the engine's names, which are the stored names.
When the select list cannot be matched one to one with the result's columns, the engine's
names stay.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# Rules by name (Dialect.derived_column_names): the header for an unaliased expression's text,
# None to keep the engine's.
RULES: dict[str, Callable[[str], str | None]] = {
    "expression_upper": lambda text: _upper_outside_quotes(text.strip()),
    "function_name": lambda text: _called_function(text),
}
_CALL = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_$]*)\s*\(")
# Calls named after their argument, not themselves, by PostgreSQL and Redshift alike.
_NAMED_BY_ARGUMENT = frozenset({"cast"})


def user_headers(sql: str, columns: list[str], read: str, rule: str | None) -> list[str]:
    """`columns` with each unaliased expression's header taken from `sql` by `rule` (None: unchanged)."""
    if rule is None or rule not in RULES:
        return columns
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(sql, read=read)
        texts = _select_list_texts(sql, read)
    except Exception:   # the engine accepted what sqlglot cannot read: its own names stay
        return columns
    if not isinstance(tree, exp.Select) or texts is None:
        return columns
    projections = tree.expressions
    if len(projections) != len(columns) or len(texts) != len(columns):
        return columns
    if any(isinstance(p, exp.Star) or (isinstance(p, exp.Column) and isinstance(p.this, exp.Star))
           for p in projections):
        return columns
    headers = []
    for projection, text, column in zip(projections, texts, columns, strict=True):
        derived = None if isinstance(projection, exp.Alias | exp.Column) else RULES[rule](text)
        headers.append(column if derived is None else derived)
    return headers


def _select_list_texts(sql: str, read: str) -> list[str] | None:
    """The text of each item of the outermost SELECT's list, as written (None when there is none)."""
    import sqlglot
    from sqlglot.tokens import TokenType

    tokens = sqlglot.tokenize(sql, read=read)
    if not tokens or tokens[0].token_type != TokenType.SELECT:
        return None
    ends = {TokenType.FROM, TokenType.WHERE, TokenType.GROUP_BY, TokenType.ORDER_BY, TokenType.LIMIT,
            TokenType.HAVING, TokenType.QUALIFY, TokenType.UNION, TokenType.EXCEPT, TokenType.INTERSECT,
            TokenType.SEMICOLON, TokenType.INTO}
    start = 1
    while start < len(tokens) and tokens[start].token_type in (TokenType.DISTINCT, TokenType.ALL):
        start += 1
    items: list[list[int]] = [[]]
    depth = 0
    for i in range(start, len(tokens)):
        kind = tokens[i].token_type
        if depth == 0 and kind in ends:
            break
        if kind in (TokenType.L_PAREN, TokenType.L_BRACKET, TokenType.L_BRACE):
            depth += 1
        elif kind in (TokenType.R_PAREN, TokenType.R_BRACKET, TokenType.R_BRACE):
            depth -= 1
        if depth == 0 and kind == TokenType.COMMA:
            items.append([])
            continue
        items[-1].append(i)
    if any(not item for item in items):
        return None
    return [sql[tokens[item[0]].start:tokens[item[-1]].end + 1] for item in items]


def _upper_outside_quotes(text: str) -> str:
    """Upper-case everything but the contents of '…' literals and "…" quoted names."""
    out, quote = [], ""
    for ch in text:
        if quote:
            out.append(ch)
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
            out.append(ch)
        else:
            out.append(ch.upper())
    return "".join(out)


def _called_function(text: str) -> str | None:
    """`nvl` for `NVL(a, b)`: the function's name, lower-cased, when the whole text is one call."""
    match = _CALL.match(text)
    if match is None or match.group(1).lower() in _NAMED_BY_ARGUMENT:
        return None
    depth, quote = 0, ""
    body = text.strip()
    for i, ch in enumerate(body):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return match.group(1).lower() if i == len(body) - 1 else None
    return None
