"""Load YAML the way JSON would be loaded, remembering where every key and value came from.

Dates stay strings and keys are strings (as check-jsonschema does), so the JSON Schema sees
exactly what the user wrote. Each node's 1-based (line, column) is recorded under its JSON
path, e.g. ("tables", 1, "mode"), so any later error can point at the file position.
"""

from __future__ import annotations

from typing import Any

import yaml

from .errors import ManifestError, Problem
from .positions import JsonPath, PositionedDocument, json_path

# A manifest is a few KB; a limit keeps alias bombs and accidental data files out.
MAX_MANIFEST_BYTES = 1024 * 1024
MAX_NODES = 100_000
# A manifest nests a few levels deep; thousands of '[' would exhaust Python's recursion instead.
MAX_DEPTH = 32

_SCALAR_TAGS = {
    "tag:yaml.org,2002:int": int,
    "tag:yaml.org,2002:float": float,
}


class _Builder:
    def __init__(self, doc: PositionedDocument):
        self.doc = doc
        self.nodes = 0
        self.problems: list[Problem] = []

    def build(self, node: yaml.Node, path: JsonPath) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ManifestError([self.doc.problem(path, f"the manifest expands to more than {MAX_NODES} values "
                                                  "through YAML aliases (*name); write the values out instead")])
        self.doc.value_positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if len(path) > MAX_DEPTH:
            raise _TooDeep
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._scalar(node)

    def _mapping(self, node: yaml.MappingNode, path: JsonPath) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                self.problems.append(Problem(self.doc.file, key_node.start_mark.line + 1,
                                             key_node.start_mark.column + 1, json_path(path),
                                             "keys must be plain strings (no complex keys or '<<' merges)"))
                continue
            key = str(key_node.value)
            child = (*path, key)
            if key in out:
                self.problems.append(Problem(self.doc.file, key_node.start_mark.line + 1,
                                             key_node.start_mark.column + 1, json_path(child),
                                             f"duplicate key '{key}'"))
                continue
            self.doc.key_positions[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            out[key] = self.build(value_node, child)
        return out

    @staticmethod
    def _scalar(node: yaml.ScalarNode) -> Any:
        if node.tag == "tag:yaml.org,2002:null":
            return None
        if node.tag == "tag:yaml.org,2002:bool":
            return node.value.lower() in ("true", "yes", "on")
        convert = _SCALAR_TAGS.get(node.tag)
        if convert is not None:
            try:
                return convert(node.value.replace("_", ""))
            except ValueError:
                return node.value
        return node.value


def load_positioned(text: str, file: str) -> PositionedDocument:
    """Parse one YAML document; raise ManifestError with file:line:col on any syntax problem."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_MANIFEST_BYTES:
        raise ManifestError([Problem(file, 1, 1, "$", f"the manifest is larger than "
                                     f"{MAX_MANIFEST_BYTES // 1024} KiB; is this the right file?")])
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise ManifestError([Problem(file, line, 1, "$", "the manifest contains a NUL byte")])
    doc = PositionedDocument(file=file, data=None)
    try:
        nodes = _compose(text)
    except _TooDeep:
        raise _too_deep(text, file) from None
    try:
        nodes = nodes or list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        reason = exc.problem or exc.context or "invalid YAML"
        if "'\\t'" in reason:
            reason += "; indent with spaces, not tabs"
        raise ManifestError([Problem(file, line, col, "$", f"YAML syntax error: {reason}")]) from None
    except yaml.YAMLError as exc:
        raise ManifestError([Problem(file, 1, 1, "$", f"YAML syntax error: {exc}")]) from None
    except RecursionError:
        raise _too_deep(text, file) from None
    documents = [n for n in nodes if n is not None]
    if len(documents) != 1:
        where = documents[1].start_mark if len(documents) > 1 else None
        line, col = (where.line + 1, where.column + 1) if where else (1, 1)
        hint = "; remove the '---' separator and merge them" if len(documents) > 1 else ""
        raise ManifestError([Problem(file, line, col, "$",
                                     f"expected exactly one YAML document, found {len(documents)}{hint}")])
    builder = _Builder(doc)
    try:
        doc.data = builder.build(nodes[0], ())
    except _TooDeep:
        raise _too_deep(text, file) from None
    if builder.problems:
        raise ManifestError(builder.problems)
    return doc


# libyaml composes a 200-table manifest in 0.03 s where the pure-Python parser takes 0.3 s.
_FAST_LOADER = getattr(yaml, "CSafeLoader", None)


def _compose(text: str) -> list[yaml.Node | None]:
    """Compose with libyaml when it is there; [] means "use the pure-Python parser".

    libyaml composes recursively in C, so nesting is measured first from its event stream
    (stopping at the limit: deep nesting crashes the composer and makes the parser quadratic).
    Its error messages differ in wording from the pure-Python parser's, whose messages the
    corpus pins, so any syntax error is parsed again by that one.
    """
    if _FAST_LOADER is None:
        return []
    try:
        depth = 0
        for event in yaml.parse(text, Loader=_FAST_LOADER):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH + 1:
                    raise _TooDeep
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
        return list(yaml.compose_all(text, Loader=_FAST_LOADER))
    except yaml.YAMLError:
        return []


class _TooDeep(Exception):
    """Nesting beyond MAX_DEPTH, found while building."""


def _too_deep(text: str, file: str) -> ManifestError:
    """Where the nesting first goes beyond MAX_DEPTH, found without recursion (the parser's events),
    so the message is the same whether composing or building hit the limit first."""
    depth, line, col = 0, 1, 1
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.NodeEvent) and depth > MAX_DEPTH:
                line, col = event.start_mark.line + 1, event.start_mark.column + 1
                break
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        pass
    return ManifestError([Problem(file, line, col, "$", f"the manifest nests deeper than {MAX_DEPTH} levels; "
                                  "no manifest needs that")])
