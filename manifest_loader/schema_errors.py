"""Validate a manifest against the JSON Schema; turn each error into one short, positioned line.

jsonschema's own messages print whole Python reprs of lists; these say what is wrong in the
words of the manifest and point at the key or value that is wrong.

A manifest that is valid is the common case, and every command validates one: jsonschema_rs
answers "valid" in microseconds, without importing jsonschema (0.1-0.2 s of every command's
start-up, and its walk over a 200-table manifest another 0.08 s). jsonschema, whose errors the
messages are made from, runs only when that answer is "not valid" (or cannot be given), so it
has the last word on every manifest it sees; tests/test_manifest_corpus.py checks that the two
agree on every manifest of the corpus.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import TYPE_CHECKING, Any

from .errors import Problem, close_matches
from .positions import JsonPath, PositionedDocument
from .resources import manifest_schema

if TYPE_CHECKING:
    import jsonschema_rs
    from jsonschema.exceptions import ValidationError

    from .schema_memo import SchemaMemo

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


_PORTABLE_TYPES = ("boolean, smallint, integer, bigint, decimal(p,s), real, double, varchar, varchar(n), "
                   "char(n), date, time, timestamp, timestamptz, json, binary")


def _unclosed(text: str, example: str) -> str:
    """A hint for `{type: decimal(12, 2)}`, where YAML's flow-mapping comma cut the value short."""
    if "(" in text and ")" not in text:
        return (f" (no closing ')': inside {{...}} a comma ends an unquoted value, so quote it: "
                f"type: \"{example}\")")
    return ""


def _pattern_message(value: Any, schema: dict[str, Any]) -> str:
    """Say what the value should look like, in the manifest's words, for each patterned field."""
    defs = manifest_schema()["$defs"]
    target = defs["target"]["properties"]
    if schema is defs["portableType"]:
        return f"{value!r} is not a portable type; use one of: {_PORTABLE_TYPES}{_unclosed(value, 'decimal(12, 2)')}"
    if schema is defs["nativeType"]:
        return (f"{value!r} is not a native type; write a type name with an optional size, e.g. "
                f"VARCHAR(MAX), NUMBER(12,2), TIMESTAMP_LTZ{_unclosed(value, 'NUMBER(12, 2)')}")
    if schema is target["redshift"]["properties"]["iam_role"]:
        return (f"{value!r} is not an IAM role; write arn:aws:iam::<12-digit account id>:role/<role name>, "
                "default, or ${VARIABLE}")
    if schema is target["snowflake"]["properties"]["storage_integration"]:
        return (f"{value!r} is not a Snowflake storage integration name; use letters, digits, '_' and '$', "
                "starting with a letter or '_'")
    if schema is defs["stage"]["properties"]["url"]:
        return f"{value!r} is not a stage URL; write s3://bucket/prefix or file:///absolute/path"
    return f"{value!r} does not match {schema['pattern']}"


def _type_message(expected: list[str], value: Any) -> str:
    message = f"expected {' or '.join(_JSON_TYPE_NAMES[n] for n in expected)}, got {_describe(value)}"
    if isinstance(value, str) and ("integer" in expected or "boolean" in expected):
        unquoted = value.strip().lower()
        if unquoted.lstrip("-").isdigit() or unquoted in ("true", "false"):
            return f"{message} ({value!r}); write it without quotes"
    if "array" in expected and isinstance(value, str | int | float) and not isinstance(value, bool):
        return f"{message}; write [{value}] for a list of one"
    return message


def _problems_for(error: ValidationError, doc: PositionedDocument) -> Iterator[Problem]:
    path: JsonPath = tuple(error.absolute_path)
    kind, schema, instance = error.validator, error.schema, error.instance
    if kind == "additionalProperties" and isinstance(instance, dict):
        allowed = sorted(schema.get("properties", {}))
        for key in instance:
            if key in allowed:
                continue
            close = close_matches(key, allowed, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"expected one of: {', '.join(allowed)}"
            yield doc.problem((*path, key), f"unknown key '{key}'; {hint}", key=True)
        return
    if kind == "required":
        allowed = list(schema.get("properties", {}))
        for key in error.validator_value:
            if key in instance:
                continue
            # `tabels:` is one mistake: its unknown-key problem already asks "did you mean 'tables'?".
            if schema.get("additionalProperties") is False and any(
                    k not in allowed and close_matches(k, allowed, n=1) == [key] for k in instance):
                continue
            yield doc.problem(path, f"missing required key '{key}'")
        return
    if kind == "oneOf" and isinstance(instance, dict):
        # `checks` is true, false or a mapping: a mapping failed the mapping branch, so say why.
        for sub in error.context or ():
            if not (sub.validator == "type" and not sub.relative_path):
                yield from _problems_for(sub, doc)
        return
    if kind == "enum":
        allowed = error.validator_value
        message = f"{instance!r} is not one of {_quoted(allowed)}"
        close = close_matches(str(instance), [str(v) for v in allowed], n=1)
        if close:
            message += f"; did you mean {close[0]!r}?"
        elif path and path[-1] == "mode":
            message += " (merge updates rows that match merge_keys and inserts the others)"
    elif kind == "type":
        expected = error.validator_value
        message = _type_message([expected] if isinstance(expected, str) else expected, instance)
    elif kind == "pattern":
        message = _pattern_message(instance, schema)
    elif kind == "minItems":
        what = "table" if path == ("tables",) else "column"
        message = f"must not be empty; list at least one {what}" if error.validator_value == 1 else \
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


@cache
def _validated_schema() -> dict[str, Any]:
    """Inlined once per process: the API server validates a manifest per request."""
    return _inlined(manifest_schema())


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with each `$ref` to its `$defs` replaced by the definition itself.

    Validates the same instances with the same errors, without a reference lookup per table and
    column: validating a 200-table manifest took 0.13 s with the references, 0.08 s without.
    A definition that refers to itself (none does now) keeps its reference; `$defs` stays, unused.
    """
    definitions = schema.get("$defs", {})

    def inline(node: Any, within: tuple[str, ...]) -> Any:
        # Subschemas without a reference come back as the same objects: _pattern_message knows
        # the definitions by identity.
        if isinstance(node, list):
            items = [inline(item, within) for item in node]
            return node if all(a is b for a, b in zip(items, node, strict=True)) else items
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref", "")
        name = ref.removeprefix("#/$defs/")
        if name == ref or name not in definitions or name in within:
            values = {key: inline(value, within) for key, value in node.items()}
            return node if all(values[key] is node[key] for key in node) else values
        target = inline(definitions[name], (*within, name))
        siblings = {key: inline(value, within) for key, value in node.items() if key != "$ref"}
        return {**siblings, "allOf": [*siblings.get("allOf", []), target]} if siblings else target

    return inline(schema, ())


@cache
def _fast_validator() -> jsonschema_rs.Draft202012Validator:
    import jsonschema_rs

    return jsonschema_rs.Draft202012Validator(manifest_schema())


def fast_valid(data: Any) -> bool:
    """True when jsonschema_rs finds `data` valid; False when it does not, or cannot say (a value
    that is not JSON): then jsonschema decides, and says why."""
    try:
        return bool(_fast_validator().is_valid(data))
    except Exception:
        return False


def schema_problems(data: Any, doc: PositionedDocument, memo: SchemaMemo | None = None) -> list[Problem]:
    """Every schema violation of `data`, positioned in `doc`; `memo` knows the version of the
    manifest last found valid (schema_memo.py), which needs no validator."""
    if memo is not None and memo.holds(data):
        return []
    if fast_valid(data):
        if memo is not None:
            memo.remember(data)
        return []
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(_validated_schema())
    problems: list[Problem] = []
    for error in validator.iter_errors(data):
        problems.extend(_problems_for(error, doc))
    # jsonschema reports `required` once per missing key, each error listing them all: say each once.
    return list(dict.fromkeys(problems))
