"""The last parse of a manifest's text, so reading the same text again needs no YAML parser.

Parsing a 200-table manifest with every key's and value's position (yamlpos.py: libyaml, and a
pass over its events that guards the nesting depth) took 0.05-0.09 s of a repeated `plan` of
about 0.4 s (docs/benchmarks.md). The parse is a pure function of the text and the parsing code,
so the last successful one is kept per manifest file in `<state dir>/parsed/`: the digest of the
text, yamlpos.py, the installed PyYAML (its version, and whether libyaml is there), and the
document's data and positions in `marshal`'s format (of this Python version: marshal may change
between versions). The positions are read back only when a problem needs one (positions.py).
Only the text before `${VAR}` interpolation is kept, so the environment is read afresh each time,
and nothing of it is stored. A text whose digest differs, a damaged, foreign or unwritable file,
all mean parsing as before; a text that does not parse is never kept, so its errors are always
found and reported. The state folder is trusted as for the render cache: marshal is not meant for
data an attacker wrote, and no one but the folder's owner writes it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import marshal
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

from .cache_file import write_cache_file
from .positions import PositionedDocument, Positions


def load_positioned_memo(text: str, display: str, folder: Path, owner: Path) -> PositionedDocument:
    """`load_positioned(text, display)`, answered from `folder` when the manifest file `owner` was
    last parsed from the same text by the same code."""
    path = folder / hashlib.sha256(str(owner.absolute()).encode()).hexdigest()[:24]
    key = _key(text)
    known = _read(path, key)
    if known is not None:
        data, positions = known
        return PositionedDocument(display, data, positions=lambda: _positions(positions, text, display))
    doc = _parse(text, display)
    try:
        body = key + marshal.dumps((doc.data, marshal.dumps((doc.value_positions, doc.key_positions))))
    except ValueError:
        return doc   # a value marshal cannot hold: not kept
    write_cache_file(path, body)   # if not written, the next command parses again
    return doc


def _parse(text: str, display: str) -> PositionedDocument:
    # PyYAML (0.02-0.03 s to import) only when the text is parsed
    from .yamlpos import load_positioned

    return load_positioned(text, display)


def _read(path: Path, key: bytes) -> tuple[Any, bytes] | None:
    """The kept data, and its positions still in marshal's form (read when a problem needs one)."""
    try:
        body = path.read_bytes()
        if not body.startswith(key):
            return None
        data, positions = marshal.loads(body[len(key):])
    except (OSError, ValueError, EOFError, TypeError):
        return None
    return (data, positions) if isinstance(positions, bytes) else None


def _positions(kept: bytes, text: str, display: str) -> tuple[Positions, Positions]:
    """The positions kept with the data; a damaged copy means parsing the text again."""
    try:
        values, keys = marshal.loads(kept)
        if isinstance(values, dict) and isinstance(keys, dict):
            return values, keys
    except (ValueError, EOFError, TypeError):
        pass
    doc = _parse(text, display)
    return doc.value_positions, doc.key_positions


# 2: the data, and the positions as marshal's bytes of their own (read only when needed)
_FORMAT = 2


def _key(text: str) -> bytes:
    digest = hashlib.sha256(b"%d\0" % _FORMAT + _code_digest())
    digest.update(text.encode("utf-8", "surrogatepass"))
    return digest.hexdigest().encode("ascii")


@lru_cache(maxsize=1)
def _code_digest() -> bytes:
    """What else the parse depends on: yamlpos.py's text, the installed PyYAML, Python's version.

    PyYAML is known by its files, not imported (a memo that answers needs no parser): its
    `__init__.py` holds its version, and its folder's file names say whether libyaml's extension
    (`_yaml*.so`) is there."""
    digest = hashlib.sha256(Path(__file__).with_name("yamlpos.py").read_bytes())
    spec = importlib.util.find_spec("yaml")
    if spec is not None and spec.origin is not None:
        package = Path(spec.origin)
        digest.update(package.read_bytes())
        digest.update("\0".join(sorted(p.name for p in package.parent.iterdir())).encode())
    digest.update(f"\0{sys.version}".encode())
    return digest.digest()
