"""The last parse of a manifest's text, so reading the same text again needs no YAML parser.

Parsing a 200-table manifest with every key's and value's position (yamlpos.py: libyaml, and a
pass over its events that guards the nesting depth) took 0.05-0.09 s of a repeated `plan` of
about 0.4 s (docs/benchmarks.md). The parse is a pure function of the text and the parsing code,
so the last successful one is kept per manifest file in `<state dir>/parsed/`: the digest of the
text, yamlpos.py, PyYAML's version and whether libyaml is there, and the document's data and
positions in `marshal`'s format (of this Python version: marshal may change between versions).
Only the text before `${VAR}` interpolation is kept, so the environment is read afresh each time,
and nothing of it is stored. A text whose digest differs, a damaged, foreign or unwritable file,
all mean parsing as before; a text that does not parse is never kept, so its errors are always
found and reported. The state folder is trusted as for the render cache: marshal is not meant for
data an attacker wrote, and no one but the folder's owner writes it.
"""

from __future__ import annotations

import hashlib
import marshal
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from .cache_file import write_cache_file
from .yamlpos import PositionedDocument, load_positioned


def load_positioned_memo(text: str, display: str, folder: Path, owner: Path) -> PositionedDocument:
    """`load_positioned(text, display)`, answered from `folder` when the manifest file `owner` was
    last parsed from the same text by the same code."""
    path = folder / hashlib.sha256(str(owner.absolute()).encode()).hexdigest()[:24]
    key = _key(text)
    known = _read(path, key)
    if known is not None:
        data, values, keys = known
        return PositionedDocument(display, data, values, keys)
    doc = load_positioned(text, display)
    try:
        body = key + marshal.dumps((doc.data, doc.value_positions, doc.key_positions))
    except ValueError:
        return doc   # a value marshal cannot hold: not kept
    write_cache_file(path, body)   # if not written, the next command parses again
    return doc


def _read(path: Path, key: bytes) -> tuple[Any, dict[Any, Any], dict[Any, Any]] | None:
    try:
        body = path.read_bytes()
        if not body.startswith(key):
            return None
        data, values, keys = marshal.loads(body[len(key):])
    except (OSError, ValueError, EOFError, TypeError):
        return None
    if not isinstance(values, dict) or not isinstance(keys, dict):
        return None
    return data, values, keys


def _key(text: str) -> bytes:
    digest = hashlib.sha256(_code_digest())
    digest.update(text.encode("utf-8", "surrogatepass"))
    return digest.hexdigest().encode("ascii")


@lru_cache(maxsize=1)
def _code_digest() -> bytes:
    """What else the parse depends on: yamlpos.py's text, PyYAML's version, libyaml, Python's version."""
    from . import yamlpos

    digest = hashlib.sha256(Path(yamlpos.__file__).read_bytes())
    digest.update(f"\0{yaml.__version__}\0{getattr(yaml, '__with_libyaml__', False)}\0{sys.version}".encode())
    return digest.digest()
