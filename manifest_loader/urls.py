"""Connection URLs as people may see them: passwords and secret-looking values masked."""

from __future__ import annotations

import re

# Up to the last '@' before the query: a password written with '@' or '/' unencoded is masked whole.
_PASSWORD = re.compile(r"(?P<head>^[^:/?#]+://[^/@:?#]*:)(?P<secret>[^?#]*)(?P<tail>@)")
_QUERY_SECRET = re.compile(r"(?P<key>(password|secret|token|private_key)[a-z_]*=)(?P<value>[^&]*)", re.IGNORECASE)


def mask_url(url: str) -> str:
    """The URL with its password (and secret-looking query values) replaced by ***."""
    masked = _PASSWORD.sub(lambda m: m.group("head") + "***" + m.group("tail"), url)
    return _QUERY_SECRET.sub(lambda m: m.group("key") + "***", masked)


def url_secrets(url: str) -> list[str]:
    """What to mask in a driver's message about this URL, longest first: the password as written and
    decoded, and its pieces around '@', '/' and ':' (a driver may split a password it misparsed)."""
    from urllib.parse import unquote

    values = [m.group("value") for m in _QUERY_SECRET.finditer(url)]
    if (match := _PASSWORD.match(url)) is not None:
        values.append(match.group("secret"))
    found: set[str] = set()
    for value in values:
        found |= {value, unquote(value)} | {part for part in re.split(r"[@/:]", value) if len(part) >= 3}
    return sorted((v for v in found if v), key=len, reverse=True)
