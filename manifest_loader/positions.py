"""A parsed document's plain data and where in its file every key and value came from.

Apart from the YAML parser (yamlpos.py) so that what reads a parsed document (interpolation, the
schema's messages, the manifest's checks) does not import PyYAML: a parse the memo answers
(parse_memo.py) needs no parser at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import Problem

JsonPath = tuple[str | int, ...]


def json_path(path: JsonPath) -> str:
    """Render a path as JSONPath text: ("tables", 1, "mode") -> $.tables[1].mode."""
    out = "$"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


@dataclass
class PositionedDocument:
    """Plain data plus the position of every key and value in the source text."""

    file: str
    data: Any
    value_positions: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)

    def position(self, path: JsonPath, *, key: bool = False) -> tuple[int, int]:
        """Best known position of a path: itself, else the nearest ancestor that has one."""
        table = self.key_positions if key else self.value_positions
        probe = tuple(path)
        while probe:
            if probe in table:
                return table[probe]
            if key and probe in self.value_positions:
                return self.value_positions[probe]
            probe = probe[:-1]
        return self.value_positions.get((), (1, 1))

    def problem(self, path: JsonPath, message: str, *, key: bool = False) -> Problem:
        line, col = self.position(path, key=key)
        return Problem(self.file, line, col, json_path(path), message)
