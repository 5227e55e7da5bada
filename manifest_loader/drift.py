"""Spot a table whose columns no longer match its Parquet files, before loading anything."""

from __future__ import annotations

from .errors import LoadFailed
from .render import Renderer
from .resolve import ResolvedManifest
from .target import Target
from .warehouses.base import Warehouse


def check_existing_tables(warehouse: Warehouse, resolved: ResolvedManifest, target: Target,
                          renderer: Renderer) -> None:
    """Raise LoadFailed naming the column, expected and actual type, and a file, on any mismatch."""
    dialect = target.dialect
    problems: list[str] = []
    for table in resolved.tables:
        rendered = renderer.render("describe_table", schema=target.schema, table=table.name)
        rows = warehouse.execute(rendered.sql, {"schema_name": dialect.stored_name(target.schema),
                                                "table_name": dialect.stored_name(table.name)}, rendered.param_names)
        if not rows:
            continue
        existing = {str(name): str(data_type) for name, data_type in rows}
        wanted = {dialect.stored_name(c.name): c for c in table.columns}
        example = table.files[0].display
        for name, column in wanted.items():
            if name not in existing:
                problems.append(f"table {target.schema}.{table.name} has no column {column.name}, which "
                                f"{example} has")
                continue
            actual = existing[name]
            accepted = dialect.catalog_types.get(column.type.name, ())
            if column.native_type is None and not any(actual.startswith(a) for a in accepted):
                problems.append(f"column {target.schema}.{table.name}.{column.name} is {actual} in the warehouse "
                                f"but {column.type} ({column.sql_type(dialect)}) in {example}")
        for name in existing.keys() - wanted.keys():
            problems.append(f"table {target.schema}.{table.name} has column {name}, which {example} lacks")
    if problems:
        raise LoadFailed("existing tables no longer match their Parquet files:\n  " + "\n  ".join(problems),
                         hint="drop or migrate the table (or fix the files); nothing was loaded")
