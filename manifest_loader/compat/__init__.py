"""The Redshift compatibility layer of the emulator: Redshift functions and STL views on PostgreSQL.

Its SQL lives in templates/postgres/compat_*.sql.j2 (a `--templates-dir` may override them).
`install` runs it in one transaction, under an advisory lock, only when the rendered text
differs from what the database holds (its sha256 is the schema's comment), so `apply` can
call it every time at the cost of one query. `record_failure` writes a failed load to
`redshift_compat.load_failures`, which STL_LOAD_ERRORS shows.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConstraintViolation, LoaderError, LoadFailed

if TYPE_CHECKING:
    from ..plan import Plan
    from ..target import Target
    from ..warehouses.base import Warehouse

PARTS = ("compat_schema", "compat_functions", "compat_views", "compat_database")
VERSION_PREFIX = "manifest-loader Redshift compatibility layer "
# Its own schema, so a DROP SCHEMA of a load never takes the layer with it. Defined here, not in
# translate.py, so apply does not import sqlglot (0.3 s) to install the layer.
COMPAT_SCHEMA = "redshift_compat"
LOCK_KEY = f"manifest-loader:{COMPAT_SCHEMA}"
# err_code in STL_LOAD_ERRORS for failures the emulator records (Redshift's own codes describe
# COPY parse errors, which the emulator never has).
ERR_CHECK, ERR_LOAD, ERR_OTHER = 9001, 9002, 9000


def rendered(templates_dir: Path | None = None) -> list[tuple[str, str]]:
    """(template, SQL text) of each part, in install order."""
    from ..registry import REDSHIFT_EMULATOR
    from ..render import Renderer

    renderer = Renderer(REDSHIFT_EMULATOR.dialect, templates_dir)
    out = []
    for part in PARTS:
        result = renderer.render(part, schema=COMPAT_SCHEMA)
        out.append((result.template, result.sql))
    return out


def script(templates_dir: Path | None = None) -> str:
    """The whole layer as one SQL script (what `emulator init --show-sql` prints)."""
    return "\n\n".join(f"-- {template}\n{sql}" for template, sql in rendered(templates_dir)) + "\n"


def split_statements(sql: str) -> list[str]:
    """Split a script on `;` outside quotes, dollar quotes and comments."""
    statements, start, i, n = [], 0, 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch == "'":
            i = sql.find("'", i + 1)
            while i != -1 and sql.startswith("''", i):
                i = sql.find("'", i + 2)
            i = n if i == -1 else i + 1
        elif ch == "-" and sql.startswith("--", i):
            i = sql.find("\n", i)
            i = n if i == -1 else i + 1
        elif ch == "$" and (tag := re.match(r"\$[A-Za-z_]*\$", sql[i:])):
            end = sql.find(tag.group(0), i + len(tag.group(0)))
            i = n if end == -1 else end + len(tag.group(0))
        elif ch == ";":
            statements.append(sql[start:i].strip())
            start = i = i + 1
        else:
            i += 1
    statements.append(sql[start:].strip())
    return [s for s in statements if s and not all(line.strip().startswith("--") for line in s.splitlines())]


def fingerprint(templates_dir: Path | None = None) -> str:
    """What identifies the layer: its templates' text, the loader's version (whose code renders
    them) and the schema. Every apply asks, so the templates are read, not compiled and rendered
    (0.09 s of a no-change re-apply)."""
    from .. import __version__
    from ..registry import REDSHIFT_EMULATOR
    from ..render import Renderer

    renderer = Renderer(REDSHIFT_EMULATOR.dialect, templates_dir)
    text = "\n".join([__version__, COMPAT_SCHEMA, *(renderer.source(part) for part in PARTS)])
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def installed_version(warehouse: Warehouse) -> str | None:
    rows = warehouse.execute("SELECT obj_description(n.oid, 'pg_namespace') FROM pg_namespace AS n "
                             "WHERE n.nspname = $1", {"schema": COMPAT_SCHEMA}, ("schema",))
    return rows[0][0] if rows else None


def install(warehouse: Warehouse, templates_dir: Path | None = None) -> bool:
    """Install or update the layer on the emulator's connection; False when it was already current.

    Runs in its own transaction and commits it: call it outside a load's transaction.
    """
    version = VERSION_PREFIX + fingerprint(templates_dir)
    try:
        warehouse.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", {"key": LOCK_KEY}, ("key",))
        if installed_version(warehouse) == version:
            warehouse.commit()
            return False
        for _, sql in rendered(templates_dir):
            for statement in split_statements(sql):
                warehouse.execute(statement)
        warehouse.execute(f"COMMENT ON SCHEMA {COMPAT_SCHEMA} IS '{version}'")
        warehouse.commit()
    except BaseException:
        warehouse.rollback()
        raise
    return True


def ensure_installed(warehouse: Warehouse, templates_dir: Path | None = None,
                     warn: Callable[[str], None] | None = None) -> bool:
    """install(), but a failure (no CREATE privilege, …) is reported to `warn` instead of raised."""
    try:
        return install(warehouse, templates_dir)
    except LoaderError as exc:
        if warn is not None:
            warn(f"the Redshift compatibility layer ({COMPAT_SCHEMA}) could not be installed: "
                 f"{str(exc).splitlines()[0]}")
        return False


_TABLE = re.compile(r"^table (?P<table>[^:\s]+):")
_COLUMN = re.compile(r"\bcolumn (?P<column>[^\s,:]+)")


def failure_row(run_id: str, plan: Plan, error: BaseException) -> dict[str, object]:
    """What STL_LOAD_ERRORS shows of a failed load: table, column and file when the message names them."""
    message = str(error)
    table = match.group("table") if (match := _TABLE.search(message)) else None
    column = match.group("column") if (match := _COLUMN.search(message)) and table else None
    filename = None
    for planned in plan.tables:
        if table is not None and planned.name != table:
            continue
        named = [f for f in planned.files if f.source.display in message]
        if named or (table is not None and planned.files):
            filename = (named or list(planned.files))[0].staged_uri
            break
    code = ERR_CHECK if isinstance(error, ConstraintViolation) else ERR_LOAD if isinstance(error, LoadFailed) \
        else ERR_OTHER
    return dict(run_id=run_id, manifest_name=plan.manifest_name, schema_name=plan.schema, table_name=table,
                column_name=column, filename=filename, err_code=code, error=message)


def record_failure(warehouse: Warehouse, run_id: str, plan: Plan, error: BaseException) -> bool:
    """Best effort: a failed load's row in load_failures, committed on its own; False if it could not be."""
    row = failure_row(run_id, plan, error)
    names = list(row)
    placeholders = ", ".join(f"${i}" for i in range(1, len(names) + 1))
    warehouse.rollback()
    try:
        warehouse.execute(f"INSERT INTO {COMPAT_SCHEMA}.load_failures ({', '.join(names)}) VALUES ({placeholders})",
                          row, names)
        warehouse.commit()
    except Exception:
        with contextlib.suppress(Exception):
            warehouse.rollback()
        return False
    return True


def init(target: Target, templates_dir: Path | None = None) -> bool:
    """`emulator init`: install the layer into the target, which must be the Redshift emulator."""
    from ..errors import UsageError
    from ..progress import LogProgress
    from ..target import with_server
    from ..warehouses import connect

    # Without a URL this is the managed emulator, started now (its start line goes to stderr).
    target = with_server(target)
    if not target.kind.compat_layer:
        raise UsageError(f"{target.display_url} is real Redshift, which has these functions and tables itself",
                         hint="emulator init is for the Redshift emulator (a postgresql:// URL)")
    connection = connect(target, LogProgress(), 60.0)
    try:
        return install(connection, templates_dir)
    finally:
        connection.close()
