"""An experiment's schema_json, read into typed tables and columns, and mapped to portable types.

The simulator's column: `name`, `data_type` (INT, VARCHAR, FLOAT, DATE, BOOLEAN, ...), optional
`varchar_length`, `required` (default true, as in its pydantic model), `is_unique`, and
`foreign_key: {references_table, references_column}`; a table may list `composite_keys`, the
schema a `target_warehouse`. Anything we cannot map is refused with what and where.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..errors import UsageError


@dataclass(frozen=True)
class SimColumn:
    name: str
    data_type: str
    portable: str             # our portable type text
    required: bool
    is_unique: bool
    references: tuple[str, str] | None = None   # (table, column)
    note: str | None = None   # where the mapping is a choice a reviewer should see


@dataclass(frozen=True)
class SimTable:
    name: str
    target_rows: int | None
    columns: tuple[SimColumn, ...]
    composite_keys: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class SimSchema:
    name: str
    description: str | None
    target_warehouse: str | None
    tables: tuple[SimTable, ...]


# The simulator's types (its schema docs) -> ours. Parameterised ones are handled in _portable.
_SIMPLE = {
    "INT": "bigint", "INTEGER": "bigint", "BIGINT": "bigint", "SMALLINT": "smallint",
    "FLOAT": "double", "REAL": "double", "DOUBLE": "double", "DOUBLE PRECISION": "double",
    "DATE": "date", "TIME": "time", "TIMESTAMP": "timestamp", "TIMESTAMP WITHOUT TIME ZONE": "timestamp",
    "DATETIME": "timestamp", "TIMESTAMPTZ": "timestamptz", "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "BOOLEAN": "boolean", "BOOL": "boolean", "JSON": "json", "JSONB": "json", "TEXT": "varchar",
    "UUID": "varchar(36)",
}
SIMULATOR_TYPES = (*_SIMPLE, "VARCHAR", "CHARACTER VARYING", "CHAR", "CHARACTER", "DECIMAL", "NUMERIC")
_WHY = {
    "REAL": "the simulator writes floats as 64-bit doubles",
    "UUID": "a UUID's text form is 36 characters",
}


class SchemaProblem(UsageError):
    """The schema JSON cannot become a manifest; the message names the table and column."""


def _portable(column: dict[str, Any], where: str) -> tuple[str, str | None]:
    raw = column.get("data_type")
    if not isinstance(raw, str) or not raw.strip():
        raise SchemaProblem(f"{where}: data_type is missing; give one of {', '.join(SIMULATOR_TYPES)}")
    kind = " ".join(raw.upper().split())
    if kind in _SIMPLE:
        return _SIMPLE[kind], _WHY.get(kind)
    if kind in ("VARCHAR", "CHARACTER VARYING"):
        length = column.get("varchar_length")
        return (f"varchar({int(length)})", None) if length else ("varchar", "no varchar_length: longest strings")
    if kind in ("CHAR", "CHARACTER"):
        length = column.get("char_length") or column.get("varchar_length") or 1
        return f"char({int(length)})", None
    if kind in ("DECIMAL", "NUMERIC"):
        precision, scale = column.get("precision"), column.get("scale")
        if precision is None:
            return "decimal(18,2)", "no precision/scale in the schema: decimal(18,2) assumed"
        return f"decimal({int(precision)},{int(scale or 0)})", None
    raise SchemaProblem(f"{where}: unknown data_type '{raw}'; the simulator's types are "
                        f"{', '.join(SIMULATOR_TYPES)}", hint="fix the schema, or load the files with a manifest "
                        "written by `manifest-loader init --from-folder`")


def parse_schema(text: str, origin: str) -> SimSchema:
    """schema_json text -> SimSchema; exit 2 naming `origin`, the table and the column on a problem."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise SchemaProblem(f"{origin}: not JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("tables"), list) or not data["tables"]:
        raise SchemaProblem(f"{origin}: expected an experiment schema: an object with name and a list of tables")
    if not isinstance(data.get("name"), str) or not data["name"]:
        raise SchemaProblem(f"{origin}: the schema has no name")
    tables = []
    for i, table in enumerate(data["tables"]):
        if not isinstance(table, dict) or not isinstance(table.get("name"), str):
            raise SchemaProblem(f"{origin}: tables[{i}] has no name")
        if not isinstance(table.get("columns"), list) or not table["columns"]:
            raise SchemaProblem(f"{origin}: tables[{i}] ({table['name']}) has no columns")
        columns = []
        for j, column in enumerate(table["columns"]):
            if not isinstance(column, dict) or not isinstance(column.get("name"), str):
                raise SchemaProblem(f"{origin}: tables[{i}] ({table['name']}).columns[{j}] has no name")
            where = f"{origin}: tables[{i}] ({table['name']}).columns[{j}] ({column['name']})"
            portable, note = _portable(column, where)
            fk = column.get("foreign_key")
            references = None
            if isinstance(fk, dict):
                if not fk.get("references_table") or not fk.get("references_column"):
                    raise SchemaProblem(f"{where}: foreign_key needs references_table and references_column")
                references = (str(fk["references_table"]), str(fk["references_column"]))
            columns.append(SimColumn(column["name"], str(column["data_type"]), portable,
                                     bool(column.get("required", True)), bool(column.get("is_unique", False)),
                                     references, note))
        keys = tuple(tuple(k) for k in table.get("composite_keys") or () if k)
        rows = table.get("target_rows")
        tables.append(SimTable(table["name"], rows if isinstance(rows, int) else None, tuple(columns), keys))
    schema = SimSchema(data["name"], data.get("description"), data.get("target_warehouse"), tuple(tables))
    _check_references(schema, origin)
    return schema


def _check_references(schema: SimSchema, origin: str) -> None:
    columns = {t.name: {c.name for c in t.columns} for t in schema.tables}
    for table in schema.tables:
        for column in table.columns:
            if column.references is None:
                continue
            ref_table, ref_column = column.references
            if ref_table not in columns:
                raise SchemaProblem(f"{origin}: {table.name}.{column.name}: foreign_key references unknown table "
                                    f"'{ref_table}'; tables are: {', '.join(columns)}")
            if ref_column not in columns[ref_table]:
                raise SchemaProblem(f"{origin}: {table.name}.{column.name}: foreign_key references unknown column "
                                    f"{ref_table}.{ref_column}")


def primary_key(table: SimTable) -> tuple[tuple[str, ...], list[str]]:
    """The key we declare (a composite key, else the first required unique column) and the unique
    columns left unchecked, which a reviewer should know about."""
    unique = [c for c in table.columns if c.is_unique]
    if table.composite_keys:
        return table.composite_keys[0], [c.name for c in unique]
    keyed = next((c for c in unique if c.required), None)
    if keyed is None:
        return (), [c.name for c in unique]
    return (keyed.name,), [c.name for c in unique if c is not keyed]
