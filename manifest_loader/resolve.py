"""Resolve a manifest against its Parquet files and a target dialect.

Lists each table's files, reads their footers, infers portable types, applies overrides and
runs every check that needs the data's schema or the target's identifier rules. The result
is everything `build_plan` needs, so planning itself stays pure.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import ManifestError, Problem, close_matches
from .footer_cache import FooterCache
from .loader_tables import CHANGED_TABLE, KEYS_TABLE, LEDGER_TABLE, STAGING_SUFFIX
from .manifest import Manifest, TableSpec, say_substituted
from .sources import SourceFile, SourceProblem, describe_sources, list_sources
from .types import PortableType, accepts, common_override, compatible_types, widen

if TYPE_CHECKING:
    from .dialects import Dialect
    from .registry import TargetKind


@dataclass(frozen=True)
class ResolvedColumn:
    name: str
    type: PortableType
    nullable: bool
    native_type: str | None = None   # the manifest's per-dialect escape hatch
    emulated_native: str | None = None   # a native type the emulator cannot take (it uses `type`)
    primary_key: bool = False   # part of the primary key, hence NOT NULL whatever `nullable:` says

    # `type` is the field above here, not the builtin: name the builtin explicitly.
    def sql_type(self, dialect: builtins.type[Dialect]) -> str:
        return self.native_type or dialect.type_sql(self.type)


@dataclass(frozen=True)
class ResolvedTable:
    spec: TableSpec
    columns: tuple[ResolvedColumn, ...]
    files: tuple[SourceFile, ...]
    notes: tuple[str, ...] = ()   # what plan says about the table's files (types widened across files)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)

    @property
    def bytes(self) -> int:
        return sum(f.size for f in self.files)

    def column(self, name: str) -> ResolvedColumn:
        return next(c for c in self.columns if c.name == name)


@dataclass(frozen=True)
class ResolvedManifest:
    manifest: Manifest
    tables: tuple[ResolvedTable, ...]   # in load order: parents before children


def resolve(manifest: Manifest, kind: TargetKind, *, hash_content: bool = True,
            cache: FooterCache | None = None) -> ResolvedManifest:
    """Read every footer (or what `cache` remembers of it) and check the manifest against the data and
    the target `kind`; raise ManifestError on problems."""
    dialect = kind.dialect
    problems: list[Problem] = []
    doc = manifest.doc
    problems += _identifier_problems(manifest, dialect)
    resolved: dict[str, ResolvedTable] = {}
    real_folder = manifest.folder.resolve()
    for spec in manifest.tables:
        where = ("tables", spec.index)
        try:
            files = describe_sources(list_sources(spec.source, manifest.folder, real_folder=real_folder),
                                     hash_content=hash_content, cache=cache)
        except SourceProblem as exc:
            problems.append(doc.problem((*where, "source"), str(exc)))
            continue
        columns, table_problems, notes = _columns(spec, files, manifest, kind)
        problems += table_problems
        if not table_problems:
            resolved[spec.name] = ResolvedTable(spec, tuple(columns), tuple(files), tuple(notes))
    for table in resolved.values():
        problems += _key_problems(table, resolved, manifest)
    if problems:
        raise ManifestError(say_substituted(problems, manifest.substituted))
    return ResolvedManifest(manifest, tuple(resolved[name] for name in load_order(manifest)))


def load_order(manifest: Manifest) -> list[str]:
    """Parents before children; otherwise manifest order (the FK graph is acyclic by validation)."""
    order: list[str] = []
    pending = list(manifest.tables)
    while pending:
        for spec in pending:
            parents = {fk.ref_table for fk in spec.foreign_keys} - {spec.name}
            if parents <= set(order):
                order.append(spec.name)
                pending.remove(spec)
                break
    return order


def _identifier_problems(manifest: Manifest, dialect: type[Dialect]) -> list[Problem]:
    doc, problems = manifest.doc, []
    schema_path = ("target", "schema") if "schema" in manifest.doc.data.get("target", {}) else ("name",)
    if (why := dialect.identifier_problem(manifest.schema)) is not None:
        problems.append(doc.problem(schema_path, f"schema name '{manifest.schema}' {why}"))
    for spec in manifest.tables:
        if (why := dialect.identifier_problem(spec.name) or _reserved(spec.name)) is not None:
            problems.append(doc.problem(("tables", spec.index, "name"), f"table name {spec.name!r} {why}; "
                                        "rename the table"))
    return problems


def _reserved(name: str) -> str | None:
    """Names of the loader's own tables, which a user's table would overwrite or be overwritten by."""
    if name.lower() == LEDGER_TABLE:
        return "is the loader's ledger table, in every schema it loads"
    if name.lower() == KEYS_TABLE:
        return "is the loader's table of declared keys, in every schema it loads"
    if name.lower() == CHANGED_TABLE:
        # Refused on every target, so a manifest that loads elsewhere loads on the emulator too.
        return "is the loader's table of tables written since it loaded them, in every schema it loads"
    if name.lower().endswith(STAGING_SUFFIX):
        return f"ends with {STAGING_SUFFIX}, which the loader uses for its merge staging tables"
    return None


def _one_of(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def _did_you_mean(name: str, available: list[str]) -> str:
    """The text "did you mean 'x'? " for a near miss (case-insensitive first), else an empty string."""
    folded = [a for a in available if a.lower() == name.lower()]
    close = folded or close_matches(name, available, n=1)
    return f"did you mean '{close[0]}'? " if close else ""


def _columns(spec: TableSpec, files: list[SourceFile], manifest: Manifest,
             kind: TargetKind) -> tuple[list[ResolvedColumn], list[Problem], list[str]]:
    dialect = kind.dialect
    doc, where = manifest.doc, ("tables", spec.index)
    problems: list[Problem] = []
    notes: list[str] = []
    first = files[0]
    for file in files:
        names = file.schema.names
        if not names:
            problems.append(doc.problem((*where, "source"), f"{file.display} has no columns; a table needs at "
                                        "least one"))
        for name in sorted({n for n in names if names.count(n) > 1}):
            problems.append(doc.problem((*where, "source"), f"column {name!r} appears {names.count(name)} times "
                                        f"in {file.display}; rename the columns so each name is used once"))
    if problems:
        return [], problems, notes
    inferred: dict[str, PortableType | None] = {}
    origin: dict[str, SourceFile] = {}
    unsupported: set[str] = set()   # reported once here; not also "NULL in every row"
    seen: dict[str, list[tuple[PortableType, SourceFile]]] = {}   # each type a column has, and a file with it
    for field in first.schema:
        inferred[field.name] = field.portable
        if field.problem is not None:
            problems.append(doc.problem((*where, "source"), f"column '{field.name}' in {first.display}: "
                                        f"{field.problem}"))
            unsupported.add(field.name)
        origin[field.name] = first
        if inferred[field.name] is not None:
            seen[field.name] = [(inferred[field.name], first)]  # type: ignore[list-item]
    for other in files[1:]:
        problems += _drift_problems(spec, first, other, inferred, origin, seen, manifest)
        if dialect.columns_by_position and set(other.schema.names) == set(first.schema.names) \
                and other.schema.names != first.schema.names:
            problems.append(doc.problem((*where, "source"), f"{other.display} has the columns of {first.display} "
                                        f"in another order ({', '.join(other.schema.names)}); "
                                        f"{kind.warehouse.capitalize()}'s COPY maps Parquet "
                                        "columns by position, so all files of a table need one "
                                        "column order; rewrite the file with its columns in that order"))
    folded: dict[str, str] = {}
    columns: list[ResolvedColumn] = []
    for name, ptype in inferred.items():
        key = dialect.stored_name(name)
        if key in folded:
            problems.append(doc.problem((*where, "source"), f"columns '{folded[key]}' and '{name}' of table "
                                        f"'{spec.name}' are the same name in {dialect.title}; rename one of "
                                        "them in the Parquet files"))
        folded[key] = name
        if (why := dialect.identifier_problem(name)) is not None:
            problems.append(doc.problem((*where, "source"), f"column name {name!r} in "
                                        f"{origin[name].display} {why}; rename the column in the Parquet files"))
        if name in unsupported:
            continue
        override = spec.override(name)
        types = seen.get(name, [])
        if len(types) > 1 and not (override and override.type):
            widest = _widest(spec, name, types)
            if isinstance(widest, str):
                problems.append(doc.problem((*where, "source"), widest))
                continue
            ptype = widest
            listing = ", ".join(f"{t} in {f.display}" for t, f in types)
            notes.append(f"column {name}: {listing}; every file loads as {widest}, the widest (a type override "
                         "chooses another)")
        final = ptype
        if override and override.type:
            for held, file in types or ([(ptype, origin[name])] if ptype is not None else []):
                if not accepts(held, override.type):
                    problems.append(doc.problem((*where, "columns", name, "type"),
                                                f"column '{name}' holds {held} data in {file.display} and "
                                                f"cannot load as {override.type}; convert it in the Parquet files "
                                                f"or override with {_one_of(compatible_types(held))}"))
            final = override.type
        if final is None:
            problems.append(doc.problem((*where, "source"), f"column '{name}' is NULL in every row of "
                                        f"{origin[name].display}, so its type cannot be inferred; add "
                                        f"columns: {{{name}: {{type: ...}}}} to table '{spec.name}'"))
            continue
        not_null = (override is not None and override.nullable is False) or name in spec.primary_key
        # A native type is the real warehouse's; an emulator keeps the portable type and says so.
        native = override.native.get(kind.warehouse) if override and not kind.is_emulator else None
        ignored = override.native.get(kind.emulates) if override and kind.emulates else None
        columns.append(ResolvedColumn(name, final, not not_null, native, ignored, name in spec.primary_key))
    for override in spec.columns:
        if override.name not in inferred:
            problems.append(doc.problem((*where, "columns", override.name), f"column '{override.name}' is not "
                                        f"in the Parquet files of table '{spec.name}'; "
                                        f"{_did_you_mean(override.name, list(inferred))}"
                                        f"columns: {', '.join(inferred)}", key=True))
    return columns, problems, notes


def _widest(spec: TableSpec, name: str, types: list[tuple[PortableType, SourceFile]]) -> PortableType | str:
    """The type every file's values load into without loss, or why there is none (with the fix)."""
    widest, widest_file = types[0]
    for ptype, file in types[1:]:
        wider = widen(widest, ptype)
        if wider is None:
            suggestion = common_override(widest, ptype)
            fix = (f"add columns: {{{name}: {{type: {suggestion}}}}} to table '{spec.name}' to load every file "
                   f"as {suggestion}" if suggestion else "convert the column in one of the files")
            return (f"column '{name}' is {widest} in {widest_file.display} but {ptype} in {file.display}; files of "
                    "a table may differ only in width within one family of types (smallint/integer/bigint and "
                    f"decimals, real/double); {fix}")
        widest = wider
    return widest


def _drift_problems(spec: TableSpec, first: SourceFile, other: SourceFile,
                    inferred: dict[str, PortableType | None], origin: dict[str, SourceFile],
                    seen: dict[str, list[tuple[PortableType, SourceFile]]], manifest: Manifest) -> list[Problem]:
    doc, where = manifest.doc, ("tables", spec.index, "source")
    problems = []
    names = set(other.schema.names)
    for name in inferred:
        if name not in names:
            problems.append(doc.problem(where, f"column '{name}' is in {first.display} but not in "
                                        f"{other.display}; all files of a table need the same columns"))
    for field in other.schema:
        if field.name not in inferred:
            problems.append(doc.problem(where, f"column '{field.name}' is in {other.display} but not in "
                                        f"{first.display}; all files of a table need the same columns"))
            continue
        ptype = field.portable
        if ptype is None:
            continue
        if inferred[field.name] is None:
            inferred[field.name], origin[field.name] = ptype, other
        held = seen.setdefault(field.name, [])
        if all(ptype != known for known, _ in held):
            held.append((ptype, other))
    return problems


def _key_problems(table: ResolvedTable, tables: dict[str, ResolvedTable], manifest: Manifest) -> list[Problem]:
    spec, doc = table.spec, manifest.doc
    where = ("tables", spec.index)
    names = [c.name for c in table.columns]
    problems: list[Problem] = []

    def require(columns: tuple[str, ...] | list[str], path: tuple, what: str, owner: ResolvedTable) -> None:
        available = [c.name for c in owner.columns]
        for i, column in enumerate(columns):
            if column not in available:
                problems.append(doc.problem((*path, i), f"{what} column '{column}' is not a column of table "
                                            f"'{owner.name}'; {_did_you_mean(column, available)}"
                                            f"columns: {', '.join(available)}"))

    require(spec.primary_key, (*where, "primary_key"), "primary key", table)
    require(spec.merge_keys, (*where, "merge_keys"), "merge key", table)
    if "distkey" in spec.redshift and spec.redshift["distkey"] not in names:
        problems.append(doc.problem((*where, "redshift", "distkey"), f"distkey column "
                                    f"'{spec.redshift['distkey']}' is not a column of table '{spec.name}'; "
                                    f"{_did_you_mean(spec.redshift['distkey'], names)}columns: {', '.join(names)}"))
    require(spec.redshift.get("sortkey", ()), (*where, "redshift", "sortkey"), "sortkey", table)
    require(spec.snowflake.get("cluster_by", ()), (*where, "snowflake", "cluster_by"), "cluster_by", table)
    for j, fk in enumerate(spec.foreign_keys):
        fk_path = (*where, "foreign_keys", j)
        require(fk.columns, (*fk_path, "columns"), "foreign key", table)
        parent = tables.get(fk.ref_table)
        if parent is not None:
            require(fk.ref_columns, (*fk_path, "references", "columns"), "referenced", parent)
    return problems
