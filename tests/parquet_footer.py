"""Rewrite the row counts in a Parquet footer, to make files whose footer disagrees with its pages.

parquet-testing's repeated_no_annotation.parquet says 0 rows in its file metadata over row groups
of 6; no current writer makes that, so the tests write a good file with pyarrow and rewrite the
counts in its footer (Thrift compact protocol: FileMetaData field 3 and RowGroup field 3 are the
i64 `num_rows`). Only the footer changes; its length at the end of the file is written again.
"""

from __future__ import annotations

import struct
from pathlib import Path

_I64, _LIST, _STRUCT = 6, 9, 12
Found = list[tuple[tuple[int, ...], int, int]]   # (field path, start, end) of each i64 value


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def _zigzag(value: int) -> bytes:
    number, out = (value << 1) ^ (value >> 63), bytearray()
    while number >= 0x80:
        out.append((number & 0x7F) | 0x80)
        number >>= 7
    out.append(number)
    return bytes(out)


def _list_header(data: bytes, pos: int) -> tuple[int, int, int]:
    head = data[pos]
    size, element = head >> 4, head & 0x0F
    pos += 1
    if size == 15:
        size, pos = _varint(data, pos)
    return size, element, pos


def _skip(data: bytes, pos: int, kind: int) -> int:
    if kind in (1, 2):    # booleans live in the field header
        return pos
    if kind == 3:
        return pos + 1
    if kind in (4, 5, 6):
        return _varint(data, pos)[1]
    if kind == 7:
        return pos + 8
    if kind == 8:
        size, pos = _varint(data, pos)
        return pos + size
    if kind in (_LIST, 10):
        size, element, pos = _list_header(data, pos)
        for _ in range(size):
            pos = pos + 1 if element in (1, 2) else _skip(data, pos, element)
        return pos
    if kind == 11:
        size, pos = _varint(data, pos)
        if size:
            types = data[pos]
            pos += 1
            for _ in range(size):
                pos = _skip(data, _skip(data, pos, types >> 4), types & 0x0F)
        return pos
    if kind == _STRUCT:
        return _struct(data, pos, None, ())
    raise ValueError(f"unknown Thrift compact type {kind}")


def _struct(data: bytes, pos: int, found: Found | None, path: tuple[int, ...]) -> int:
    last = 0
    while True:
        head = data[pos]
        pos += 1
        if head == 0:
            return pos
        kind, delta = head & 0x0F, head >> 4
        if delta:
            field = last + delta
        else:
            raw, pos = _varint(data, pos)
            field = (raw >> 1) ^ -(raw & 1)
        last = field
        if found is not None and kind == _I64:
            end = _skip(data, pos, kind)
            found.append(((*path, field), pos, end))
            pos = end
        elif found is not None and path == () and field == 4 and kind == _LIST:   # FileMetaData.row_groups
            size, _, pos = _list_header(data, pos)
            for index in range(size):
                pos = _struct(data, pos, found, (4, index))
        else:
            pos = _skip(data, pos, kind)


def set_row_counts(path: Path, *, file_rows: int | None = None, group_rows: int | None = None) -> None:
    """Write `file_rows` as the file's num_rows and/or `group_rows` as every row group's."""
    raw = path.read_bytes()
    length = struct.unpack("<I", raw[-8:-4])[0]
    start = len(raw) - 8 - length
    footer = raw[start:-8]
    found: Found = []
    _struct(footer, 0, found, ())
    edits = [(a, b, _zigzag(file_rows)) for where, a, b in found if where == (3,) and file_rows is not None]
    edits += [(a, b, _zigzag(group_rows)) for where, a, b in found
              if len(where) == 3 and where[2] == 3 and group_rows is not None]
    assert edits, "no num_rows field found"
    new = bytearray(footer)
    for a, b, value in sorted(edits, reverse=True):
        new[a:b] = value
    path.write_bytes(raw[:start] + bytes(new) + struct.pack("<I", len(new)) + b"PAR1")
