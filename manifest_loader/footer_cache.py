"""What a Parquet file's footer said, remembered by the file's identity, so planning again reads nothing.

`plan` and `apply` need every source file's row count and schema (and, for local files, a
SHA-256 of the content). Reading them again costs a ranged GET per S3 object and a full read
per local file, which made a no-change re-apply of ten 120 MB objects take seconds. Like git's
index, an entry is keyed by what changes whenever the content does:

- an S3 object: its URI, ETag and size (S3 gives an overwritten object a new ETag);
- a local file: its path, size, inode, mtime and ctime in nanoseconds (ctime cannot be set
  back by `touch`, so an edited file never matches its old entry).

One small file per entry under `<state dir>/footers/`, written to a temporary name and renamed,
so concurrent applies never read half an entry; a damaged or unreadable entry is a miss.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

# 2: entries also hold the integer columns' min/max statistics.
# 3: rows are the row groups' sum, and a footer that footer_checks refuses is never remembered.
_FORMAT = 3


@dataclass(frozen=True)
class Footer:
    rows: int
    schema: pa.Schema
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
        import pyarrow as pa

        try:
            raw = self._entry(identity).read_bytes()
            header, schema_bytes = raw.split(b"\n", 1)
            meta = json.loads(header)
            if meta.get("format") != _FORMAT or meta.get("identity") != identity:
                return None
            schema = pa.ipc.read_schema(pa.py_buffer(schema_bytes))
            ranges = {name: (int(low), int(high)) for name, (low, high) in meta.get("int_ranges", {}).items()}
            return Footer(int(meta["rows"]), schema, meta.get("sha256"), ranges)
        except (OSError, ValueError, KeyError, TypeError, pa.ArrowException):
            return None

    def put(self, identity: str, footer: Footer) -> None:
        if not self.writable:
            return
        header = json.dumps({"format": _FORMAT, "identity": identity, "rows": footer.rows,
                             "sha256": footer.sha256, "int_ranges": footer.int_ranges}).encode()
        entry = self._entry(identity)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            temporary = entry.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_bytes(header + b"\n" + footer.schema.serialize().to_pybytes())
            temporary.replace(entry)
        except OSError:
            pass   # a cache that cannot be written only costs time
