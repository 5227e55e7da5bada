"""The last version of a manifest the JSON Schema check found valid, so checking it again needs no
validator.

jsonschema_rs answers "valid" quickly, but importing it and compiling the schema cost a command
about 0.02 s of its start-up (a tenth of a repeated `plan` of 200 tables). The answer is a pure
function of the document and the schema, so the digest of both (the document as canonical JSON,
which tells 1 from 1.0, true and "1"; the schema file's bytes) is remembered per manifest file in
`<state dir>/valid/`, one small file overwritten by each valid version. A document whose digest is
not the one remembered is checked as before. A missing, damaged or unwritable file only costs the
check; only documents found valid are remembered, so an invalid one is always checked and reported.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from .cache_file import write_cache_file
from .resources import resource_dir


class SchemaMemo:
    """What is known valid for the manifest file `owner`, kept under `folder`."""

    def __init__(self, folder: Path, owner: Path):
        self.path = folder / hashlib.sha256(str(owner.absolute()).encode()).hexdigest()[:24]

    def holds(self, data: Any) -> bool:
        """Whether `data` is the document last found valid."""
        digest = _digest(data)
        try:
            return digest is not None and self.path.read_text(encoding="ascii") == digest
        except (OSError, ValueError):
            return False

    def remember(self, data: Any) -> None:
        digest = _digest(data)
        if digest is None:
            return
        write_cache_file(self.path, digest.encode("ascii"))   # if not written, the next command checks again


def _digest(data: Any) -> str | None:
    try:
        document = json.dumps(data, sort_keys=True, ensure_ascii=False, allow_nan=False).encode("utf-8",
                                                                                                 "surrogatepass")
        schema = (resource_dir("schemas") / "manifest.schema.json").read_bytes()
    except (TypeError, ValueError, OSError):
        return None   # not plain JSON (the check decides), or no schema file to name
    digest = hashlib.sha256(schema)
    digest.update(b"\0")
    digest.update(document)
    return digest.hexdigest()
