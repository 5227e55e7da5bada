"""A rendered statement as SQLAlchemy's text() must receive it: quoted text left alone, credentials
filled in only where a credential goes.

Found by sqlglot's tokenizer (the target's dialect), so quoted names and string literals are
known by position, not guessed by a pattern over the whole text:

* `${secret:NAME}` becomes the environment's value only when it is the whole string literal
  right after a credential keyword of COPY (`ACCESS_KEY_ID '…'`, `AWS_KEY_ID = '…'`); a column
  or table named `${secret:AWS_SECRET_ACCESS_KEY}` stays that name;
* text()'s bind syntax (`:name`) inside a quoted name or literal is escaped, so a name such as
  `a:table_name` reaches the driver unchanged; outside quotes only the step's own parameters
  are binds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence

import sqlglot
from sqlglot.tokens import Token, TokenType

CREDENTIAL_KEYWORDS = frozenset({"ACCESS_KEY_ID", "SECRET_ACCESS_KEY", "SESSION_TOKEN",      # Redshift COPY
                                 "AWS_KEY_ID", "AWS_SECRET_KEY", "AWS_TOKEN"})             # Snowflake CREDENTIALS
_PLACEHOLDER = re.compile(r"\$\{secret:([A-Za-z0-9_]+)\}\Z")
# text()'s bind-parameter syntax (sqlalchemy.sql.elements.TextClause._bind_params_regex).
_BIND = re.compile(r"(?<![:\w\x5c]):(\w+)(?!:)", re.UNICODE)
_QUOTED = frozenset(getattr(TokenType, name) for name in (
    "STRING", "IDENTIFIER", "RAW_STRING", "HEREDOC_STRING", "NATIONAL_STRING", "BYTE_STRING", "HEX_STRING",
    "BIT_STRING", "UNICODE_STRING") if hasattr(TokenType, name))


class UnreadableSql(ValueError):
    """The statement could not be tokenized (it is not SQL the dialect reads)."""


def for_text_clause(sql: str, sqlglot_dialect: str, bind_names: Collection[str],
                    secret: Callable[[str], str]) -> str:
    """`sql` ready for sqlalchemy.text(): binds escaped except the step's own, credentials filled in."""
    if ":" not in sql and "${secret:" not in sql:
        return sql
    return _rewrite(sql, sqlglot_dialect, secret, bind_names)


def fill_credentials(sql: str, sqlglot_dialect: str, secret: Callable[[str], str]) -> str:
    """`sql` as the driver gets it without binds: credentials filled in, nothing else touched."""
    if "${secret:" not in sql:
        return sql
    return _rewrite(sql, sqlglot_dialect, secret, None)


def for_format_driver(sql: str, sqlglot_dialect: str, bind_names: Collection[str],
                      secret: Callable[[str], str]) -> tuple[str, list[str]]:
    """`sql` for a driver with the `format` paramstyle that reads quotes itself (redshift_connector):
    the step's `:name` binds become `%s` (their names returned in order) and `%` is doubled, both
    outside quotes only, since such a driver leaves quoted text, `%%` included, as it is."""
    order: list[str] = []

    def outside(text: str) -> str:
        def bind(match: re.Match[str]) -> str:
            if match.group(1) not in bind_names:
                return match.group(0)
            order.append(match.group(1))
            return "%s"

        return _BIND.sub(bind, text.replace("%", "%%"))

    return _walk(sql, sqlglot_dialect, secret, outside, _as_is), order


def _credential(sql: str, tokens: Sequence[Token], index: int, secret: Callable[[str], str]) -> str:
    """The quoted token as written, or the secret's value when it is a credential placeholder."""
    token = tokens[index]
    placeholder = _PLACEHOLDER.match(token.text) if token.token_type == TokenType.STRING else None
    if placeholder and _after_credential_keyword(tokens, index):
        return "'" + secret(placeholder.group(1)) + "'"
    return sql[token.start:token.end + 1]


def _rewrite(sql: str, sqlglot_dialect: str, secret: Callable[[str], str],
             bind_names: Collection[str] | None) -> str:
    """Credentials filled in at their positions; with `bind_names`, text()'s bind syntax escaped too."""
    if bind_names is None:
        return _walk(sql, sqlglot_dialect, secret, _as_is, _as_is)
    names = bind_names
    return _walk(sql, sqlglot_dialect, secret, lambda text: _outside(text, names),
                 lambda text: _BIND.sub(lambda m: "\\" + m.group(0), text))


def _walk(sql: str, sqlglot_dialect: str, secret: Callable[[str], str], outside: Callable[[str], str],
          quoted: Callable[[str], str]) -> str:
    """`sql` with `outside` applied to the unquoted stretches and `quoted` to each quoted token
    (after a credential placeholder in it is filled in), in the order they stand."""
    try:
        tokens = sqlglot.Dialect.get_or_raise(sqlglot_dialect).tokenize(sql)
    except Exception as exc:   # sqlglot raises TokenError and others
        raise UnreadableSql(str(exc).splitlines()[0][:200]) from None
    out: list[str] = []
    position = 0
    for i, token in enumerate(tokens):
        if token.token_type not in _QUOTED:
            continue
        out.append(outside(sql[position:token.start]))
        out.append(quoted(_credential(sql, tokens, i, secret)))
        position = token.end + 1
    out.append(outside(sql[position:]))
    return "".join(out)


def _as_is(text: str) -> str:
    return text


def _outside(text: str, bind_names: Collection[str]) -> str:
    """Unquoted SQL: only the step's parameters are binds; any other ":word" stays text."""
    return _BIND.sub(lambda m: m.group(0) if m.group(1) in bind_names else "\\" + m.group(0), text)


def _after_credential_keyword(tokens: Sequence[Token], index: int) -> bool:
    before = index - 1
    if before >= 0 and tokens[before].token_type == TokenType.EQ:
        before -= 1
    if before < 0:
        return False
    keyword = tokens[before]
    return keyword.token_type != TokenType.IDENTIFIER and keyword.text.upper() in CREDENTIAL_KEYWORDS
