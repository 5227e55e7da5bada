"""A plan: the ordered, rendered SQL steps of one load, with their transaction boundaries.

`build_plan` is pure: it reads nothing but its arguments and writes nothing, so `plan`
prints exactly what `apply` will run. Dialect differences live in the templates and the
dialect classes; this module only decides which operations a load needs, in which order.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from .file_shape import file_shape_notes
from .fileuri import SCHEME, file_path, is_file_uri
from .loader_tables import CHANGED_TABLE, KEYS_TABLE, LEDGER_TABLE, MARK_FUNCTION, STAGING_SUFFIX
from .registry import URL_ENV
from .render import Renderer
from .resolve import ResolvedColumn, ResolvedManifest, ResolvedTable
from .secret_tokens import display_sql
from .sources import SourceFile
from .table_keys import declared_keys, encode
from .target import Target

if TYPE_CHECKING:
    from .drift import TableDrift


def not_null_hint(files: str, column: str, primary_key: bool = False) -> str:
    """The way out of a NULL in a NOT NULL column. Not `checks: {not_null: false}`: the column is
    NOT NULL in the table itself, so the warehouse refuses the row whatever the loader checks; and
    not `nullable: true` for a primary key column, which stays NOT NULL whatever it says."""
    if primary_key:
        return (f"fix the data in {files}, or take {column} out of the table's primary_key (a primary key "
                "column is always NOT NULL, whatever nullable: says)")
    return f"fix the data in {files}, or let the column hold NULL: columns: {{{column}: {{nullable: true}}}}"


def widen_hint(files: str, column: str, longest: int | None) -> str:
    """The way out of a string longer than its VARCHAR(n): a type that holds it. Not `checks:
    {varchar_length: false}`: the warehouse's own VARCHAR(n) then refuses the row (PostgreSQL, Redshift
    and Snowflake do), so only the Snowflake emulator, whose DuckDB ignores lengths, would load it."""
    wide = f"varchar({longest})" if longest else "a longer varchar(n)"
    return (f"fix the data in {files}, or declare the column as wide as its values: "
            f"columns: {{{column}: {{type: {wide}}}}}")


def not_null_check(table: str, column: ResolvedColumn) -> Check:
    """The NOT NULL check of a column; its detail says when the column is in the primary key (for the hint)."""
    return Check("not_null", table, (column.name,), PRIMARY_KEY if column.primary_key else "")


# The way out of a repeated merge key on every target (no check setting turns that check off).
MERGE_ONCE = ("a merge takes each key once per apply, so remove the repeated rows, or load the files that "
              "repeat a key in separate applies (each apply merges over the one before)")
# A streamed key check keeps one bit per possible key value between the footers' min and max:
# at most 16 MiB. A wider range (sparse keys) is checked by a query after the copy instead.
MAX_KEY_BITMAP_BITS = 1 << 27
PRIMARY_KEY = "primary key"   # Check.detail of a NOT NULL check on a primary key column
_INTEGER_TYPES = ("smallint", "integer", "bigint")
_KEY_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass(frozen=True)
class StagedFile:
    source: SourceFile
    staged_uri: str   # where the stage keeps it (content-addressed)
    load_uri: str     # what the warehouse or the loader reads: the staged object or its local mirror

    @property
    def name(self) -> str:
        return self.staged_uri.rsplit("/", 1)[1]


@dataclass(frozen=True)
class Check:
    kind: str                  # not_null | primary_key | merge_keys | foreign_key | varchar_length
    table: str
    columns: tuple[str, ...]
    detail: str = ""           # e.g. the referenced table, or the declared length
    key_range: tuple[int, int] | None = None   # a streamed key check: the key's min and max by the footers


@dataclass(frozen=True)
class Step:
    number: int
    action: str                # sql | copy | check | ledger
    table: str | None
    template: str
    sql: str
    transactional: bool
    param_names: tuple[str, ...] = ()
    params: tuple[Mapping[str, Any], ...] = ()   # rows of values; the executor adds run_id
    notes: tuple[str, ...] = ()
    files: tuple[StagedFile, ...] = ()
    check: Check | None = None
    into: str | None = None    # for copy: the table rows go into (the staging table for merge)
    copy_columns: tuple[ResolvedColumn, ...] = ()   # for copy: columns in file order, with types
    # for copy: checks the loader makes on each batch while it streams the rows (the emulator)
    stream_checks: tuple[Check, ...] = ()
    # DDL that commits on its own: the statement that takes it back when the load fails, and when
    # ("created": only if this apply created the table; "always"). Run in reverse order.
    undo_sql: str = ""
    undo_when: str = ""
    undo_table: str = ""         # the table whose existence before the step "created" asks about
    after_commit: bool = False   # runs once the transaction committed (drops what the load replaced)


@dataclass(frozen=True)
class TablePlan:
    name: str
    mode: str
    files: tuple[StagedFile, ...]
    rows: int
    bytes: int


@dataclass(frozen=True)
class Plan:
    manifest_name: str
    manifest_file: str
    manifest_sha256: str
    warehouse: str
    dialect: str
    dialect_title: str
    url: str                   # masked
    url_source: str
    schema: str
    stage: str
    tables: tuple[TablePlan, ...]
    steps: tuple[Step, ...]
    notes: tuple[str, ...]
    fingerprint: str = field(default="")
    # What the target's ledger holds (content hashes per append/merge table), when `plan` read it:
    # shown beside the files, never part of the fingerprint (the files decide what apply loads).
    ledger_held: Mapping[str, frozenset[str]] | None = None
    ledger_note: str | None = None   # why the ledger was not read, when reading it failed
    # The ledger this plan was made against (`plan --out`, `apply`): per table, the content hashes
    # it held. None when planned without reading the ledger (`plan` prints every file).
    ledger: Mapping[str, tuple[str, ...]] | None = None
    # Existing tables that differ from the manifest, per table: the differences and what apply does
    # (TableDrift.to_dict); part of the fingerprint, as the steps that rebuild a table are.
    drift: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def loads(self, table: str) -> tuple[str, ...]:
        """The content hashes the plan's COPY steps load into the table."""
        return tuple(f.source.content_hash for s in self.steps if s.action == "copy" and s.table == table
                     for f in s.files)

    @property
    def transaction_steps(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.transactional)


def table_key(name: str) -> str:
    safe = _KEY_SAFE.sub("_", name)
    return safe if safe == name else f"{safe}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def staged_files(table: ResolvedTable, target: Target, manifest_name: str) -> tuple[StagedFile, ...]:
    """Where each source file is staged and read from: <stage>/<manifest>/<table>/<digest>.parquet."""
    folder = f"{target.stage}/{table_key(manifest_name)}/{table_key(table.name)}"
    out = []
    for source in table.files:
        staged = f"{folder}/{source.digest}.parquet"
        load = staged
        if target.kind.local_mirror and not is_file_uri(staged):
            # The emulator cannot read s3:// here, so it loads a local mirror of the staged object.
            relative = staged.split("://", 1)[1]
            load = (target.state / "mirror" / relative).as_uri()
        out.append(StagedFile(source, staged, load))
    return tuple(out)


def copy_manifest_uri(files: tuple[StagedFile, ...]) -> str:
    """Key of the Redshift COPY manifest listing exactly these staged objects (content-addressed)."""
    if not files:
        return ""
    folder = files[0].staged_uri.rsplit("/", 1)[0]
    digest = hashlib.sha256("\n".join(f.staged_uri for f in files).encode()).hexdigest()
    return f"{folder}/manifest-{digest[:16]}.json"


def copy_manifest_body(files: tuple[StagedFile, ...]) -> bytes:
    """Redshift COPY manifest; Parquet entries must carry content_length."""
    entries = [{"url": f.staged_uri, "mandatory": True, "meta": {"content_length": f.source.size}}
               for f in files]
    return json.dumps({"entries": entries}, indent=2).encode()


class _Builder:
    def __init__(self, resolved: ResolvedManifest, target: Target, renderer: Renderer,
                 loaded: Mapping[str, set[str]] | None, drifts: Mapping[str, TableDrift] | None = None):
        self.resolved, self.target, self.renderer = resolved, target, renderer
        self.loaded = loaded or {}
        # A refused table (append/merge) changes no step: apply stops before running any.
        self.drifts = {name: d for name, d in (drifts or {}).items() if not d.refused}
        self.after: list[dict[str, Any]] = []
        self.dialect = target.dialect
        self.kind = target.kind
        self.ddl: list[dict[str, Any]] = []
        self.dml: list[dict[str, Any]] = []
        self.schema = target.schema

    def add(self, phase: str, op: str, *, action: str = "sql", table: str | None = None,
            params: tuple[Mapping[str, Any], ...] = (), notes: tuple[str, ...] = (),
            files: tuple[StagedFile, ...] = (), check: Check | None = None, into: str | None = None,
            copy_columns: tuple[ResolvedColumn, ...] = (), stream_checks: tuple[Check, ...] = (),
            undo: tuple[str, str, dict[str, Any]] | None = None, **context: Any) -> None:
        # `relation` is the table a statement works on, as name parts for the `qualified` helper:
        # temporary staging tables live in no schema.
        relation = [self.schema, table or ""]
        if into and into.endswith(STAGING_SUFFIX):
            relation = self.staging_relation(into)
        if "staging" in context:
            context["staging_relation"] = self.staging_relation(context["staging"])
        rendered = self.renderer.render(op, schema=self.schema, table=table, relation=relation, **context)
        # Non-transactional DDL dialects (Snowflake) run DDL before the DML transaction.
        target = self.ddl if phase == "ddl" and not self.dialect.transactional_ddl else self.dml
        target = self.after if phase == "after" else target
        undo_sql, undo_when, undo_table = "", "", ""
        if undo is not None and target is self.ddl:
            # DDL commits on its own here: what the load must take back if it fails.
            undo_op, undo_when, undo_context = undo
            undo_table = str(undo_context.get("table", ""))
            undo_sql = self.renderer.render(undo_op, schema=self.schema, **undo_context).sql
            when = "if this apply created it" if undo_when == "created" else "always"
            notes = (*notes, f"if the load fails: {' '.join(undo_sql.split())} ({when})")
        target.append(dict(action=action, table=table, template=rendered.template, sql=rendered.sql,
                           param_names=rendered.param_names, params=params, notes=notes, files=files,
                           check=check, into=into, copy_columns=copy_columns, stream_checks=stream_checks,
                           transactional=target is self.dml, undo_sql=undo_sql, undo_when=undo_when,
                           undo_table=undo_table, after_commit=target is self.after))

    def staging_relation(self, name: str) -> list[str]:
        """PostgreSQL keeps temporary tables in their own schema; Snowflake in the current one."""
        return [self.schema, name] if self.dialect.temp_tables_in_schema else [name]

    def note(self, key: str) -> tuple[str, ...]:
        return self.kind.note(key)

    def build(self) -> list[Step]:
        if self.dialect.supports_advisory_lock:
            self.add("dml", "lock", action="lock", params=({"lock_key": f"manifest-loader:{self.schema}"},))
        self.add("ddl", "create_schema")
        self.add("ddl", "create_ledger", table=LEDGER_TABLE,
                 undo=("drop_table", "created", {"table": LEDGER_TABLE}))
        self.add("ddl", "create_keys", table=KEYS_TABLE, undo=("drop_table", "created", {"table": KEYS_TABLE}))
        if self.kind.marks_outside_changes:
            self.add("ddl", "create_changed", table=CHANGED_TABLE)
            self.add("ddl", "create_change_marker", table=CHANGED_TABLE, function=MARK_FUNCTION)
        for table in self.resolved.tables:
            drift = self.drifts.get(table.name)
            if drift and drift.rebuild and not self.dialect.transactional_ddl:
                self._set_aside(table)
            self.add("ddl", "create_table", table=table.name, notes=self._table_notes(table),
                     undo=("drop_table", "created", {"table": table.name}), **self._table_context(table))
            self._sortkey_index(table)
            self._mark_changes(table)
            if drift and not drift.rebuild:
                for column in drift.relax:
                    self.add("ddl", "drop_not_null", table=table.name, column=column,
                             notes=(f"the table has column {column} NOT NULL; the manifest allows NULL",))
        for table in self.resolved.tables:
            self._load(table)
        steps = [Step(number=i, **s) for i, s in enumerate(self.ddl + self.dml + self.after, start=1)]
        return steps

    def _mark_changes(self, table: ResolvedTable) -> None:
        """The trigger that marks the table changed (registry `marks_outside_changes`).

        Made for every table before any is written: CREATE TRIGGER takes SHARE ROW EXCLUSIVE, so
        from here to the commit no one else writes the table, and a write someone committed before
        is seen by every statement of the load (each reads what committed before it started). That
        is what lets a replace load clear every mark of its table (_clear_marks).
        """
        if self.kind.marks_outside_changes:
            self.add("ddl", "mark_changes", table=table.name, trigger=CHANGED_TABLE, function=MARK_FUNCTION,
                     notes=self.note("changes"))

    def _clear_marks(self, table: ResolvedTable) -> None:
        """The marks the load's own statements made (its trigger fires for them too), and more for replace.

        A replace or truncate load leaves exactly its files' rows in the table: whatever anyone
        wrote before it is gone, and no one writes it until it commits (the trigger's lock, taken
        before the load's first write: _mark_changes), so every mark of the table goes. An append
        or merge load adds to rows it did not check here: a mark from another transaction means a
        write that the apply's row count may not have seen (it committed after the count, before
        the lock), so only this transaction's own mark goes and the others keep the table counted
        on the next apply, as every table was before the marks. (Locking before clearing would not
        do: the write may have committed before the lock.)
        """
        if self.kind.marks_outside_changes:
            self.add("dml", "changed_clear", table=CHANGED_TABLE,
                     params=({"table_name": self.dialect.stored_name(table.name)},),
                     own_only=table.spec.mode in ("append", "merge"))

    def _sortkey_index(self, table: ResolvedTable) -> None:
        sortkey = table.spec.redshift.get("sortkey") or []
        if sortkey and self.kind.sortkey_as_index:
            self.add("ddl", "create_sortkey_index", table=table.name, index=_index_name(table.name, sortkey),
                     columns=list(sortkey), notes=self.note("sortkey"))

    def _set_aside(self, table: ResolvedTable) -> None:
        """Snowflake commits DDL: the old table is renamed away (and renamed back if the load fails),
        the manifest's is created, and the old one is dropped only after the load committed."""
        previous = f"{table.name}_previous{STAGING_SUFFIX}"
        differences = "; ".join(self.drifts[table.name].differences)
        self.add("ddl", "rename_table", table=table.name, new_name=previous,
                 notes=(f"the table differs from the manifest ({differences}); it is set aside and created "
                        "again with the manifest's definition",),
                 undo=("rename_table", "always", {"table": previous, "new_name": table.name}))
        self.add("after", "drop_table", table=previous)

    def _table_context(self, table: ResolvedTable) -> dict[str, Any]:
        spec = table.spec
        return dict(
            columns=[dict(name=c.name, type=c.sql_type(self.dialect), nullable=c.nullable)
                     for c in table.columns],
            primary_key=list(spec.primary_key),
            foreign_keys=[dict(columns=list(fk.columns), table=fk.ref_table, ref_columns=list(fk.ref_columns))
                          for fk in spec.foreign_keys],
            redshift={"diststyle": None, "distkey": None, "sortkey": [], "sortkey_style": "compound",
                      **spec.redshift},
            snowflake={"cluster_by": [], **spec.snowflake},
        )

    def _table_notes(self, table: ResolvedTable) -> tuple[str, ...]:
        notes: list[str] = []
        if self.kind.ignores_physical and table.spec.physical_design(self.kind.warehouse):
            notes += self.note("physical")
        emulates = self.kind.emulates
        if emulates and (table.spec.primary_key or table.spec.foreign_keys):
            notes.append(f"keys are informational on {emulates.capitalize()} and not declared "
                         "in the emulator; the loader checks them before commit")
        for column in table.columns:
            if column.emulated_native and emulates:
                notes.append(f"column {column.name}: native type {column.emulated_native} is for real "
                             f"{emulates.capitalize()}; the emulator uses "
                             f"{column.sql_type(self.dialect)}")
        for kind in ("json", "binary"):
            if any(c.type.name == kind for c in table.columns):
                notes += self.note(kind)
        loaded = {c.name for c in table.columns}
        if table.files and any(c.holds_map for c in table.files[0].schema if c.name in loaded):
            notes += self.note("map")
        notes += table.notes
        notes += file_shape_notes(self.dialect, [f.size for f in table.files])
        return tuple(notes)

    def _load(self, table: ResolvedTable) -> None:
        spec, name = table.spec, table.name
        files = staged_files(table, self.target, self.resolved.manifest.name)
        if spec.mode in ("append", "merge"):
            # Exactly once per file: what the ledger already holds is not loaded again.
            files = tuple(f for f in files if f.source.content_hash not in self.loaded.get(name, set()))
            if not files:
                return
        ledger_rows = tuple(dict(table_name=name, staged_key=f.staged_uri, content_hash=f.source.content_hash,
                                 size_bytes=f.source.size, row_count=f.source.rows) for f in files)
        drift = self.drifts.get(name)
        if drift and drift.rebuild and self.dialect.transactional_ddl:
            notes = (f"the table differs from the manifest ({'; '.join(drift.differences)}); it is created "
                     "again with the manifest's definition inside the transaction",)
            self.add("ddl", "drop_table", table=name, notes=notes)
            self.add("ddl", "create_table", table=name, **self._table_context(table))
            self._sortkey_index(table)
            self._mark_changes(table)
        if spec.mode in ("replace", "truncate"):
            self.add("dml", "delete_all" if spec.mode == "replace" else "truncate", table=name,
                     notes=self.note("truncate") if spec.mode == "truncate" else ())
            self.add("dml", "ledger_delete", action="sql", table=LEDGER_TABLE, params=({"table_name": name},))
        into = name
        if spec.mode == "merge":
            into = name + STAGING_SUFFIX
            self.add("ddl", "create_staging", table=name, staging=into, notes=self.note("staging"),
                     undo=("drop_table", "created", {"table": into}),
                     **self._table_context(table))
        copy_notes = [f"{len(files)} file(s), {table.rows} rows by the Parquet footers; the loaded count "
                      "must match"]
        if spec.mode in ("append", "merge"):
            copy_notes.append("files already in the ledger are skipped (--force loads them again)")
        streamed = self._stream_checks(table, files)
        if streamed:
            copy_notes.append("checked on every batch while streaming, instead of a query after the copy: "
                              + "; ".join(_describe_check(c) for c in streamed))
        self.add("dml", "copy", action="copy", table=name, files=files, into=into, copy_columns=table.columns,
                 notes=(*self.note("copy"), *copy_notes), stream_checks=streamed,
                 **self._copy_context(table, files, into))
        if spec.mode == "merge":
            keys = spec.merge_keys
            if not any(c.kind == "merge_keys" for c in streamed):
                self.add("dml", "check_unique", action="check", table=name, into=into, key=list(keys),
                         check=Check("merge_keys", name, keys))
            self.add("dml", "merge_delete", table=name, staging=into, keys=list(keys))
            self.add("dml", "merge_insert", table=name, staging=into,
                     column_names=[c.name for c in table.columns])
            if self.dialect.transactional_ddl:
                self.add("dml", "drop_staging", table=name, staging=into)
            else:
                # A DROP would commit the open transaction; empty it instead (the session drops it).
                self.add("dml", "clear_staging", table=name, staging=into)
        self._checks(table, streamed)
        if self.kind.analyzes_after_load:
            self.add("dml", "analyze", table=name, notes=self.note("analyze"))
        if spec.mode in ("append", "merge"):
            self.add("dml", "ledger_forget", action="ledger", table=LEDGER_TABLE,
                     params=tuple(dict(table_name=name, content_hash=r["content_hash"]) for r in ledger_rows))
        self.add("dml", "ledger_insert", action="ledger", table=LEDGER_TABLE, params=ledger_rows)
        # The keys this load declared, for the next load to compare (drift.py).
        self.add("dml", "keys_delete", table=KEYS_TABLE, params=({"table_name": name},))
        self.add("dml", "keys_insert", table=KEYS_TABLE, params=(
            {"table_name": name, "declared_keys": encode(declared_keys(spec, self.target.warehouse))},))
        self._clear_marks(table)

    def _copy_context(self, table: ResolvedTable, files: tuple[StagedFile, ...], into: str) -> dict[str, Any]:
        folder = files[0].load_uri.rsplit("/", 1)[0] + "/" if files else ""
        if is_file_uri(folder):
            # The emulator hands this to DuckDB, which reads `%20` literally: the decoded path.
            folder = SCHEME + str(file_path(folder)) + "/"
        return dict(column_names=[c.name for c in table.columns], folder=folder,
                    file_names=[f.name for f in files], iam_role=self.resolved.manifest.iam_role,
                    storage_integration=self.resolved.manifest.storage_integration,
                    manifest_key=copy_manifest_uri(files), session_token=self.target.aws_session_token,
                    serialize_to_json=any(c.type.name == "json" for c in table.columns))

    def _column_checks(self, table: ResolvedTable) -> list[Check]:
        """NOT NULL and VARCHAR(n) byte-length checks: they look at one value at a time."""
        name, checks, found = table.name, table.spec.checks, []
        if checks.not_null:
            found += [not_null_check(name, c) for c in table.columns if not c.nullable]
        if checks.varchar_length:
            found += [Check("varchar_length", name, (c.name,), str(c.type.length)) for c in table.columns
                      if c.type.name in ("varchar", "char") and c.type.length]
        return found

    def _stream_checks(self, table: ResolvedTable, files: tuple[StagedFile, ...]) -> tuple[Check, ...]:
        # Where the rows pass through the loader (the emulator's COPY FROM STDIN), a per-value check
        # costs a vectorised pass over each batch instead of a full scan of the table per column.
        streamed = [c for c in self._column_checks(table) if c.kind in self.kind.streamed_checks]
        key_check = self._streamed_key_check(table, files)
        return (*streamed, key_check) if key_check else tuple(streamed)

    def _streamed_key_check(self, table: ResolvedTable, files: tuple[StagedFile, ...]) -> Check | None:
        """The key check made while streaming, when every row the check must see passes the loader.

        That is the merge keys (the staging table starts empty) and the primary key of a replace or
        truncate table (emptied in the same transaction); an append keeps the table's rows, so its
        check stays a query. The key must be one integer column whose range the footers bound
        narrowly enough for a bitmap (MAX_KEY_BITMAP_BITS): the dense surrogate keys of generated data.
        """
        spec = table.spec
        if "unique" not in self.kind.streamed_checks or not files:
            return None
        if spec.mode == "merge":
            kind, key = "merge_keys", spec.merge_keys
        elif spec.mode in ("replace", "truncate") and spec.checks.primary_key:
            kind, key = "primary_key", spec.primary_key
        else:
            return None
        if len(key) != 1 or table.column(key[0]).type.name not in _INTEGER_TYPES:
            return None
        ranges = [f.source.int_ranges.get(key[0]) for f in files]
        if None in ranges:
            return None
        low, high = min(r[0] for r in ranges), max(r[1] for r in ranges)   # type: ignore[index]
        if high - low + 1 > MAX_KEY_BITMAP_BITS:
            return None
        return Check(kind, table.name, tuple(key), key_range=(low, high))

    def _checks(self, table: ResolvedTable, streamed: tuple[Check, ...]) -> None:
        spec, name, checks = table.spec, table.name, table.spec.checks
        for check in self._column_checks(table):
            if check.kind in self.kind.streamed_checks:
                continue
            column = check.columns[0]
            if check.kind == "not_null":
                self.add("dml", "check_not_null", action="check", table=name, column=column, check=check)
            else:
                self.add("dml", "check_varchar_length", action="check", table=name, column=column,
                         length=int(check.detail), notes=self.note("varchar"), check=check)
        if checks.primary_key and spec.primary_key and not any(c.kind == "primary_key" for c in streamed):
            self.add("dml", "check_unique", action="check", table=name, key=list(spec.primary_key),
                     check=Check("primary_key", name, spec.primary_key))
        if checks.foreign_keys:
            for fk in spec.foreign_keys:
                self.add("dml", "check_foreign_key", action="check", table=name, columns=list(fk.columns),
                         parent=fk.ref_table, parent_columns=list(fk.ref_columns),
                         check=Check("foreign_key", name, fk.columns,
                                     f"{fk.ref_table}({', '.join(fk.ref_columns)})"))


def _index_name(table: str, columns: list[str] | tuple[str, ...]) -> str:
    """`<table>__sortkey`, the columns' digest in it so a changed SORTKEY gets a new index; PostgreSQL
    would cut a name longer than 63 bytes, so a long table name is shortened and its digest kept."""
    digest = hashlib.sha256("\0".join((table, *columns)).encode()).hexdigest()[:8]
    name = f"{table}__sortkey_{digest}"
    return name if len(name.encode()) <= 63 else f"{table.encode()[:36].decode(errors='ignore')}__sortkey_{digest}"


def _describe_check(check: Check) -> str:
    column = check.columns[0]
    if check.key_range is not None:
        low, high = check.key_range
        what = "primary key" if check.kind == "primary_key" else "merge key"
        return f"{what} {column} unique (values {low}..{high} by the footers, one bit each)"
    return f"{column} NOT NULL" if check.kind == "not_null" else f"{column} at most {check.detail} bytes"


def build_plan(resolved: ResolvedManifest, target: Target, renderer: Renderer,
               loaded: Mapping[str, set[str]] | None = None, drifts: Mapping[str, TableDrift] | None = None) -> Plan:
    """Every step of the load, rendered for the target's dialect, in execution order.

    `loaded` is what the ledger holds per table (content hashes); apply passes it so append and
    merge tables load only new files. `plan` passes nothing and shows every file.
    """
    builder = _Builder(resolved, target, renderer, loaded, drifts)
    steps = tuple(builder.build())
    manifest = resolved.manifest
    tables = tuple(TablePlan(t.name, t.spec.mode, staged_files(t, target, manifest.name), t.rows, t.bytes)
                   for t in resolved.tables)
    plan = Plan(manifest_name=manifest.name, manifest_file=manifest.display_path,
                manifest_sha256=manifest.text_sha256, warehouse=target.warehouse,
                dialect=target.dialect.name, dialect_title=target.dialect.title, url=target.display_url,
                url_source=target.url_source, schema=target.schema, stage=target.stage, tables=tables,
                steps=steps, notes=tuple(_plan_notes(target)),
                drift={name: d.to_dict(target.dialect.transactional_ddl) for name, d in (drifts or {}).items()},
                ledger=None if loaded is None else
                {t.name: tuple(sorted(loaded.get(t.name, ()))) for t in resolved.tables})
    return _with_fingerprint(plan)


def _plan_notes(target: Target) -> list[str]:
    notes = []
    if target.url is None and not target.kind.default_without_url and not target.managed:
        schemes = ", ".join(f"{s}://" for s in target.kind.url_schemes[:1])
        notes.append(f"{URL_ENV[target.warehouse]} is not set: planned for {target.kind.title}; "
                     f"apply needs a {schemes} URL (docker compose up postgres, or any local PostgreSQL)")
    if target.url is None and target.managed:
        notes.append("DW_SIMULATOR_REDSHIFT_URL is not set: apply starts the managed local PostgreSQL under the state "
                     "folder (.manifest-loader/postgres) unless it runs, and leaves it running; "
                     "`manifest-loader emulator down` stops it")
    if not target.dialect.transactional_ddl:
        notes.append(f"{target.dialect.title} commits DDL implicitly: DDL runs first, then every data "
                     "change in one BEGIN … COMMIT")
    if target.kind.emulates:
        notes.append(f"{target.dialect.title} emulates {target.kind.emulates.capitalize()}; "
                     "notes beside the steps say where it differs")
    return notes


def _with_fingerprint(plan: Plan) -> Plan:
    """The plan with its fingerprint: the SHA-256 of its JSON form, `json.dumps(plan_to_dict(plan),
    sort_keys=True, default=str)` (the fingerprint itself still empty)."""
    digest = hashlib.sha256()
    for piece in _json_pieces(plan_to_dict(plan)):
        digest.update(piece.encode())
    return replace(plan, fingerprint="sha256:" + digest.hexdigest())


def _json_pieces(body: dict[str, Any]) -> Iterator[str]:
    """`json.dumps(body, sort_keys=True, default=str)`, in pieces: each member of `body`, and a list
    member's items _JSON_ITEMS at a time. Without indent, json puts ", " between items and ": "
    after keys, so the pieces join to exactly that text; made whole, it held about 3 MB of small
    strings at once for a 200-table plan (1.2 MB of JSON), and fresh memory is costly here."""
    yield "{"
    for n, key in enumerate(sorted(body)):
        value = body[key]
        yield f"{', ' if n else ''}{_SORTED_JSON.encode(key)}: "
        if isinstance(value, list):
            yield "["
            for start in range(0, len(value), _JSON_ITEMS):
                items = _SORTED_JSON.encode(value[start:start + _JSON_ITEMS])[1:-1]   # without its [ ]
                yield f"{', ' if start else ''}{items}"
            yield "]"
        else:
            yield _SORTED_JSON.encode(value)
    yield "}"


# What json.dumps(..., sort_keys=True, default=str) makes, without a new encoder for each call.
_SORTED_JSON = json.JSONEncoder(sort_keys=True, default=str)
_JSON_ITEMS = 100


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    return {
        "manifest": {"name": plan.manifest_name, "file": plan.manifest_file, "sha256": plan.manifest_sha256},
        "target": {"warehouse": plan.warehouse, "dialect": plan.dialect, "title": plan.dialect_title,
                   "url": plan.url, "url_source": plan.url_source, "schema": plan.schema},
        "stage": plan.stage,
        "fingerprint": plan.fingerprint,
        "notes": list(plan.notes),
        "tables": [{"name": t.name, "mode": t.mode, "rows": t.rows, "bytes": t.bytes,
                    "files": [{"source": f.source.display, "staged": f.staged_uri, "load_from": f.load_uri,
                               "content_hash": f.source.content_hash, "rows": f.source.rows,
                               "bytes": f.source.size, **_ledger_mark(plan, t.name, f.source.content_hash)}
                              for f in t.files],
                    # Only for a table that differs from the manifest, so other plans keep their form.
                    **({"drift": dict(plan.drift[t.name])} if t.name in plan.drift else {})} for t in plan.tables],
        "steps": [_step_dict(s) for s in plan.steps],
        **({"ledger_note": plan.ledger_note} if plan.ledger_note else {}),
        # Only in plans made against the ledger, so plans that never read one keep their form.
        **({"ledger": {name: {"held": list(held), "loads": list(plan.loads(name))}
                       for name, held in plan.ledger.items()}} if plan.ledger is not None else {}),
    }


def _ledger_mark(plan: Plan, table: str, content_hash: str) -> dict[str, bool]:
    """`in_ledger` for a file of an append/merge table, when `plan` read the target's ledger."""
    if plan.ledger_held is None or table not in plan.ledger_held:
        return {}
    return {"in_ledger": content_hash in plan.ledger_held[table]}


def _step_dict(step: Step) -> dict[str, Any]:
    return {"number": step.number, "action": step.action, "table": step.table, "template": step.template,
            "transactional": step.transactional, "sql": display_sql(step.sql),
            "parameters": [dict(row) for row in step.params], "notes": list(step.notes)}
