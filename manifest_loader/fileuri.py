"""file:// URIs and the local paths they name.

Paths become URIs through `Path.as_uri()`, which percent-encodes (a space is `%20`), so a URI
goes back to a path by decoding it, never by cutting off `file://`: a state folder or a source
under `/Users/me/My Data/` must work.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

SCHEME = "file://"
# A file URI of only the characters as_uri() leaves unencoded, no '%' among them.
_PLAIN = re.compile(r"file:///[A-Za-z0-9\-._~/!$&'()*+,;=:@]*")


def is_file_uri(uri: str) -> bool:
    return uri.startswith(SCHEME)


def file_path(uri: str) -> Path:
    """The local path a file:// URI names; a plain path is returned as it is."""
    if not is_file_uri(uri):
        return Path(uri)
    if _PLAIN.fullmatch(uri):
        return Path(uri[7:])   # nothing to decode, split off or drop (as_uri() of most paths): the fast way
    return Path(unquote(urlsplit(uri).path))
