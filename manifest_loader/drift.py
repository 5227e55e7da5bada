"""Compare an existing table with the manifest's definition, column by column, before loading.

A table may differ from what the manifest now says: a type, a length or precision, NOT NULL,
a column added or gone (an earlier manifest, a hand-made table). Each difference is reported
per column. What the load then does:

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
from dataclasses import dataclass, field

from .errors import LoadFailed
from .render import Renderer
from .resolve import ResolvedColumn, ResolvedManifest, ResolvedTable
from .target import Target
from .warehouses.base import Warehouse

_SIZE = re.compile(r"\((\d+)(?:,\s*(\d+))?\)")


@dataclass
class TableDrift:
    """How an existing table differs from the manifest, and what the load will do about it."""

    table: str
    differences: list[str] = field(default_factory=list)
    relax: list[str] = field(default_factory=list)   # columns to make nullable
    rebuild: bool = False                             # created again with the manifest's definition


def check_existing_tables(warehouse: Warehouse, resolved: ResolvedManifest, target: Target,
                          renderer: Renderer) -> dict[str, TableDrift]:
    """Per table, how it differs from the manifest; raise LoadFailed when the load cannot fix it."""
    dialect = target.dialect
    drifts: dict[str, TableDrift] = {}
    refused: list[str] = []
    tables: list[str] = []
    for table in resolved.tables:
        rendered = renderer.render("describe_table", schema=target.schema, table=table.name)
        rows = warehouse.execute(rendered.sql, {"schema_name": dialect.stored_name(target.schema),
                                                "table_name": dialect.stored_name(table.name)}, rendered.param_names)
        if not rows:
            continue
        drift = _compare(table, target, rows)
        if not drift.differences:
            continue
        if table.spec.mode in ("replace", "truncate"):
            # Every row is replaced anyway: the table takes the manifest's definition in the load.
            drift.rebuild = drift.rebuild or not dialect.alters_nullability
            drifts[table.name] = drift
        elif not drift.rebuild and dialect.alters_nullability:
            drifts[table.name] = drift
        else:
            refused += drift.differences
            tables.append(table.name)
    if refused:
        names = ", ".join(f"'{name}'" for name in tables)
        raise LoadFailed("existing tables differ from the manifest:\n  " + "\n  ".join(refused),
                         hint=f"nothing was loaded; the {'table keeps' if len(tables) == 1 else 'tables keep'} "
                              f"rows of earlier loads, so mode append/merge will not rebuild "
                              f"{'it' if len(tables) == 1 else 'them'}: apply once with mode: replace on table "
                              f"{names} to create it again from these files (rows from files no longer listed "
                              "are dropped), or change the manifest back to the table's definition")
    return drifts


def _compare(table: ResolvedTable, target: Target, rows: list[tuple[object, ...]]) -> TableDrift:
    dialect = target.dialect
    drift = TableDrift(table.name)
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
