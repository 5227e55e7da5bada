"""The registry of targets: one frozen record per place a load can go.

Everything that differs between real Redshift, the Redshift emulator, real Snowflake and the
Snowflake emulator *as targets* is declared here: which URL schemes select it, which dialect
spells its SQL, which connection class loads it, what it emulates and how. Code elsewhere reads
these attributes; it never compares a target's or a dialect's name with a literal (a test,
tests/architecture/test_target_names.py, fails if it does). SQL facts (quoting, types, the
template chain) stay in `dialects/`.

To add a target: one record here, one dialect module in `dialects/`, one template folder in
`templates/` (see docs/architecture.md). Nothing here imports a driver: the connection class is
named as "module:Class" and imported only when a connection opens.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from .dialects import DIALECTS, Dialect

if TYPE_CHECKING:
    from .progress import Progress
    from .target import Target
    from .warehouses.base import Warehouse

# The environment variable that holds each warehouse's connection URL.
URL_ENV: Mapping[str, str] = MappingProxyType({
    "redshift": "DW_SIMULATOR_REDSHIFT_URL",
    "snowflake": "DW_SIMULATOR_SNOWFLAKE_URL",
})

# Given the environment and the project's state folder, a URL for a target that has no URL set,
# or None when it cannot supply one (then the target says how to get one).
DefaultUrl = Callable[[Mapping[str, str], Path], str | None]


@dataclass(frozen=True)
class TargetKind:
    """One target: a warehouse or an emulator of one, and everything the loader does differently for it."""

    name: str                       # e.g. "redshift-emulator"; what logs and errors call it
    warehouse: str                  # the manifest's target.warehouse it serves: redshift | snowflake
    dialect_name: str               # its SQL facts: dialects.DIALECTS[dialect_name]
    url_schemes: tuple[str, ...]    # a URL with one of these schemes selects this target
    warehouse_class: str            # "module:Class" of its connection, imported when one opens
    # The warehouse this target stands in for, or None for the real thing.
    emulates: str | None = None
    # Chosen when the warehouse's URL is not set (the embedded Snowflake emulator).
    default_without_url: bool = False
    # Supplies a URL when none is set (for example a managed local server); None: no default.
    default_url: DefaultUrl | None = None
    # With no URL set, manifest-loader runs the server itself (manifest_loader/localpg): started on
    # demand by the first command that connects, never by plan or validate.
    managed_server: bool = False
    # Per-value checks the loader makes on each batch as it streams the rows itself (where a
    # query after the copy would scan the whole table once per column).
    streamed_checks: frozenset[str] = frozenset()
    # COPY cannot read the stage (s3://): it reads a local file:// mirror of the staged objects.
    local_mirror: bool = False
    # The loader itself reads the staged objects into the warehouse (COPY FROM STDIN): the load
    # starts while later objects are still being staged, each read once it is (staged_gate.py).
    streams_staged_objects: bool = False
    # Staging writes a COPY manifest file listing the table's staged objects (Redshift's COPY reads it).
    copy_manifest_file: bool = False
    # The Redshift compatibility layer (Redshift functions, STL views) is installed into it.
    compat_layer: bool = False
    # Redshift SQL given to `query` is translated for it (to PostgreSQL).
    translates_queries: bool = False
    # One load or query at a time per process may use it (fakesnow patches the connector process-wide).
    in_process_lock: bool = False
    # The manifest's physical-design options for its warehouse are accepted and ignored.
    ignores_physical: bool = False
    # Statistics refreshed inside the load (the `analyze` template), where the target would not
    # otherwise have them for the first query after it (real Redshift's COPY does it itself:
    # STATUPDATE). Without them PostgreSQL guessed row counts, and a TPC-H query over a freshly
    # loaded table took over 60 s instead of 0.85 s (docs/benchmarks.md).
    analyzes_after_load: bool = False
    # A manifest's Redshift SORTKEY as an index (the `create_sortkey_index` template), where the
    # emulator has no sort order of its own to give range filters and merge joins on those columns.
    sortkey_as_index: bool = False
    # Each loaded table carries a statement trigger that marks it in the loader's table of changes
    # (loader_tables.CHANGED_TABLE) whenever anything writes it; a re-apply then counts only the
    # tables that are marked or lack the trigger, instead of every table's COUNT(*) against the
    # ledger's rows (about 0.1 s per million rows on PostgreSQL: 1.43 s of a 10M-row no-change
    # re-apply, docs/benchmarks.md).
    marks_outside_changes: bool = False
    # Planner settings for a user's query (SET LOCAL in its read-only transaction), where the
    # server's defaults would plan an analytical query as the warehouse it stands for never does;
    # `query --show-translation` prints them with the "query_settings" note (a plan, not an answer,
    # changes, so it is not among the notes on what is not emulated).
    query_settings: Mapping[str, str] = field(default_factory=dict)
    # Notes `plan` (and, for "query_settings", `query --show-translation`) prints where this target
    # departs from the warehouse it stands for, by topic.
    plan_notes: Mapping[str, str] = field(default_factory=dict)

    @property
    def dialect(self) -> type[Dialect]:
        return DIALECTS[self.dialect_name]

    @property
    def title(self) -> str:
        return self.dialect.title

    @property
    def paramstyle(self) -> str:
        """How its driver binds values: the dialect spells placeholders this way."""
        return self.dialect.paramstyle

    @property
    def is_emulator(self) -> bool:
        return self.emulates is not None

    def note(self, topic: str) -> tuple[str, ...]:
        return (self.plan_notes[topic],) if topic in self.plan_notes else ()

    def connection_class(self) -> type[Warehouse]:
        module, _, name = self.warehouse_class.partition(":")
        cls: type[Warehouse] = getattr(importlib.import_module(module), name)
        return cls

    def open(self, target: Target, progress: Progress, lock_timeout: float) -> Warehouse:
        """Open a connection to the target: imports only the driver this target needs."""
        return self.connection_class().open(target, progress, lock_timeout)


# How each warehouse holds a Parquet MAP, which its emulator matches (the Redshift emulator
# writes the JSON itself, casting.cast_column; fakesnow's DuckDB reads a MAP as an object).
MAP_AS_OBJECT = {
    "redshift": 'MAP columns load into SUPER as an object whose keys are strings, {"k1":1,"k2":100} (Redshift '
                "serializes nested Parquet to JSON: "
                "https://docs.aws.amazon.com/redshift/latest/dg/serializing-complex-JSON.html)",
    "snowflake": 'MAP columns load into VARIANT as an OBJECT whose keys are strings, {"k1":1,"k2":100} '
                 "(an OBJECT's keys are VARCHAR: https://docs.snowflake.com/en/sql-reference/data-types-semistructured)",
}

REDSHIFT = TargetKind(
    name="redshift", warehouse="redshift", dialect_name="redshift", url_schemes=("redshift",),
    warehouse_class="manifest_loader.warehouses.sqlalchemy_warehouse:SqlAlchemyWarehouse",
    copy_manifest_file=True,
    plan_notes={
        "truncate": "TRUNCATE commits the open transaction on Redshift: this table's load is not "
                    "atomic with the others (use mode replace for all-or-nothing)",
        "map": MAP_AS_OBJECT["redshift"],
    },
)

REDSHIFT_EMULATOR = TargetKind(
    name="redshift-emulator", warehouse="redshift", dialect_name="postgres", url_schemes=("postgresql", "postgres"),
    warehouse_class="manifest_loader.warehouses.postgres:PostgresWarehouse",
    emulates="redshift", managed_server=True,
    # The rows pass through the loader on their way into COPY FROM STDIN: checking them there
    # took a 10M-row apply with checks on from 45.4 s to 34.9 s (docs/benchmarks.md), and
    # single integer keys into an empty table are checked for repeats in a bitmap as they pass.
    streamed_checks=frozenset({"not_null", "varchar_length", "unique"}),
    # Staging (moto's copies, or the file stage's) overlapped the first objects' COPY instead of
    # preceding it (docs/benchmarks.md, issue 18).
    streams_staged_objects=True,
    compat_layer=True, translates_queries=True, ignores_physical=True, analyzes_after_load=True,
    sortkey_as_index=True, marks_outside_changes=True,
    # PostgreSQL misestimated TPC-H Q21's anti-join at one row and ran its EXISTS as a nested loop
    # over the 6M-row lineitem per outer row: no answer in 300 s at scale factor 1. Without nested
    # loops (still taken where no other join can answer: PostgreSQL only discourages them) it answered
    # in 6 s; 4 MB per hash or sort made it and Q18 spill to disk in 30-80 batches. Redshift joins by
    # hash or merge (a nested loop is an alert there) and gives a query slot GBs, not 4 MB.
    # docs/benchmarks.md, "Query performance on loaded data".
    query_settings={"enable_nestloop": "off", "work_mem": "256MB"},
    plan_notes={
        "copy": "emulated: the loader streams the staged objects into COPY FROM STDIN "
                "(binary); real Redshift reads them from S3 itself",
        "json": "SUPER is emulated as JSON",
        "binary": "VARBYTE is emulated as BYTEA",
        "physical": "DISTSTYLE/DISTKEY are Redshift-only and dropped here",
        "sortkey": "SORTKEY is emulated by a B-tree index on the same columns (range filters and joins on them "
                   "use it; there is no sort order on disk, and INTERLEAVED is compound here)",
        "analyze": "statistics updated in the load (ANALYZE), as real Redshift's COPY does for an empty table "
                   "(STATUPDATE), so the first query after it is planned with row counts",
        "query_settings": "planned as Redshift plans analytical queries: hash or merge joins wherever they "
                          "can answer (enable_nestloop off), 256MB per sort or hash (work_mem) instead of "
                          "PostgreSQL's 4MB; answers are unchanged",
        "varchar": "VARCHAR(n) counts characters in PostgreSQL; the loader checks UTF-8 bytes as Redshift does",
        "truncate": "TRUNCATE is transactional here; on real Redshift it commits the transaction",
        "map": MAP_AS_OBJECT["redshift"],
        "changes": "emulator only: a statement trigger marks the table in _manifest_loader_changed whenever "
                   "anything writes it, so a re-apply counts the rows only of tables written outside the "
                   "loader; other writers wait for the load to commit",
    },
)

SNOWFLAKE = TargetKind(
    name="snowflake", warehouse="snowflake", dialect_name="snowflake", url_schemes=("snowflake",),
    warehouse_class="manifest_loader.warehouses.sqlalchemy_warehouse:SqlAlchemyWarehouse",
    plan_notes={"map": MAP_AS_OBJECT["snowflake"]},
)

SNOWFLAKE_EMULATOR = TargetKind(
    name="snowflake-emulator", warehouse="snowflake", dialect_name="fakesnow", url_schemes=("fakesnow",),
    warehouse_class="manifest_loader.warehouses.fakesnow:FakesnowWarehouse",
    emulates="snowflake", default_without_url=True, local_mirror=True, in_process_lock=True,
    ignores_physical=True,
    plan_notes={
        "copy": "emulated: COPY INTO reads a local mirror of the staged objects (file://); "
                "real Snowflake reads S3",
        "varchar": "VARCHAR(n) is not enforced by the emulator; the loader checks lengths in characters",
        "physical": "CLUSTER BY is accepted and ignored by the emulator",
        "staging": "the emulator cannot COPY INTO a temporary table in a schema: the merge staging table "
                   "is a transient table, emptied before commit",
        "map": MAP_AS_OBJECT["snowflake"],
    },
)

# The order is the order URL schemes are listed in messages.
TARGETS: dict[str, TargetKind] = {t.name: t for t in (REDSHIFT_EMULATOR, REDSHIFT, SNOWFLAKE, SNOWFLAKE_EMULATOR)}


def warehouses() -> tuple[str, ...]:
    """The warehouses a manifest can name, in registry order."""
    return tuple(dict.fromkeys(t.warehouse for t in TARGETS.values()))


def kinds_of(warehouse: str) -> list[TargetKind]:
    return [t for t in TARGETS.values() if t.warehouse == warehouse]


def schemes_of(warehouse: str) -> tuple[str, ...]:
    """Every URL scheme that selects a target of the warehouse (empty for an unknown warehouse)."""
    return tuple(s for t in kinds_of(warehouse) for s in t.url_schemes)


def url_scheme(url: str) -> str:
    """The scheme that selects a target: `postgresql+psycopg://…` → postgresql."""
    return url.split("://", 1)[0].split("+", 1)[0].lower() if "://" in url else ""


def by_scheme(warehouse: str, url: str) -> TargetKind | None:
    """The target of the warehouse the URL's scheme selects, or None."""
    scheme = url_scheme(url)
    return next((t for t in kinds_of(warehouse) if scheme in t.url_schemes), None)


def without_url(warehouse: str) -> TargetKind:
    """The target a warehouse means when no URL is set: its embedded default, else its emulator."""
    kinds = kinds_of(warehouse)
    return next((t for t in kinds if t.default_without_url), None) or \
        next((t for t in kinds if t.is_emulator), kinds[0])


def real(warehouse: str) -> TargetKind:
    """The warehouse itself, not an emulator of it."""
    return next(t for t in kinds_of(warehouse) if not t.is_emulator)


def by_dialect(dialect_name: str) -> TargetKind:
    """The target whose SQL the dialect spells (each target has its own dialect)."""
    return next(t for t in TARGETS.values() if t.dialect_name == dialect_name)
