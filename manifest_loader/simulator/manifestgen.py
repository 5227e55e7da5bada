"""Write a reviewed-quality manifest: from a simulator schema, or from a folder of Parquet tables.

The text is built line by line (not dumped) so it can carry comments where a human decides
("review: ..."), and so the same inputs always give the same bytes. Every scalar that is not a
plain identifier is written as a JSON string, which YAML reads as the same string.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from .schema import SimSchema, SimTable, primary_key

LAYOUTS = ("schema", "prefixed")
# `prefixed`: every experiment's tables in one schema, named <experiment>__<table>, as the
# simulator's own query routing addresses them.
PREFIXED_SCHEMA = "public"
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_()]*\Z")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n"}


def scalar(value: str) -> str:
    """A YAML scalar for `value`: plain when that is unambiguous, else a JSON string."""
    if _PLAIN.match(value) and value.lower() not in _YAML_WORDS:
        return value
    return json.dumps(value, ensure_ascii=False)


def flow_list(values: list[str] | tuple[str, ...]) -> str:
    return "[" + ", ".join(scalar(v) for v in values) + "]"


def table_name(experiment: str, table: str, layout: str) -> str:
    return f"{experiment}__{table}" if layout == "prefixed" else table


def schema_name(experiment: str, layout: str) -> str:
    return PREFIXED_SCHEMA if layout == "prefixed" else experiment


@dataclass(frozen=True)
class ExperimentManifest:
    """What, beyond the schema, decides the manifest's text."""

    name: str                      # the experiment: the load's name
    warehouse: str
    warehouse_reason: str          # said in a comment: where the choice came from
    source_root: str               # each table reads <source_root>/<table>/
    source_reason: str
    layout: str = "schema"
    header: tuple[str, ...] = ()


def _commented(line: str, comment: str | None, width: int = 56) -> str:
    return f"{line.ljust(width)}  # {comment}" if comment else line


def manifest_from_schema(schema: SimSchema, options: ExperimentManifest) -> str:
    """The manifest for an experiment's tables, types from its schema, sources from its run folder."""
    layout, exp = options.layout, options.name
    lines = [*(f"# {h}" for h in options.header),
             "# Lines marked 'review:' are choices a person should confirm before checking this in.",
             "version: 1", f"name: {scalar(exp)}"]
    if schema.description:
        lines.append(f"description: {json.dumps(schema.description, ensure_ascii=False)}")
    lines += ["target:",
              _commented(f"  warehouse: {options.warehouse}", f"review: {options.warehouse_reason}"),
              _commented(f"  schema: {scalar(schema_name(exp, layout))}",
                         "layout 'prefixed': tables named <experiment>__<table>" if layout == "prefixed"
                         else "one warehouse schema per experiment"),
              "tables:"]
    for table in schema.tables:
        lines += _table_lines(table, options)
    return "\n".join(lines) + "\n"


def _table_lines(table: SimTable, options: ExperimentManifest) -> list[str]:
    name = table_name(options.name, table.name, options.layout)
    source = f"{options.source_root.rstrip('/')}/{table.name}/"
    lines = [f"  - name: {scalar(name)}", _commented(f"    source: {scalar(source)}", options.source_reason)]
    key, unchecked = primary_key(table)
    if key:
        why = "the schema's composite key" if table.composite_keys else "is_unique and required in the schema"
        lines.append(_commented(f"    primary_key: {flow_list(key)}", f"review: {why}"))
    columns = []
    for column in table.columns:
        spec = f"type: {scalar(column.portable)}" + ("" if not column.required else ", nullable: false")
        notes = [column.note] if column.note else []
        if column.name in unchecked:
            notes.append("review: is_unique in the schema, but only the primary key is checked")
        columns.append(_commented(f"      {scalar(column.name)}: {{{spec}}}", "; ".join(notes) or None))
    lines += ["    columns:", *columns]
    fks = [c for c in table.columns if c.references is not None]
    if fks:
        lines.append("    foreign_keys:")
        for column in fks:
            ref_table, ref_column = column.references   # type: ignore[misc]
            ref = table_name(options.name, ref_table, options.layout)
            lines.append(f"      - {{columns: [{scalar(column.name)}], references: {{table: {scalar(ref)}, "
                         f"columns: [{scalar(ref_column)}]}}}}")
    return lines


@dataclass(frozen=True)
class FolderTable:
    name: str
    source: str
    columns: tuple[tuple[str, str], ...]     # (column, portable type) inferred from the first file
    files: int
    rows: int


def manifest_from_folder(name: str, warehouse: str, warehouse_reason: str, tables: list[FolderTable],
                         folder_shown: str) -> str:
    """A manifest for Parquet tables found in a folder; types as inferred from their footers."""
    lines = [f"# Written by `manifest-loader init --from-folder {folder_shown}`: one table per folder of Parquet",
             "# files, column types as read from their footers. Lines marked 'review:' are choices a person",
             "# should confirm before checking this in.",
             "version: 1", f"name: {scalar(name)}", "target:",
             _commented(f"  warehouse: {warehouse}", f"review: {warehouse_reason}"),
             "tables:"]
    for table in tables:
        lines += [f"  - name: {scalar(table.name)}",
                  _commented(f"    source: {scalar(table.source)}", f"{table.files} file(s), {table.rows} rows"),
                  "    # primary_key: [...]     review: which columns identify a row? (checked on every load)",
                  "    columns:                 # review: inferred types; narrow them (varchar(n), NOT NULL)"]
        lines += [f"      {scalar(column)}: {{type: {scalar(kind)}}}" for column, kind in table.columns]
    return "\n".join(lines) + "\n"


def folder_tables(folder: Path, relative_to: Path | None) -> list[FolderTable]:
    """Tables of a folder: each subfolder holding *.parquet, and each *.parquet file directly in it."""
    import pyarrow.parquet as pq

    from ..errors import UsageError
    from ..types import TypeProblem, infer_from_arrow

    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder", hint="give the folder that holds one folder per table")
    found: list[tuple[str, Path, list[Path]]] = []
    for entry in sorted(folder.iterdir()):
        if entry.is_dir() and (files := sorted(entry.glob("*.parquet"))):
            found.append((entry.name, entry, files))
        elif entry.is_file() and entry.suffix == ".parquet":
            found.append((entry.stem, entry, [entry]))
    if not found:
        raise UsageError(f"{folder} holds no Parquet tables: no *.parquet files, and no folder of them",
                         hint="give the folder that holds one folder of *.parquet files per table")
    tables = []
    for name, path, files in found:
        try:
            metas = [pq.read_metadata(f) for f in files]
        except Exception as exc:
            raise UsageError(f"{path}: not readable Parquet ({str(exc).splitlines()[0]})") from None
        columns = []
        for field in metas[0].schema.to_arrow_schema():
            try:
                inferred = infer_from_arrow(field.type)
            except TypeProblem as exc:
                raise UsageError(f"{path}: column {field.name}: {exc}") from None
            columns.append((field.name, str(inferred) if inferred else "varchar"))
        shown = path.absolute()
        if relative_to is not None and shown.is_relative_to(relative_to.absolute()):
            source = str(shown.relative_to(relative_to.absolute()))
        else:
            source = str(shown)
        tables.append(FolderTable(re.sub(r"\W", "_", name), source + ("/" if path.is_dir() else ""),
                                  tuple(columns), len(files), sum(m.num_rows for m in metas)))
    return tables
