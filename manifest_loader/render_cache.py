"""Statements rendered before, remembered by everything they are rendered from.

A plan of 200 tables renders about 1,800 statements through Jinja (0.1-0.3 s); planning the same
manifest again renders the same ones. Rendering is a pure function of the operation, its
context (names, types, keys, file names: plain values) and the rendering environment: the
template files, the dialect's code (quoting, reserved words, placeholders), this code and the
versions of Jinja and Python. So an entry is keyed by a digest of the operation and its context,
and a cache file holds only entries made in one environment, whose digest it records: any
changed template, dialect module or version makes the whole file a miss. The context is keyed by
its `marshal` form, which tags every value with its exact type (a list is not a tuple, 1 is not
1.0 nor True) and refuses any other object, subclasses included (bytes-like objects all write as
bytes); a call whose context holds one (an object whose form need not say everything that changes
the output) is never cached.

One file per manifest and dialect under `<state dir>/rendered/`, JSON, rewritten (to a temporary
name, then renamed) with exactly the entries the last plan used, so it stays the size of one plan.
A damaged, unreadable or foreign file is a miss; one that cannot be written only costs time.
Keys are digests, and statements hold `${secret:…}` placeholders, never secrets.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .cache_file import write_cache_file

# 1: {"format", "environment", "entries": {key: [sql, template, [param names]]}}
_FORMAT = 1
# marshal's version 2 writes no back-references, whose use depends on reference counts: the same
# context always gives the same bytes.
_MARSHAL_VERSION = 2
Entry = tuple[str, str, tuple[str, ...]]   # sql, template label, parameter names (Rendered's fields)


class RenderCache:
    """The rendered statements of one manifest for one dialect, in `path`."""

    def __init__(self, path: Path, environment: str):
        self.path, self.environment = path, environment
        self._known: dict[str, Entry] | None = None   # read on first use
        self._used: dict[str, Entry] = {}
        self._added = False

    @staticmethod
    def key(op: str, context: Mapping[str, Any]) -> str | None:
        """The entry's key, or None when the context holds an object marshal cannot write."""
        try:
            form = marshal.dumps((op, dict(context)), _MARSHAL_VERSION)
        except ValueError:
            return None
        return hashlib.blake2b(form, digest_size=16).hexdigest()

    def get(self, key: str) -> Entry | None:
        if self._known is None:
            self._known = self._read()
        entry = self._known.get(key)
        if entry is not None:
            self._used[key] = entry
        return entry

    def put(self, key: str, entry: Entry) -> None:
        self._used[key] = entry
        self._added = True

    def save(self) -> None:
        """Keep the entries this process used, when they differ from the file's."""
        known = self._known if self._known is not None else {}
        if not self._added and len(self._used) == len(known):
            return
        body = json.dumps({"format": _FORMAT, "environment": self.environment,
                           "entries": {k: [sql, template, list(names)] for k, (sql, template, names)
                                       in self._used.items()}}, separators=(",", ":"))
        write_cache_file(self.path, body.encode("utf-8"))

    def _read(self) -> dict[str, Entry]:
        try:
            raw = json.loads(self.path.read_bytes())
            if raw["format"] != _FORMAT or raw["environment"] != self.environment:
                return {}
            entries: dict[str, Entry] = {}
            for key, (sql, template, names) in raw["entries"].items():
                if not (isinstance(sql, str) and isinstance(template, str)
                        and all(isinstance(n, str) for n in names)):
                    return {}
                entries[key] = (sql, template, tuple(names))
            return entries
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return {}   # missing, damaged or another version's: render again


def render_cache(folder: Path, owner: str, dialect: type, roots: Iterable[Path]) -> RenderCache:
    """The cache of `owner`'s statements (a manifest's path) in `dialect`, rendered from templates in `roots`."""
    name = hashlib.sha256(f"{owner}\0{dialect.__module__}.{dialect.__qualname__}".encode()).hexdigest()[:24]
    return RenderCache(folder / name, environment_digest(tuple(roots)))


def environment_digest(roots: tuple[Path, ...]) -> str:
    """A digest of everything rendering depends on besides the context: the template files under
    `roots`, the rendering and dialect code (with its keyword lists), and the versions of Jinja and
    Python. Files are read by content, so a checkout that keeps a file's mtime still counts. Jinja
    is known by its __init__.py (which holds its version), found without importing it. Computed
    for every cache (a few ms), never kept: a long-running `serve` sees an edited template."""
    from importlib.util import find_spec

    package = Path(__file__).parent
    digest = hashlib.sha256(f"{_FORMAT}\0{sys.version}".encode())
    jinja = find_spec("jinja2")
    sources = [package / "render.py", Path(__file__), *sorted((package / "dialects").rglob("*"))]
    if jinja is not None and jinja.origin:
        sources.append(Path(jinja.origin))
    for root in roots:
        sources += sorted(root.rglob("*"))
    for path in sources:
        try:
            if path.is_file():
                digest.update(f"\0{path}\0".encode())
                digest.update(path.read_bytes())
        except OSError:
            digest.update(os.urandom(16))   # unreadable: this environment matches no other
    return digest.hexdigest()

