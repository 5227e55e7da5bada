"""`${VAR}` interpolation of manifest string values from the environment.

`${VAR}` takes the variable (unset is an error), `${VAR:-default}` falls back to the default,
and `$${` writes a literal `${`. Values are substituted as data: nothing is evaluated, so a
value such as `{{ 7*7 }}` stays exactly that text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .errors import Problem
from .positions import JsonPath, PositionedDocument

_REFERENCE = re.compile(r"\$\$\{|\$\{([^}]*)\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class InterpolationError(ValueError):
    pass


def interpolate_text(text: str, env: Mapping[str, str]) -> tuple[str, list[str]]:
    """Substitute references in one string; return the text and the variable names used."""
    used: list[str] = []

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        body = match.group(1)
        name, sep, default = body.partition(":-")
        if not _NAME.match(name):
            raise InterpolationError(f"'${{{body}}}' is not a variable reference; "
                                     "names are letters, digits and '_' (write '$${' for a literal '${')")
        used.append(name)
        if name in env:
            return env[name]
        if sep:
            return default
        raise InterpolationError(f"environment variable {name} is not set; set it or write "
                                 f"'${{{name}:-default}}'")

    return _REFERENCE.sub(substitute, text), used


def interpolate_document(doc: PositionedDocument, env: Mapping[str, str]) -> tuple[Any, set[JsonPath],
                                                                                   list[Problem]]:
    """Interpolate every string value; return new data, the paths that used variables, problems."""
    problems: list[Problem] = []
    interpolated: set[JsonPath] = set()

    def walk(value: Any, path: JsonPath) -> Any:
        if isinstance(value, dict):
            return {k: walk(v, (*path, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, (*path, i)) for i, v in enumerate(value)]
        if isinstance(value, str) and "$" in value:
            try:
                text, used = interpolate_text(value, env)
            except InterpolationError as exc:
                problems.append(doc.problem(path, str(exc)))
                return value
            if used:
                interpolated.add(path)
            return text
        return value

    return walk(doc.data, ()), interpolated, problems
