"""Expand a source's glob pattern: each real file once, in bounded time, even with looping links.

`glob.glob(..., recursive=True)` follows directory links under `**` without noticing a loop:
one file behind a `back -> ..` link came back 41 times (until the path got too long), and two
such links took minutes. Here `**` descends into each real directory once per remaining part
of the pattern (a link to a directory already walked, an ancestor for one, is not walked
again; a link out of the manifest's folder is returned, not walked, for the caller to refuse),
and files found along several paths are listed once, under the first path in sorted
order. Otherwise the rules are glob's: `*`, `?` and `[…]` match within one name, names that
start with `.` only when the part does, and `**` matches zero or more folders.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterator
from pathlib import Path

_GLOB_CHARS = frozenset("*?[")


def expand(pattern: Path, inside: Path | None = None) -> list[Path]:
    """Files and folders that `pattern` (an absolute path with glob parts) matches, sorted; one path
    per real file or folder. Under `**`, a link to a folder outside `inside` is returned, not walked."""
    parts = tuple(part for part in pattern.parts[1:] if part not in ("", "."))
    walked: set[tuple[str, int]] = set()
    found: dict[str, Path] = {}
    limit = os.path.realpath(inside if inside is not None else pattern.anchor)
    for path in sorted(_expand(Path(pattern.anchor), parts, walked, limit)):
        found.setdefault(os.path.realpath(path), path)
    return sorted(found.values())


def _expand(folder: Path, parts: tuple[str, ...], walked: set[tuple[str, int]], inside: str) -> Iterator[Path]:
    if not parts:
        yield folder
        return
    part, rest = parts[0], parts[1:]
    if part == "**":
        key = (os.path.realpath(folder), len(parts))
        if key in walked:
            return   # this real folder was already walked for the rest of the pattern: a loop, or a second link
        walked.add(key)
        yield from _expand(folder, rest, walked, inside)   # zero folders
        for child in _children(folder, "*"):
            if not rest and not child.is_dir():
                yield child                        # a trailing ** matches files too
            if child.is_dir():
                if os.path.commonpath([os.path.realpath(child), inside]) != inside:
                    yield child                    # a link out of the manifest's folder: the caller refuses it
                    continue
                yield from _expand(child, parts, walked, inside)
        return
    if part == "..":
        yield from _expand(folder / "..", rest, walked, inside)
        return
    if not (_GLOB_CHARS & set(part)):
        child = folder / part
        if os.path.lexists(child):
            yield from _expand(child, rest, walked, inside)
        return
    for child in _children(folder, part):
        yield from _expand(child, rest, walked, inside)


def _children(folder: Path, part: str) -> list[Path]:
    try:
        names = os.listdir(folder)
    except OSError:   # not a folder, gone, or not readable: nothing matches in it
        return []
    hidden = part.startswith(".")
    return [folder / name for name in sorted(names)
            if (hidden or not name.startswith(".")) and fnmatch.fnmatchcase(name, part)]
