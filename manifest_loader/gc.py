"""`stage gc`: find (and with --delete remove) staged objects that no ledger row references."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from .manifest import load_manifest
from .plan import LEDGER_TABLE, _table_key
from .progress import Progress
from .render import Renderer
from .stage import list_stage, remove_staged
from .target import resolve_target
from .warehouses import connect


def stage_garbage(manifest_path: str | Path, warehouse: str | None = None, *, delete: bool = False,
                  env: Mapping[str, str] | None = None) -> tuple[list[str], int]:
    """Unreferenced objects under <stage>/<manifest>/; removed only when `delete` is true."""
    manifest = load_manifest(manifest_path, env)
    target = resolve_target(manifest, warehouse, env)
    objects = list_stage(f"{target.stage}/{_table_key(manifest.name)}")
    connection = connect(target, Progress(), 60.0)
    try:
        dialect = target.dialect
        referenced: set[str] = set()
        if connection.relation_exists(dialect.stored_name(target.schema), dialect.stored_name(LEDGER_TABLE)):
            sql = Renderer(dialect).render("ledger_keys", schema=target.schema, table=LEDGER_TABLE).sql
            referenced = {str(row[0]) for row in connection.execute(sql)}
    finally:
        connection.rollback()
        connection.close()
    garbage = [uri for uri in objects if uri not in referenced]
    removed = remove_staged(garbage) if delete else 0
    return garbage, removed
