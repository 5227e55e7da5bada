"""Compare an existing table with the manifest's definition, column by column and key by key.

A table may differ from what the manifest now says: a type, a length or precision, NOT NULL,
a column added or gone, its keys (primary key, merge keys, foreign keys, DISTKEY/SORTKEY, CLUSTER
BY: what the manifest declared when the table was last loaded, recorded by the loader, see
table_keys.py). Each difference is reported per column or key, by `plan` and by `apply`. What the
load then does:

* NOT NULL in the warehouse where the manifest allows NULL, and nothing else: the constraint is
  dropped as part of the load (`ALTER TABLE … DROP NOT NULL`: no value changes), where the
  dialect can alter nullability (not Redshift);
* any other difference, in mode replace or truncate (every row is replaced anyway): the table is
  created again with the manifest's definition as part of the load. Where DDL is transactional
  (the Redshift emulator, Redshift) it is dropped and created inside the transaction; where DDL
  commits on its own (Snowflake) the old table is renamed aside, renamed back if the load fails,
  and dropped after the commit;
* in mode append or merge (the table holds earlier loads) it is refused before loading, naming
  the way out: one apply in mode replace, or the manifest changed back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import LoadFailed
from .loader_tables import KEYS_TABLE
from .render import Renderer
from .resolve import ResolvedColumn, ResolvedManifest, ResolvedTable
from .table_keys import declared_keys, decode, key_differences
from .target import Target
from .warehouses.base import Warehouse

_SIZE = re.compile(r"\((\d+)(?:,\s*(\d+))?\)")


@dataclass
class TableDrift:
    """How an existing table differs from the manifest, and what the load will do about it."""

    table: str
    mode: str = "replace"
    differences: list[str] = field(default_factory=list)
    relax: list[str] = field(default_factory=list)   # columns to make nullable
    rebuild: bool = False                             # created again with the manifest's definition
    refused: bool = False                             # append/merge: apply loads nothing (way_out)

    def does(self, transactional_ddl: bool) -> str:
        """What apply does about it, in the words `plan` and `apply` print."""
        if self.refused:
            return "apply refuses to load (nothing is loaded): " + way_out([self])
        if not self.rebuild:
            return f"apply makes {', '.join(self.relax)} nullable in the load (no value changes)"
        if transactional_ddl:
            return ("apply drops it and creates it again with the manifest's definition inside the load's "
                    "transaction (every row is replaced anyway)")
        return ("apply sets it aside, creates it with the manifest's definition, and drops the old one once the "
                "load committed (renamed back if the load fails)")

    def to_dict(self, transactional_ddl: bool) -> dict[str, Any]:
        action = "refuse" if self.refused else "rebuild" if self.rebuild else "relax"
        return {"differences": list(self.differences), "action": action,
                **({"relax": list(self.relax)} if action == "relax" else {}),
                "apply": self.does(transactional_ddl)}

    @classmethod
    def from_dict(cls, table: str, mode: str, saved: Mapping[str, Any]) -> TableDrift:
        """The drift a saved plan (`plan --out`) was made with."""
        return cls(table, mode, [str(d) for d in saved.get("differences", ())],
                   [str(c) for c in saved.get("relax", ())], saved.get("action") == "rebuild",
                   saved.get("action") == "refuse")


def way_out(refused: list[TableDrift]) -> str:
    """The way out of a refused append/merge table: one replace load, or the manifest changed back."""
    names = ", ".join(f"'{d.table}'" for d in refused)
    one = len(refused) == 1
    merge = " (without merge_keys, which only apply in mode merge)" if any(d.mode == "merge" for d in refused) \
        else ""
    return (f"the {'table keeps' if one else 'tables keep'} rows of earlier loads, so mode append/merge will not "
            f"rebuild {'it' if one else 'them'}: apply once with mode: replace{merge} on table {names} to create "
            f"{'it' if one else 'them'} again from these files (rows from files no longer listed are dropped), "
            "then set the mode back; or change the manifest back to the table's definition")


def compare_existing_tables(warehouse: Warehouse, resolved: ResolvedManifest, target: Target,
                            renderer: Renderer) -> dict[str, TableDrift]:
    """Per existing table that differs from the manifest, how, and what apply does (refused ones included).

    Reads only: `plan` calls it too.
    """
    dialect = target.dialect
    recorded = _recorded_keys(warehouse, target, renderer)
    drifts: dict[str, TableDrift] = {}
    for table in resolved.tables:
        rendered = renderer.render("describe_table", schema=target.schema, table=table.name)
        rows = warehouse.execute(rendered.sql, {"schema_name": dialect.stored_name(target.schema),
                                                "table_name": dialect.stored_name(table.name)}, rendered.param_names)
        if not rows:
            continue
        drift = _compare(table, target, rows)
        if table.name in recorded:
            where = f"{target.schema}.{table.name}"
            keys = key_differences(recorded[table.name], declared_keys(table.spec, target.warehouse))
            drift.differences += [f"table {where}: {difference}" for difference in keys]
            drift.rebuild = drift.rebuild or bool(keys)
        if not drift.differences:
            continue
        if table.spec.mode in ("replace", "truncate"):
            # Every row is replaced anyway: the table takes the manifest's definition in the load.
            drift.rebuild = drift.rebuild or not dialect.alters_nullability
        elif drift.rebuild or not dialect.alters_nullability:
            drift.refused = True
        drifts[table.name] = drift
    return drifts


def check_existing_tables(warehouse: Warehouse, resolved: ResolvedManifest, target: Target,
                          renderer: Renderer) -> dict[str, TableDrift]:
    """Per table, how it differs from the manifest; raise LoadFailed when the load cannot fix it."""
    drifts = compare_existing_tables(warehouse, resolved, target, renderer)
    refused = [d for d in drifts.values() if d.refused]
    if refused:
        raise LoadFailed("existing tables differ from the manifest:\n  "
                         + "\n  ".join(line for d in refused for line in d.differences),
                         hint="nothing was loaded; " + way_out(refused))
    return drifts


def _recorded_keys(warehouse: Warehouse, target: Target, renderer: Renderer) -> dict[str, dict[str, list[str]]]:
    """The keys recorded per table by earlier loads; a table loaded before they were recorded has none."""
    dialect = target.dialect
    if not warehouse.relation_exists(dialect.stored_name(target.schema), dialect.stored_name(KEYS_TABLE)):
        return {}
    sql = renderer.render("keys_select", schema=target.schema, table=KEYS_TABLE).sql
    return {str(name): decode(keys) for name, keys in warehouse.execute(sql)}


def _compare(table: ResolvedTable, target: Target, rows: list[tuple[object, ...]]) -> TableDrift:
    dialect = target.dialect
    drift = TableDrift(table.name, table.spec.mode)
    existing = {str(row[0]): row for row in rows}
    wanted = {dialect.stored_name(c.name): c for c in table.columns}
    where = f"{target.schema}.{table.name}"
    example = table.files[0].display
    for name, column in wanted.items():
        if name not in existing:
            drift.differences.append(f"table {where} has no column {column.name}, which {example} has")
            drift.rebuild = True
            continue
        problem = _column_problem(column, existing[name], target)
        if problem:
            drift.differences.append(f"column {where}.{column.name}: {problem}")
            drift.rebuild = True
        nullable = str(existing[name][2]).upper() in ("YES", "Y", "TRUE") if len(existing[name]) > 2 else None
        if nullable is False and column.nullable:
            drift.differences.append(f"column {where}.{column.name}: NOT NULL in the warehouse, nullable in the "
                                     "manifest")
            drift.relax.append(column.name)
        elif nullable is True and not column.nullable:
            drift.differences.append(f"column {where}.{column.name}: nullable in the warehouse, NOT NULL in the "
                                     "manifest")
            drift.rebuild = True
    for name in existing.keys() - wanted.keys():
        drift.differences.append(f"table {where} has column {name}, which {example} lacks")
        drift.rebuild = True
    return drift


def _column_problem(column: ResolvedColumn, row: tuple[object, ...], target: Target) -> str | None:
    """Type, length or precision difference of one column, or None."""
    dialect = target.dialect
    actual = str(row[1])
    expected = column.sql_type(dialect)
    if column.native_type is not None:
        return None
    accepted = dialect.catalog_types.get(column.type.name, ())
    if not any(actual.startswith(a) for a in accepted):
        return f"{actual} in the warehouse, {column.type} ({expected}) in the manifest"
    size = _SIZE.search(expected)
    if size is None or len(row) < 6:
        return None
    length, precision, scale = row[3], row[4], row[5]
    if column.type.name in ("varchar", "char") and length is not None and int(str(length)) != int(size.group(1)):
        return f"{actual}({length}) in the warehouse, {expected} in the manifest"
    if size.group(2) is not None and precision is not None and scale is not None \
            and (int(str(precision)), int(str(scale))) != (int(size.group(1)), int(size.group(2))):
        return f"{actual}({precision},{scale}) in the warehouse, {expected} in the manifest"
    return None
