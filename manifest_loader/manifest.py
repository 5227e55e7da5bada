"""Read a manifest file into validated, frozen dataclasses.

Order of work: YAML with positions -> `${VAR}` interpolation -> JSON Schema -> checks that
need only the manifest itself (versions, duplicates, modes, foreign-key graph, secrets).
Checks that need the Parquet schemas or the target dialect live in `resolve.py`.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import registry
from .errors import ManifestError, Problem, close_matches
from .interpolate import interpolate_document
from .parse_memo import load_positioned_memo
from .positions import JsonPath, PositionedDocument, json_path
from .schema_errors import schema_problems
from .schema_memo import SchemaMemo
from .state import state_dir
from .types import PortableType, TypeProblem, parse_type
from .urls import mask_url

SUPPORTED_VERSIONS = (1,)
CHECK_NAMES = ("not_null", "primary_key", "foreign_keys", "varchar_length", "row_count")
_PASSWORD_IN_URL = re.compile(r"^[^:/?#]+://[^/@:?#]*:[^/@?#]+@|[?&](password|secret|token)[a-z_]*=[^&]",
                              re.IGNORECASE)


@dataclass(frozen=True)
class Checks:
    """Which loader-enforced checks run for a table (all on by default)."""

    not_null: bool = True
    primary_key: bool = True
    foreign_keys: bool = True
    varchar_length: bool = True
    row_count: bool = True


@dataclass(frozen=True)
class ColumnOverride:
    name: str
    type: PortableType | None = None
    nullable: bool | None = None
    native: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ForeignKey:
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]


@dataclass(frozen=True)
class TableSpec:
    index: int
    name: str
    source: str
    mode: str
    primary_key: tuple[str, ...] = ()
    merge_keys: tuple[str, ...] = ()
    columns: tuple[ColumnOverride, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    checks: Checks = Checks()
    redshift: Mapping[str, Any] = field(default_factory=dict)
    snowflake: Mapping[str, Any] = field(default_factory=dict)

    def override(self, column: str) -> ColumnOverride | None:
        return next((c for c in self.columns if c.name == column), None)

    def warehouse_options(self, warehouse: str) -> Mapping[str, Any]:
        """The table's options for one warehouse (its `redshift:` or `snowflake:` mapping)."""
        return {"redshift": self.redshift, "snowflake": self.snowflake}.get(warehouse, {})

    def physical_design(self, warehouse: str) -> bool:
        """Whether the table asks for data placement on the warehouse (Redshift distribution, Snowflake
        clustering): what an emulator drops. A Redshift SORTKEY is not among them (the emulator indexes it)."""
        options = {"redshift": {k: v for k, v in self.redshift.items() if k.startswith("dist")},
                   "snowflake": {k: v for k, v in self.snowflake.items() if v}}
        return bool(options.get(warehouse))


@dataclass(frozen=True)
class Manifest:
    path: Path
    display_path: str
    text_sha256: str
    version: int
    name: str
    description: str
    warehouse: str
    schema: str
    url: str | None
    iam_role: str | None
    storage_integration: str | None
    stage_url: str | None
    stage_cleanup: str
    tables: tuple[TableSpec, ...]
    doc: PositionedDocument = field(repr=False, compare=False)
    # json path -> (what the file says, the value from the environment), for messages: they quote
    # the first, never the second (say_substituted).
    substituted: Mapping[str, tuple[Any, Any]] = field(default_factory=dict, repr=False, compare=False)

    @property
    def folder(self) -> Path:
        return self.path.parent

    def table(self, name: str) -> TableSpec:
        return next(t for t in self.tables if t.name == name)


def load_manifest(path: str | Path, env: Mapping[str, str] | None = None) -> Manifest:
    """Read, interpolate, validate; raise ManifestError listing every problem found."""
    file = Path(path)
    display = str(path)
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise ManifestError([Problem(display, 1, 1, "$", "no such manifest file")]) from None
    except OSError as exc:
        raise ManifestError([Problem(display, 1, 1, "$", f"cannot read the manifest: {exc.strerror}")]) from None
    return parse_manifest(raw, file, display, env)


def parse_manifest(raw: bytes, file: Path, display: str, env: Mapping[str, str] | None = None, *,
                   caches: bool = True) -> Manifest:
    """A manifest's bytes as if read from `file` (its folder is where sources resolve); nothing is
    read from or written to `file` itself, so posted text is validated without a file. `caches`:
    keep the parse and the schema check's answer in the state folder (parse_memo.py,
    schema_memo.py) for the next command; not for text posted over HTTP."""
    env = os.environ if env is None else env
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[:exc.start]
        line, col = before.count(b"\n") + 1, len(before.rsplit(b"\n", 1)[-1].decode("utf-8", "replace")) + 1
        raise ManifestError([Problem(display, line, col, "$", f"the manifest is not UTF-8 text (byte "
                                     f"0x{raw[exc.start]:02x} here); save it as UTF-8")]) from None
    if caches:
        doc = load_positioned_memo(text, display, state_dir(env, file) / "parsed", file)
    else:
        # PyYAML is imported only where a text is parsed (a memo's answer needs none)
        from .yamlpos import load_positioned

        doc = load_positioned(text, display)
    version_problem = _version_problem(doc)
    if version_problem:
        raise ManifestError([version_problem])
    data, interpolated, problems = interpolate_document(doc, env)
    substituted = _substitutions(doc, interpolated, data)
    memo = SchemaMemo(state_dir(env, file) / "valid", file) if caches else None
    problems += say_substituted(schema_problems(data, doc, memo), substituted)
    # Values whose ${VAR} failed still hold the reference text; checking them would only add noise.
    unresolved = {p.path for p in problems}
    problems += say_substituted(_semantic_problems_tolerant(data, doc, interpolated, unresolved,
                                                            schema_clean=not problems), substituted)
    if problems:
        raise ManifestError(problems)
    return replace(_build(data, doc, file, display, hashlib.sha256(raw).hexdigest()), substituted=substituted)


def _substitutions(doc: PositionedDocument, interpolated: set[JsonPath], data: Any) -> dict[str, tuple[Any, Any]]:
    return {json_path(path): (_value_at(doc.data, path), _value_at(data, path)) for path in interpolated}


def say_substituted(problems: list[Problem], substituted: Mapping[str, tuple[Any, Any]]) -> list[Problem]:
    """Name the ${VAR} text behind a wrong value, never the value: it came from the environment (which
    may hold a secret), and the file shows the reference."""
    out = []
    for problem in problems:
        if problem.path not in substituted:
            out.append(problem)
            continue
        written, value = substituted[problem.path]
        message = _without_value(problem.message, value, written)
        out.append(replace(problem, message=f"{message}; the value comes from {written!r}"))
    return out


def _without_value(message: str, value: Any, written: Any) -> str:
    """The message with the interpolated value replaced by what the file says."""
    if value is None or isinstance(value, bool):
        return message
    for shown in (repr(value), repr(str(value)), f"'{value}'", f'"{value}"'):
        message = message.replace(shown, repr(written))
    text = str(value)
    if text and text in message:
        # Unquoted (or cut short) in the message: no part of an environment value is shown.
        return f"{written!r} (from the environment) is not valid here"
    return message


def _value_at(data: Any, path: tuple) -> Any:
    for part in path:
        data = data[part]
    return data


def _version_problem(doc: PositionedDocument) -> Problem | None:
    data = doc.data
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else "a single value" if data is not None else "empty"
        return doc.problem((), f"expected a mapping with keys version, name, target and tables, got {kind}")
    version = data.get("version")
    if isinstance(version, int) and not isinstance(version, bool) and version not in SUPPORTED_VERSIONS:
        from . import __version__

        return doc.problem(("version",), f"manifest version {version} is not supported by manifest-loader "
                           f"{__version__}; it reads version {', '.join(map(str, SUPPORTED_VERSIONS))}")
    return None


def _semantic_problems_tolerant(data: Any, doc: PositionedDocument, interpolated: set[JsonPath], unresolved: set[str],
                                schema_clean: bool) -> list[Problem]:
    """Semantic checks; on a manifest with schema errors, run them as far as its shape allows.

    Reporting every mistake at once saves the user a round trip per mistake, but checks written
    for schema-valid data may trip over a malformed part, which the schema already reported.
    """
    if schema_clean:
        return _semantic_problems(data, doc, interpolated, unresolved)
    try:
        return _semantic_problems(data, doc, interpolated, unresolved)
    except (KeyError, TypeError, AttributeError, IndexError):
        return []


def _effective_mode(table: dict[str, Any], data: dict[str, Any]) -> str:
    return table.get("mode") or data.get("defaults", {}).get("mode") or "replace"


def _schema_accepts(definition: str, value: Any) -> bool:
    """Whether a string passes the schema pattern of $defs[definition] (else the schema reported it)."""
    from .resources import manifest_schema

    pattern = manifest_schema()["$defs"][definition]["pattern"]
    return isinstance(value, str) and re.search(pattern, value) is not None


def _semantic_problems(data: dict[str, Any], doc: PositionedDocument, interpolated: set[JsonPath],
                       unresolved: frozenset[str] | set[str] = frozenset()) -> list[Problem]:
    problems: list[Problem] = []
    url = data["target"].get("url")
    if url and ("target", "url") not in interpolated and _PASSWORD_IN_URL.search(url):
        variable = registry.URL_ENV.get(data["target"].get("warehouse"), "DW_SIMULATOR_REDSHIFT_URL")
        problems.append(doc.problem(("target", "url"), "the URL holds a password in clear; put the URL in an "
                                    f"environment variable and write ${{{variable}}}"))
    if url and "$.target.url" not in unresolved and (why := _url_problem(url, data["target"]["warehouse"])):
        problems.append(doc.problem(("target", "url"), why))
    seen: dict[str, int] = {}
    tables = data["tables"]
    for i, table in enumerate(tables):
        folded = table["name"].lower()
        if folded in seen:
            first = tables[seen[folded]]["name"]
            how = "" if first == table["name"] else (" once folded to one case, as Redshift does for every "
                                                     "name and Snowflake for unquoted ones")
            problems.append(doc.problem(("tables", i, "name"), f"table '{table['name']}' has the same name "
                                        f"as $.tables[{seen[folded]}] ('{first}'){how}; rename one of them"))
        else:
            seen[folded] = i
        problems += _table_problems(table, i, data, doc)
    problems += _foreign_key_problems(tables, doc)
    return problems


def _url_problem(url: str, warehouse: str) -> str | None:
    """A target.url that cannot reach its warehouse, said at its line (target.py would say it unplaced)."""
    schemes = registry.schemes_of(warehouse)
    if not schemes:  # an unknown warehouse: the schema reported it
        return None
    if registry.url_scheme(url) in schemes:
        return None
    return (f"{mask_url(url)!r} is not a {warehouse} URL; use one of "
            f"{', '.join(f'{s}://' for s in schemes)} (the scheme picks the warehouse or its emulator)")


def _table_problems(table: dict[str, Any], i: int, data: dict[str, Any],
                    doc: PositionedDocument) -> list[Problem]:
    problems: list[Problem] = []
    mode = _effective_mode(table, data)
    origin = "" if "mode" in table else " (from defaults.mode)"
    # An unknown mode was reported by the schema; rules for the modes would only add noise.
    if mode == "merge" and not table.get("merge_keys"):
        problems.append(doc.problem(("tables", i, "mode") if "mode" in table else ("tables", i),
                                    f"table '{table['name']}' uses mode merge{origin} but has no merge_keys; "
                                    "list the columns that identify a row in merge_keys: [...]"))
    if table.get("merge_keys") and mode in ("append", "replace", "truncate"):
        problems.append(doc.problem(("tables", i, "merge_keys"), f"merge_keys only apply in mode merge, "
                                    f"and table '{table['name']}' uses mode {mode}{origin}; remove merge_keys "
                                    "or set mode: merge"))
    for column, spec in table.get("columns", {}).items():
        if "type" in spec and _schema_accepts("portableType", spec["type"]):
            try:
                parse_type(spec["type"])
            except TypeProblem as exc:
                problems.append(doc.problem(("tables", i, "columns", column, "type"), str(exc)))
    redshift = table.get("redshift", {})
    if redshift.get("diststyle") == "key" and "distkey" not in redshift:
        problems.append(doc.problem(("tables", i, "redshift", "diststyle"),
                                    "diststyle key needs a distkey column; add distkey: <column> or choose "
                                    "diststyle auto, even or all"))
    if "distkey" in redshift and redshift.get("diststyle", "key") != "key":
        problems.append(doc.problem(("tables", i, "redshift", "distkey"),
                                    f"distkey needs diststyle key, not {redshift['diststyle']}; remove distkey "
                                    "or set diststyle: key"))
    return problems


def _foreign_key_problems(tables: list[dict[str, Any]], doc: PositionedDocument) -> list[Problem]:
    problems: list[Problem] = []
    names = {t["name"] for t in tables}
    edges: dict[str, set[str]] = {t["name"]: set() for t in tables}
    for i, table in enumerate(tables):
        for j, fk in enumerate(table.get("foreign_keys", [])):
            ref = fk["references"]
            where = ("tables", i, "foreign_keys", j)
            if ref["table"] not in names:
                close = close_matches(ref["table"], sorted(names), n=1)
                hint = f"did you mean '{close[0]}'? " if close else ""
                problems.append(doc.problem((*where, "references", "table"),
                                            f"foreign key references unknown table '{ref['table']}'; "
                                            f"{hint}tables are: {', '.join(sorted(names))}"))
                continue
            if len(fk["columns"]) != len(ref["columns"]):
                problems.append(doc.problem((*where, "columns"), f"foreign key lists {len(fk['columns'])} "
                                            f"column(s) but references {len(ref['columns'])}; list one column "
                                            "per referenced column, in the same order"))
            if ref["table"] != table["name"]:
                edges[table["name"]].add(ref["table"])
    cycle = _find_cycle(edges)
    if cycle:
        index = next(i for i, t in enumerate(tables) if t["name"] == cycle[0])
        problems.append(doc.problem(("tables", index, "foreign_keys"),
                                    f"foreign keys form a cycle: {' -> '.join(cycle)}; no load order "
                                    "puts every parent first, so drop one of these foreign keys"))
    return problems


def _find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for child in sorted(edges[node]):
            if state.get(child) == 1:
                return [*stack[stack.index(child):], child]
            if child not in state and (found := visit(child)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for start in edges:
        if start not in state and (found := visit(start)):
            return found
    return None


def _checks(value: Any, default: Checks) -> Checks:
    if value is None:
        return default
    if isinstance(value, bool):
        return Checks(*(value for _ in CHECK_NAMES))
    return Checks(**{name: value.get(name, getattr(default, name)) for name in CHECK_NAMES})


def _build(data: dict[str, Any], doc: PositionedDocument, path: Path, display: str, digest: str) -> Manifest:
    defaults = data.get("defaults", {})
    default_checks = _checks(defaults.get("checks"), Checks())
    tables = []
    for i, t in enumerate(data["tables"]):
        overrides = tuple(
            ColumnOverride(name=column, type=parse_type(spec["type"]) if "type" in spec else None,
                           nullable=spec.get("nullable"),
                           native={d: s["type"] for d, s in spec.items() if d in registry.warehouses()})
            for column, spec in t.get("columns", {}).items())
        fks = tuple(ForeignKey(tuple(fk["columns"]), fk["references"]["table"],
                               tuple(fk["references"]["columns"])) for fk in t.get("foreign_keys", []))
        tables.append(TableSpec(
            index=i, name=t["name"], source=t["source"], mode=_effective_mode(t, data),
            primary_key=tuple(t.get("primary_key", ())), merge_keys=tuple(t.get("merge_keys", ())),
            columns=overrides, foreign_keys=fks, checks=_checks(t.get("checks"), default_checks),
            redshift=dict(t.get("redshift", {})), snowflake=dict(t.get("snowflake", {}))))
    target = data["target"]
    stage = data.get("stage", {})
    return Manifest(
        path=path.resolve(), display_path=display, text_sha256=digest, version=data["version"],
        name=data["name"], description=data.get("description", ""), warehouse=target["warehouse"],
        schema=target.get("schema") or data["name"], url=target.get("url"),
        iam_role=target.get("redshift", {}).get("iam_role"),
        storage_integration=target.get("snowflake", {}).get("storage_integration"),
        stage_url=stage.get("url"), stage_cleanup=stage.get("cleanup", "never"),
        tables=tuple(tables), doc=doc)
