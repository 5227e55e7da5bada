"""Turn jsonschema errors into one short, positioned line each.

jsonschema's own messages print whole Python reprs of lists; these say what is wrong in the
words of the manifest and point at the key or value that is wrong.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from .errors import Problem
from .resources import manifest_schema
from .yamlpos import JsonPath, PositionedDocument

_JSON_TYPE_NAMES = {"object": "a mapping", "array": "a list", "string": "a string",
                    "integer": "an integer", "number": "a number", "boolean": "true or false",
                    "null": "null"}


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    for python_type, name in ((dict, "a mapping"), (list, "a list"), (str, "a string"),
                              (int, "an integer"), (float, "a number")):
        if isinstance(value, python_type):
            return name
    return "null"


def _quoted(values: list[Any]) -> str:
    return ", ".join(repr(v) for v in values)


def _problems_for(error: ValidationError, doc: PositionedDocument) -> Iterator[Problem]:
    path: JsonPath = tuple(error.absolute_path)
    kind, schema, instance = error.validator, error.schema, error.instance
    if kind == "additionalProperties" and isinstance(instance, dict):
        allowed = sorted(schema.get("properties", {}))
        for key in instance:
            if key in allowed:
                continue
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"expected one of: {', '.join(allowed)}"
            yield doc.problem((*path, key), f"unknown key '{key}'; {hint}", key=True)
        return
    if kind == "required":
        missing = error.validator_value
        for key in missing:
            if key not in instance:
                yield doc.problem(path, f"missing required key '{key}'")
        return
    if kind == "enum":
        message = f"{instance!r} is not one of {_quoted(error.validator_value)}"
    elif kind == "type":
        expected = error.validator_value
        names = [expected] if isinstance(expected, str) else expected
        message = f"expected {' or '.join(_JSON_TYPE_NAMES[n] for n in names)}, got {_describe(instance)}"
    elif kind == "pattern":
        message = f"{instance!r} is not valid here: {schema.get('description', 'must match ' + schema['pattern'])}"
    elif kind == "minItems":
        message = "must not be empty" if error.validator_value == 1 else \
            f"needs at least {error.validator_value} items"
    elif kind == "minLength":
        message = "must not be empty"
    elif kind == "uniqueItems":
        message = "lists the same name twice"
    elif kind == "oneOf":
        message = f"expected true, false or a mapping of check names, got {_describe(instance)}"
    else:
        message = error.message
    yield doc.problem(path, message)


def schema_problems(data: Any, doc: PositionedDocument) -> list[Problem]:
    """Every schema violation of `data`, positioned in `doc`."""
    validator = Draft202012Validator(manifest_schema())
    problems: list[Problem] = []
    for error in validator.iter_errors(data):
        problems.extend(_problems_for(error, doc))
    return problems
