"""What a Parquet file's footer said, remembered by the file's identity, so planning again reads nothing.

`plan` and `apply` need every source file's row count and schema (and, for local files, a
SHA-256 of the content). Reading them again costs a ranged GET per S3 object and a full read
per local file, which made a no-change re-apply of ten 120 MB objects take seconds. Like git's
index, an entry is keyed by what changes whenever the content does:

- an S3 object: its URI, ETag and size (S3 gives an overwritten object a new ETag);
- a local file: its path, size, inode, mtime and ctime in nanoseconds (ctime cannot be set
  back by `touch`, so an edited file never matches its old entry).

One small JSON file per entry under `<state dir>/footers/`, written to a temporary name and
renamed, so concurrent commands never read half an entry; a damaged or unreadable entry is a miss.

An entry holds what the loader concluded from the footer's Arrow schema (each column's portable
type, or why it has none), not the schema itself, so a command answered from the cache never
imports pyarrow (0.2-0.3 s with numpy). Those conclusions are the code's: an entry records a
digest of the module that draws them (types.py) and of this one, and is a miss for other code.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .cache_file import write_cache_file
from .types import PortableType

# 2: entries also hold the integer columns' min/max statistics.
# 3: rows are the row groups' sum, and a footer that footer_checks refuses is never remembered.
# 4: JSON only: the columns' portable types instead of the Arrow schema.
_FORMAT = 4


@dataclass(frozen=True)
class FooterColumn:
    """One column of a file, as the loader reads its Arrow type."""

    name: str
    portable: PortableType | None   # None: NULL in every row (or no portable type, see `problem`)
    problem: str | None = None      # why the Arrow type has no portable type (TypeProblem's message)
    holds_map: bool = False         # a MAP, or a list/struct holding one (plan notes how it loads)
    nanoseconds: bool = False       # a timestamp in nanoseconds (casting.refuse_sub_microsecond)


@dataclass(frozen=True)
class FooterSchema:
    """The columns of a Parquet file, in file order."""

    columns: tuple[FooterColumn, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def __iter__(self) -> Iterator[FooterColumn]:
        return iter(self.columns)


@dataclass(frozen=True)
class Footer:
    rows: int
    schema: FooterSchema
    sha256: str | None = None   # local files only, when it was computed
    # min and max of each signed-integer column whose every row group has statistics
    int_ranges: Mapping[str, tuple[int, int]] = field(default_factory=dict)


class FooterCache:
    """`writable=False` for commands that promise to write nothing (validate, plan): they use
    what apply remembered, and remember nothing themselves."""

    def __init__(self, folder: Path, *, writable: bool = True):
        self.folder, self.writable = folder, writable

    @staticmethod
    def s3_identity(uri: str, etag: str, size: int) -> str:
        return json.dumps(["s3", uri, etag, size])

    @staticmethod
    def local_identity(path: Path) -> str:
        st = os.stat(path)
        return json.dumps(["file", str(path), st.st_size, st.st_ino, st.st_mtime_ns, st.st_ctime_ns])

    def _entry(self, identity: str) -> Path:
        return self.folder / hashlib.sha256(identity.encode()).hexdigest()

    def get(self, identity: str) -> Footer | None:
        try:
            meta = json.loads(self._entry(identity).read_bytes())
            if meta["format"] != _FORMAT or meta["identity"] != identity or meta["code"] != _code_digest():
                return None
            ranges = {str(name): (int(low), int(high)) for name, (low, high) in meta["int_ranges"].items()}
            columns = tuple(_column(c) for c in meta["columns"])
            sha256 = meta["sha256"]
            return Footer(int(meta["rows"]), FooterSchema(columns), str(sha256) if sha256 else None, ranges)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None   # missing, damaged or of another version: read the footer again

    def put(self, identity: str, footer: Footer) -> None:
        if not self.writable:
            return
        body = json.dumps({"format": _FORMAT, "code": _code_digest(), "identity": identity, "rows": footer.rows,
                           "sha256": footer.sha256, "int_ranges": footer.int_ranges,
                           "columns": [_column_json(c) for c in footer.schema]}).encode()
        write_cache_file(self._entry(identity), body)


def _column_json(column: FooterColumn) -> list[Any]:
    ptype = column.portable
    portable = None if ptype is None else [ptype.name, ptype.length, ptype.precision, ptype.scale]
    return [column.name, portable, column.problem, column.holds_map, column.nanoseconds]


def _column(raw: list[Any]) -> FooterColumn:
    name, portable, problem, holds_map, nanoseconds = raw
    if portable is not None:
        type_name, length, precision, scale = portable
        if not all(n is None or type(n) is int for n in (length, precision, scale)):
            raise TypeError("not a type entry")
        portable = PortableType(str(type_name), length, precision, scale)
    if not (isinstance(name, str) and type(holds_map) is bool and type(nanoseconds) is bool
            and (problem is None or isinstance(problem, str))):
        raise TypeError("not a column entry")
    return FooterColumn(name, portable, problem, holds_map, nanoseconds)


@functools.cache
def _code_digest() -> str:
    """The code an entry's conclusions come from: this module and the type inference."""
    from . import types

    digest = hashlib.sha256()
    try:
        for module in (__file__, types.__file__):
            digest.update(Path(module).read_bytes())
    except (OSError, TypeError):   # no source to read: entries of this process match no other's
        return "unknown-" + os.urandom(8).hex()
    return digest.hexdigest()[:16]
