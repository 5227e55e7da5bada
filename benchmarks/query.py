"""Query benchmark: analytical queries over data loaded by `apply`, on every engine a user has.

    python -m benchmarks.query --sf 0.1 --sf 1 --docs   # TPC-H's 22 queries + the experiment's 7
    python -m benchmarks.query --quick                  # scale factor 0.01: what CI runs

Generates TPC-H with `tpchgen-cli` (Parquet) and a simulator-shaped experiment (experiment.py) at
each scale factor, loads both with `manifest-loader apply` into the Redshift emulator (a throw-away
PostgreSQL, or --pg-url) and the Snowflake emulator (fakesnow on disk), and into SQLite the way the
warehouse simulator does today (executemany of Python rows); DuckDB reads the Parquet files. Each
query then runs on every engine: on the emulators through `manifest_loader.query.execute_query`,
exactly what `manifest-loader query` runs (translation, compatibility layer, one connection per
statement), in this process, so process start is excluded. Every answer is compared with DuckDB's
(numbers to 1e-6 relative or a cent, strings without CHAR padding, rows as a multiset).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from benchmarks import experiment, query_report, services
from benchmarks.tpch_queries import QUERIES as TPCH_QUERIES

ROOT = services.ROOT
DEFAULT_DATA = ROOT / "benchmarks" / ".data"
RESULTS = ROOT / "benchmarks" / "results"
TPCH_TABLES = ("region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem")
TPCH_KEYS = {"region": ["r_regionkey"], "nation": ["n_nationkey"], "supplier": ["s_suppkey"],
             "customer": ["c_custkey"], "part": ["p_partkey"], "partsupp": ["ps_partkey", "ps_suppkey"],
             "orders": ["o_orderkey"], "lineitem": ["l_orderkey", "l_linenumber"]}
# Physical design as AWS's published TPC-H DDL for Redshift (amazon-redshift-utils): what a user
# would write for the real warehouse; the emulator turns each SORTKEY into an index.
TPCH_PHYSICAL = {"region": "{diststyle: all}", "nation": "{diststyle: all}",
                 "supplier": "{diststyle: all, sortkey: [s_suppkey]}",
                 "customer": "{diststyle: key, distkey: c_custkey, sortkey: [c_custkey]}",
                 "part": "{diststyle: key, distkey: p_partkey, sortkey: [p_partkey]}",
                 "partsupp": "{diststyle: key, distkey: ps_partkey, sortkey: [ps_partkey]}",
                 "orders": "{diststyle: key, distkey: o_orderkey, sortkey: [o_orderdate]}",
                 "lineitem": "{diststyle: key, distkey: l_orderkey, sortkey: [l_shipdate]}"}
ENGINES = ("redshift", "snowflake", "duckdb", "sqlite")
TITLES = {"redshift": "Redshift emulator", "snowflake": "Snowflake emulator", "duckdb": "DuckDB (Parquet)",
          "sqlite": "SQLite"}


def log(message: str) -> None:
    print(f"[query {dt.datetime.now():%H:%M:%S}] {message}", flush=True)


def tpchgen() -> str:
    """The tpchgen-cli executable: on PATH, or beside this Python (a venv not activated)."""
    found = shutil.which("tpchgen-cli") or shutil.which("tpchgen-cli", path=str(Path(sys.executable).parent))
    if not found:
        raise SystemExit("tpchgen-cli is not installed: pip install tpchgen-cli (it is in the test extra)")
    return found


def generate_tpch(folder: Path, sf: float) -> None:
    if all((folder / f"{t}.parquet").exists() for t in TPCH_TABLES):
        return
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run([tpchgen(), "parquet", "-s", f"{sf:g}", f"--output-dir={folder}"], check=True,
                   capture_output=True)


def write_manifest(folder: Path, name: str, tables: list[str], keys: dict[str, list[str]],
                   physical: dict[str, str]) -> Path:
    """A manifest over <folder>/<name>/<table>.parquet; primary keys checked, Redshift physical design."""
    lines = ["version: 1", f"name: {name}", "target:", "  warehouse: redshift", f"  schema: {name}", "tables:"]
    for table in tables:
        lines += [f"  - name: {table}", f"    source: {name}/{table}.parquet",
                  f"    primary_key: [{', '.join(keys[table])}]"]
        if table in physical:
            lines.append(f"    redshift: {physical[table]}")
    path = folder / f"{name}.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


# -- answers ------------------------------------------------------------------------------------


def _value(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, Decimal | float | int):
        return float(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    if isinstance(value, str):
        return value.rstrip()
    return value


def _sort_key(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple((0, "") if v is None else (1, round(v, 1)) if isinstance(v, float) else (2, str(v)) for v in row)


def normalized(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return sorted((tuple(_value(v) for v in row) for row in rows), key=_sort_key)


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= max(0.01, 1e-6 * max(abs(a), abs(b)))
    return a == b


def difference(expected: list[tuple[Any, ...]], actual: list[tuple[Any, ...]]) -> str | None:
    """None when the answers agree, else what differs first."""
    if len(expected) != len(actual):
        return f"{len(actual)} rows, expected {len(expected)}"
    for i, (want, got) in enumerate(zip(expected, actual, strict=True)):
        if len(want) != len(got) or not all(_close(a, b) for a, b in zip(want, got, strict=True)):
            return f"row {i}: {got!r:.200}, expected {want!r:.200}"
    return None


# -- engines ------------------------------------------------------------------------------------


class SQLite:
    """SQLite as the warehouse simulator fills it: typed tables, executemany of Python rows."""

    def __init__(self, path: Path, timeout: float):
        self.connection = sqlite3.connect(path)
        self.timeout = timeout
        self.deadline = float("inf")   # no limit while loading; each query sets its own
        self.connection.set_progress_handler(lambda: int(time.monotonic() > self.deadline), 100_000)

    def load(self, folder: Path, tables: list[str], keys: dict[str, list[str]]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        for table in tables:
            parquet = pq.ParquetFile(folder / f"{table}.parquet")
            columns = []
            for field in parquet.schema_arrow:
                kind = ("INTEGER" if pa.types.is_integer(field.type) else
                        "REAL" if pa.types.is_floating(field.type) or pa.types.is_decimal(field.type) else "TEXT")
                columns.append(f"{field.name} {kind}")
            self.connection.execute(f"CREATE TABLE {table} ({', '.join(columns)}, "
                                    f"PRIMARY KEY ({', '.join(keys[table])}))")
            marks = ", ".join("?" * len(columns))
            for batch in parquet.iter_batches(batch_size=10_000):
                rows = [tuple(float(v) if isinstance(v, Decimal) else v.isoformat(sep=" ")
                              if isinstance(v, dt.datetime) else v.isoformat() if isinstance(v, dt.date) else v
                              for v in row.values()) for row in batch.to_pylist()]
                self.connection.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
            self.connection.commit()

    def run(self, sql: str) -> list[tuple[Any, ...]]:
        translated = sqlite_sql(sql)
        self.deadline = time.monotonic() + self.timeout
        try:
            return self.connection.execute(translated).fetchall()
        except sqlite3.OperationalError as exc:
            if "interrupted" in str(exc):
                raise TimeoutError(f"no answer in {self.timeout:g} s") from None
            raise


def sqlite_sql(sql: str) -> str:
    """The query in SQLite's SQL: sqlglot's transpilation, with EXTRACT (which SQLite lacks) as strftime."""
    import sqlglot
    from sqlglot import exp

    formats = {"YEAR": "%Y", "MONTH": "%m", "DAY": "%d"}

    def extract(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Extract) and node.name.upper() in formats:
            text = exp.Anonymous(this="strftime", expressions=[exp.Literal.string(formats[node.name.upper()]),
                                                               node.expression])
            return exp.Cast(this=text, to=exp.DataType.build("integer"))
        return node

    return sqlglot.parse_one(sql, read="postgres").transform(extract).sql(dialect="sqlite")


def duckdb_over(folder: Path, tables: list[str]) -> Any:
    import duckdb

    connection = duckdb.connect()
    for table in tables:
        connection.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{folder / table}.parquet')")
    return connection


# -- the run ------------------------------------------------------------------------------------


class Suite:
    """One data set (TPC-H or the experiment) at one scale, loaded everywhere, queried everywhere."""

    def __init__(self, args: argparse.Namespace, pg_url: str, work: Path, name: str, sf: float,
                 tables: list[str], keys: dict[str, list[str]], physical: dict[str, str],
                 queries: dict[str, str]):
        self.args, self.pg_url, self.work, self.name, self.sf = args, pg_url, work, name, sf
        self.tables, self.keys, self.physical, self.queries = tables, keys, physical, queries
        self.root = args.data_dir / f"sf{sf:g}"
        self.folder = self.root / name
        self.state = work / f"state-{name}-sf{sf:g}"
        self.env = {**{k: v for k, v in os.environ.items() if not k.startswith(("DW_SIMULATOR_", "MANIFEST_LOADER_"))},
                    "DW_SIMULATOR_REDSHIFT_URL": pg_url, "MANIFEST_LOADER_STATE_DIR": str(self.state),
                    "PYTHONPATH": str(ROOT)}
        self.loads: dict[str, dict[str, Any]] = {}

    def manifest(self) -> Path:
        return write_manifest(self.root, self.name, self.tables, self.keys, self.physical)

    def apply(self, warehouse: str) -> None:
        started = time.perf_counter()
        # The queries' statement timeout (PGOPTIONS) is not the load's.
        env = {k: v for k, v in self.env.items() if k != "PGOPTIONS"}
        done = subprocess.run([sys.executable, "-m", "manifest_loader.cli", "apply", str(self.manifest()),
                               "--target-warehouse", warehouse], env=env, cwd=ROOT, capture_output=True,
                              text=True, timeout=self.args.timeout * 10)
        seconds = time.perf_counter() - started
        error = None if done.returncode == 0 else (done.stderr or done.stdout).strip()[-600:]
        self.loads[warehouse] = {"seconds": round(seconds, 2), "error": error}
        log(f"{self.name} sf{self.sf:g}: apply to {warehouse} {seconds:.1f} s" + (f" FAILED: {error}" if error else ""))

    def run(self) -> dict[str, Any]:
        from manifest_loader.query import execute_query

        for warehouse in ("redshift", "snowflake"):
            self.apply(warehouse)
        sqlite = SQLite(self.work / f"{self.name}-sf{self.sf:g}.sqlite", self.args.sqlite_timeout)
        if "sqlite" in self.args.engines:
            started = time.perf_counter()
            sqlite.load(self.folder, self.tables, self.keys)
            self.loads["sqlite"] = {"seconds": round(time.perf_counter() - started, 2), "error": None}
            log(f"{self.name} sf{self.sf:g}: SQLite loaded in {self.loads['sqlite']['seconds']} s")
        else:
            self.loads["sqlite"] = {"seconds": 0.0, "error": "not run (--engines)"}
        duck = duckdb_over(self.folder, self.tables)
        manifest = self.manifest()
        runners: dict[str, Callable[[str], tuple[list[tuple[Any, ...]], tuple[str, ...]]]] = {
            "duckdb": lambda sql: (duck.execute(sql).fetchall(), ()),
            "redshift": lambda sql: _emulator(execute_query, manifest, sql, "redshift", self.env, self.args.timeout),
            "snowflake": lambda sql: _emulator(execute_query, manifest, sql, "snowflake", self.env,
                                               self.args.timeout),
            "sqlite": lambda sql: (sqlite.run(sql), ()),
        }
        for engine, run in runners.items():   # imports and first connections are process start, not query time
            if not self.loads.get(engine, {}).get("error"):
                run("select 1")
        queries = []
        for key, sql in self.queries.items():
            entry: dict[str, Any] = {"query": key, "engines": {}}
            expected: list[tuple[Any, ...]] | None = None
            for engine in ("duckdb", "redshift", "snowflake", "sqlite"):
                if self.loads.get(engine, {}).get("error"):
                    entry["engines"][engine] = {"seconds": None, "status": "not loaded", "detail": ""}
                    continue
                entry["engines"][engine] = measured = _measure(runners[engine], sql)
                rows = measured.pop("rows", None)
                if rows is None:
                    continue
                answer = normalized(rows)
                if engine == "duckdb":
                    expected = answer
                    measured["status"] = "reference"
                elif expected is not None:
                    wrong = difference(expected, answer)
                    measured["status"] = "equal" if wrong is None else "differs"
                    measured["detail"] = wrong or ""
            line = ", ".join(f"{e} {m['seconds'] if m['seconds'] is not None else '-'} s {m['status']}"
                             for e, m in entry["engines"].items())
            log(f"{self.name} sf{self.sf:g} {key}: {line}")
            queries.append(entry)
        from manifest_loader.registry import REDSHIFT_EMULATOR

        # What the Redshift emulator planned its queries with (the registry's query_settings).
        settings = {"redshift": dict(REDSHIFT_EMULATOR.query_settings)}
        return {"suite": self.name, "sf": self.sf, "loads": self.loads, "query_settings": settings,
                "queries": queries}


def _emulator(execute_query: Any, manifest: Path, sql: str, warehouse: str, env: dict[str, str],
              timeout: float) -> tuple[list[tuple[Any, ...]], tuple[str, ...]]:
    # The query's own statement timeout (SET LOCAL) would override PGOPTIONS' for the session.
    result = execute_query(manifest, sql, warehouse, env=env, timeout_seconds=timeout)
    return result.rows, tuple(result.notes)


def _measure(run: Callable[[str], tuple[list[tuple[Any, ...]], tuple[str, ...]]], sql: str) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        rows, notes = run(sql)
    except Exception as exc:
        seconds = time.perf_counter() - started
        text = " ".join(str(exc).split())[:300]
        status = "timeout" if isinstance(exc, TimeoutError) or "statement timeout" in text else "error"
        return {"seconds": round(seconds, 3), "status": status, "detail": text}
    return {"seconds": round(time.perf_counter() - started, 3), "status": "answered", "detail": "",
            "notes": list(notes), "rows": rows, "row_count": len(rows)}


@contextlib.contextmanager
def postgres(pg_url: str | None) -> Iterator[str]:
    """A database on the given server, or on a throw-away cluster."""
    tests = services.test_services()
    with contextlib.ExitStack() as stack:
        admin = pg_url
        if admin is None:
            cluster = tests.PostgresCluster()
            stack.callback(cluster.stop)
            admin = cluster.start()
        import uuid

        name = f"bench_q_{uuid.uuid4().hex[:8]}"
        url = tests.create_database(admin, name)
        stack.callback(tests.drop_database, admin, name)
        yield url


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.query", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sf", type=float, action="append", help="TPC-H scale factor (repeatable; default 0.1)")
    parser.add_argument("--quick", action="store_true", help="scale factor 0.01 only: what CI runs")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA, help="where generated Parquet is cached")
    parser.add_argument("--out", type=Path, help="results JSON (default benchmarks/results/queries.json)")
    parser.add_argument("--docs", action="store_true", help="rewrite the query results in docs/benchmarks.md")
    parser.add_argument("--pg-url", help="use this PostgreSQL server (superuser URL) instead of a fresh cluster")
    parser.add_argument("--engines", default=",".join(ENGINES),
                        help="engines to load and query besides DuckDB (default: all; SQLite's executemany load "
                             "takes long at scale factor 1)")
    parser.add_argument("--timeout", type=float, default=120, help="seconds one emulator query may take")
    parser.add_argument("--sqlite-timeout", type=float, default=60, help="seconds one SQLite query may take")
    args = parser.parse_args(argv)
    args.sf = [0.01] if args.quick else (args.sf or [0.1])
    args.engines = {e.strip() for e in args.engines.split(",")} | {"duckdb"}
    if args.quick:
        args.sqlite_timeout = min(args.sqlite_timeout, 5.0)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = dt.datetime.now(dt.UTC)
    sys.path.insert(0, str(ROOT))
    # The statement timeout reaches the emulator's server through libpq's PGOPTIONS.
    os.environ["PGOPTIONS"] = f"{os.environ.get('PGOPTIONS', '')} -c statement_timeout={int(args.timeout * 1000)}"
    suites = []
    with postgres(args.pg_url) as pg_url, tempfile.TemporaryDirectory(prefix="ml-query-bench-") as tmp:
        for sf in args.sf:
            root = args.data_dir / f"sf{sf:g}"
            log(f"generating TPC-H and the experiment at scale factor {sf:g} under {root}")
            generate_tpch(root / "tpch", sf)
            experiment.generate(root / "experiment", sf)
            suites.append(Suite(args, pg_url, Path(tmp), "tpch", sf, list(TPCH_TABLES), TPCH_KEYS, TPCH_PHYSICAL,
                                TPCH_QUERIES).run())
            suites.append(Suite(args, pg_url, Path(tmp), "experiment", sf, list(experiment.TABLES), experiment.KEYS,
                                {t: "{sortkey: [" + ", ".join(c) + "]}" for t, c in experiment.SORTKEYS.items()},
                                experiment.QUERIES).run())
    payload = {"command": "python -m benchmarks." + "query " + " ".join(argv if argv is not None else sys.argv[1:]),
               "started": started.isoformat(timespec="seconds"),
               "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "quick": args.quick,
               "machine": {"cores": os.cpu_count(), "load_average": os.getloadavg()},
               "suites": suites}
    payload["targets"] = query_report.targets(payload)
    out = args.out or RESULTS / "queries.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    text = query_report.markdown(payload)
    print(text)
    if args.docs:
        query_report.write_docs(payload, ROOT / "docs" / "benchmarks.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
