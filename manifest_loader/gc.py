"""`stage gc`: find (and with --delete remove) staged objects that no known ledger references.

Staged objects are content-addressed and shared: the same manifest applied to Redshift and to
Snowflake stages each file once, at the same key, and both targets' ledgers reference it. So
an object is garbage only when *no* known ledger of the stage references it. The known
ledgers are the manifest's target for every warehouse whose stage is this one, and every
(warehouse, target, schema) the metadata database has a succeeded run of this manifest on.
A known ledger that cannot be read (no URL for it here, a server that does not answer, a
target other than the one configured now) makes `--delete` refuse: what it references is
unknown, so nothing may go.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from .errors import LoaderError, UsageError
from .loader_tables import LEDGER_TABLE
from .manifest import Manifest, load_manifest
from .plan import table_key
from .progress import LogProgress
from .render import Renderer
from .runs import RunStore, metadata_url
from .stage import list_stage, remove_staged
from .target import URL_ENV, Target, has_server, resolve_target
from .warehouses import connect


@dataclass(frozen=True)
class LedgerRef:
    """One ledger: a warehouse, the (masked) URL of its target, the schema holding the ledger table."""

    warehouse: str
    display_url: str
    schema: str

    def __str__(self) -> str:
        return f"{self.warehouse} {self.display_url} schema {self.schema}"


@dataclass
class Garbage:
    objects: list[str]                       # staged under the manifest's folder, referenced by no ledger read
    removed: int = 0
    read: list[LedgerRef] = field(default_factory=list)
    unreadable: dict[LedgerRef, str] = field(default_factory=dict)   # ledger -> why it could not be read


def stage_garbage(manifest_path: str | Path, warehouse: str | None = None, *, delete: bool = False,
                  env: Mapping[str, str] | None = None) -> Garbage:
    """Objects under <stage>/<manifest>/ that no known ledger references; removed only when `delete`.

    With `delete`, refuses (UsageError) while any known ledger of the stage cannot be read.
    """
    manifest = load_manifest(manifest_path, env)
    chosen = resolve_target(manifest, warehouse, env)
    objects = list_stage(f"{chosen.stage}/{table_key(manifest.name)}")
    referenced: set[str] = set()
    result = Garbage([])
    for ledger, target in _known_ledgers(manifest, chosen, env).items():
        if target is None:
            result.unreadable[ledger] = (f"no {ledger.warehouse} target configured here reaches "
                                         f"{ledger.display_url} (set {URL_ENV[ledger.warehouse]} to it)")
            continue
        try:
            referenced |= _ledger_keys(target)
        except LoaderError as exc:
            if target == chosen:
                raise   # the target asked for must answer, as for every other command
            result.unreadable[ledger] = exc.message
            continue
        result.read.append(ledger)
    result.objects = [uri for uri in objects if uri not in referenced]
    if delete and result.objects and result.unreadable:
        reasons = "; ".join(f"{ledger}: {why}" for ledger, why in result.unreadable.items())
        raise UsageError(f"not deleting: {len(result.unreadable)} ledger(s) of stage {chosen.stage} may reference "
                         f"these objects and cannot be read ({reasons})",
                         hint="make every target this manifest was loaded into reachable, then run gc again")
    if delete:
        result.removed = remove_staged(result.objects)
    return result


def _known_ledgers(manifest: Manifest, chosen: Target,
                   env: Mapping[str, str] | None) -> dict[LedgerRef, Target | None]:
    """Every ledger that may reference this manifest's staged objects, with the target that reads it."""
    configured: list[Target] = [chosen]
    for warehouse in URL_ENV:   # the manifest's target on every warehouse, where one is configured
        if warehouse == chosen.warehouse:
            continue
        try:
            other = resolve_target(manifest, warehouse, env)
        except LoaderError:
            continue
        if not has_server(other):
            continue   # not configured here; a run recorded on it below still counts as a known ledger
        if other.stage == chosen.stage:
            configured.append(other)
    ledgers: dict[LedgerRef, Target | None] = {_ref(t): t for t in configured}
    store = RunStore(metadata_url(chosen.state, env))
    for run in store.list(manifest.name, None, 10_000):
        if run["status"] != "succeeded":
            continue   # a failed or unchanged run wrote no ledger row (the ledger commits with the data)
        ref = LedgerRef(run["warehouse"], run["target_url"], run["schema_name"])
        if ref in ledgers:
            continue
        # A schema other than the manifest's now, on a target configured here: that target reads it.
        same = next((t for t in configured if t.warehouse == ref.warehouse and t.display_url == ref.display_url), None)
        ledgers[ref] = replace(same, schema=ref.schema) if same is not None else None
    return ledgers


def _ref(target: Target) -> LedgerRef:
    return LedgerRef(target.warehouse, target.display_url, target.schema)


def _ledger_keys(target: Target) -> set[str]:
    """The staged keys the target's ledger references (none when it has no ledger yet)."""
    connection = connect(target, LogProgress(), 60.0)
    try:
        dialect = target.dialect
        if not connection.relation_exists(dialect.stored_name(target.schema), dialect.stored_name(LEDGER_TABLE)):
            return set()
        sql = Renderer(dialect).render("ledger_keys", schema=target.schema, table=LEDGER_TABLE).sql
        return {str(row[0]) for row in connection.execute(sql)}
    finally:
        connection.rollback()
        connection.close()
