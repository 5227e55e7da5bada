"""A parsed document's plain data and where in its file every key and value came from.

Apart from the YAML parser (yamlpos.py) so that what reads a parsed document (interpolation, the
schema's messages, the manifest's checks) does not import PyYAML: a parse the memo answers
(parse_memo.py) needs no parser at all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import Problem

JsonPath = tuple[str | int, ...]


def json_path(path: JsonPath) -> str:
    """Render a path as JSONPath text: ("tables", 1, "mode") -> $.tables[1].mode."""
    out = "$"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


Positions = dict[JsonPath, tuple[int, int]]


class PositionedDocument:
    """Plain data plus the position of every key and value in the source text.

    The positions may come from a function, called when one is first asked for: the parse memo's
    (parse_memo.py) are read only when a problem needs one, since a manifest that has none (the
    common case) never does, and a 200-table manifest has 5,000 of them (1.3 MB in memory).
    """

    def __init__(self, file: str, data: Any, value_positions: Positions | None = None,
                 key_positions: Positions | None = None, *,
                 positions: Callable[[], tuple[Positions, Positions]] | None = None) -> None:
        self.file, self.data = file, data
        self._positions = None if positions is not None else \
            ({} if value_positions is None else value_positions, {} if key_positions is None else key_positions)
        self._make_positions = positions

    @property
    def value_positions(self) -> Positions:
        return self._all_positions()[0]

    @property
    def key_positions(self) -> Positions:
        return self._all_positions()[1]

    def _all_positions(self) -> tuple[Positions, Positions]:
        if self._positions is None:
            assert self._make_positions is not None
            self._positions = self._make_positions()
        return self._positions

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
