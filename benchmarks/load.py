"""Load benchmark: manifest-loader against raw COPY and the loaders users would otherwise pick.

    python -m benchmarks.load --rows 1000000            # full run at 1M rows (see docs/benchmarks.md)
    python -m benchmarks.load --rows 20000 --quick      # seconds; what CI runs

Generates the dataset (once, cached under --data-dir), starts a throw-away PostgreSQL and a
moto S3 server on 127.0.0.1 (or uses --pg-url), puts the Parquet files on S3, then runs each
contender as a separate process, timed from outside (wall time, peak RSS), and reads every
loaded table back to compare its content with the files'. Writes the results as JSON and,
with --docs, the tables in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import compileall
import datetime as dt
import importlib.util
import json
import logging
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import dataset as ds
from benchmarks import manifests, report, runner, services

ROOT = services.ROOT
DEFAULT_DATA = ROOT / "benchmarks" / ".data"
RESULTS = ROOT / "benchmarks" / "results"
TABLE = "events"


@dataclass
class Result:
    name: str
    label: str
    group: str                       # postgres | snowflake | startup
    rows: int = 0                    # rows this process loaded (the sample size for sampled ones)
    seconds: float | None = None     # wall time of the process (median of repeats for startup)
    rss_mb: float | None = None
    server_cpu_seconds: float | None = None   # CPU PostgreSQL spent meanwhile (its backends included)
    load_average: float | None = None         # 1-minute load average when the contender finished
    inner_seconds: float | None = None   # reported by the process itself, after its imports
    sample: bool = False
    estimated_seconds: float | None = None   # for a sample: start-up + load time scaled to the dataset
    rows_per_s: float | None = None
    mb_per_s: float | None = None
    content: str = "not checked"     # exact | altered | not checked | failed
    problems: list[str] = field(default_factory=list)
    error: str | None = None
    command: str = ""
    repeats: list[float] = field(default_factory=list)
    notes: str = ""


class Bench:
    def __init__(self, args: argparse.Namespace, svc: services.Services, data: ds.Dataset, work: Path):
        self.args, self.svc, self.data, self.work = args, svc, data, work
        self.results: list[Result] = []
        self.s3_prefix = f"s3://{services.BUCKET}/data/rows-{data.rows}/"
        self.cli = _cli()
        self._sample_stats: dict[int, dict[str, Any]] = {}

    # -- helpers ----------------------------------------------------------------------------------

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DW_SIMULATOR_", "MANIFEST_LOADER_"))}
        env.update(self.svc.aws_env())
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        env.update(extra)
        return env

    def log(self, message: str) -> None:
        print(f"[bench {dt.datetime.now():%H:%M:%S}] {message}", flush=True)

    def run(self, result: Result, argv: list[str], env: dict[str, str], cwd: Path | None = None,
            expect: str | None = None, reset: Callable[[], None] | None = None) -> runner.Measured | None:
        """Run once, or --repeat times when `reset` puts the target back as it was: the fastest
        run counts (others on this machine add noise, never speed), peak RSS is the largest."""
        measured = self._run_once(result, argv, env, cwd, expect)
        if reset is None or measured is None or self.args.repeat < 2:
            return measured
        result.repeats = [result.seconds or 0.0]
        for _ in range(self.args.repeat - 1):
            reset()
            trial = Result(result.name, result.label, result.group)
            again = self._run_once(trial, argv, env, cwd, expect)
            if again is None:
                result.error, result.content = trial.error, trial.content
                return None
            result.repeats.append(trial.seconds or 0.0)
            rss = max(result.rss_mb or 0.0, trial.rss_mb or 0.0)
            if (trial.seconds or 0.0) < (result.seconds or 0.0):
                for key in ("seconds", "server_cpu_seconds", "inner_seconds", "load_average", "error"):
                    setattr(result, key, getattr(trial, key))
                measured = again
            result.rss_mb = rss
        result.notes = f"fastest of {len(result.repeats)} runs"
        return measured

    def _run_once(self, result: Result, argv: list[str], env: dict[str, str], cwd: Path | None,
                  expect: str | None) -> runner.Measured | None:
        result.command = " ".join(argv)
        self.log(f"{result.name}: {result.label}")
        cpu_before = services.server_cpu_seconds(self.svc.postmaster_pid)
        measured = runner.measure(argv, env=env, cwd=cwd or ROOT, timeout=self.args.timeout)
        if cpu_before is not None:
            time.sleep(0.5)   # the postmaster adds a backend's CPU time to its own once it reaps it
        cpu_after = services.server_cpu_seconds(self.svc.postmaster_pid)
        result.seconds, result.rss_mb = round(measured.seconds, 3), measured.rss_mb
        if cpu_before is not None and cpu_after is not None and result.group == "postgres":
            result.server_cpu_seconds = round(cpu_after - cpu_before, 2)
        result.load_average = round(os.getloadavg()[0], 2)
        if measured.returncode != 0:
            lines = (measured.stderr.strip() or measured.stdout.strip()).splitlines()
            # The last lines that say what went wrong, not SQLAlchemy's parameter dump or its link.
            tail = [ln for ln in lines if ln.strip() and not ln.startswith(("(Background", "[SQL", "[parameters"))]
            result.error = f"exit {measured.returncode}: " + "\n".join(tail[-6:])[-1500:]
            result.content = "failed"
            self.log(f"  failed: {result.error}")
            return None
        if expect and expect not in measured.stdout:
            result.error = f"expected {expect!r} in the output, got: {measured.stdout.strip()[:300]}"
        for line in reversed(measured.stdout.strip().splitlines()):
            if line.startswith("{"):
                info = json.loads(line)
                result.inner_seconds = info.get("seconds")
                break
        self.log(f"  {result.seconds:.2f}s, peak RSS {result.rss_mb or 0:.0f} MB")
        return measured

    def finish(self, result: Result, rows: int, verify: Callable[[], dict[str, Any]] | None,
               expected_rows: int | None = None) -> None:
        """Throughput (scaled to the dataset for a sample) and the content check."""
        result.rows = rows
        total = self.data.rows
        if result.seconds is not None and result.error is None:
            seconds = result.seconds
            if result.sample and rows < total:
                inner = result.inner_seconds or seconds
                result.estimated_seconds = round((seconds - inner) + inner * total / rows, 2)
                seconds = result.estimated_seconds
            result.rows_per_s = round(total / seconds) if seconds else None
            result.mb_per_s = round(self.data.parquet_bytes / 1e6 / seconds, 1) if seconds else None
        if verify is None or result.content == "failed":
            self.results.append(result)
            return
        try:
            actual = verify()
            expected = self.data.stats if (expected_rows or rows) >= total else self.sample_stats(expected_rows or rows)
            result.problems = ds.compare(expected, actual)
            result.content = "altered" if result.problems else "exact"
        except Exception as exc:   # a table that cannot be read back is a finding, not a crash
            result.content, result.problems = "failed", [f"cannot read the table back: {exc}"]
        self.log(f"  content: {result.content} {'; '.join(result.problems[:4])}")
        self.results.append(result)

    def sample_stats(self, rows: int) -> dict[str, Any]:
        if rows not in self._sample_stats:
            listing = ", ".join(f"'{f}'" for f in self.data.files)
            import duckdb

            with duckdb.connect() as con:
                self._sample_stats[rows] = ds.duckdb_stats(
                    con, f"(SELECT * FROM read_parquet([{listing}]) WHERE id <= {rows})")
        return self._sample_stats[rows]

    def sample_rows(self, full: int, quick: int) -> int:
        return min(self.data.rows, quick if self.args.quick else full)

    # -- PostgreSQL ----------------------------------------------------------------------------------

    def pg(self, sql: str) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(self.svc.pg_url, autocommit=True) as conn:
            cursor = conn.execute(sql)
            return cursor.fetchall() if cursor.description else []

    def create_pg_table(self, schema: str) -> None:
        columns = ", ".join(f"{name} {sql}" for name, sql in ds.PG_TYPES.items())
        self.pg(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        self.pg(f"CREATE SCHEMA {schema}")
        self.pg(f"CREATE TABLE {schema}.{TABLE} ({columns})")
        self.pg("CHECKPOINT")

    def pg_stats(self, schema: str) -> Callable[[], dict[str, Any]]:
        def read() -> dict[str, Any]:
            import adbc_driver_postgresql.dbapi as dbapi

            with dbapi.connect(self.svc.pg_url) as conn, conn.cursor() as cursor:
                cursor.execute(f"SELECT {', '.join(ds.SCHEMA.names)} FROM {schema}.{TABLE}")
                return ds.arrow_stats(cursor.fetch_record_batch())
        return read

    def drop(self, schema: str) -> None:
        self.pg(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        self.pg("CHECKPOINT")

    def wants(self, name: str) -> bool:
        """Whether --contenders (default: all) names this contender."""
        return self.args.contenders is None or name in self.args.contenders.split(",")

    def apply_contenders(self) -> None:
        plain = importlib.util.find_spec("pandas") is not None and not self.args.quick
        # ml_local reads the same local files raw ADBC reads, through a file:// stage on the same
        # disk: the like-for-like comparison. The S3 ones read the source and stage on moto, which
        # serves them in Python on the machine doing the load (docs/benchmarks.md, issue 18).
        # ml_local runs first: run right after the S3 loads (cause not found), the
        # same load took 21.7 s with 18.0 s of server CPU against 15.2 s and 10.9 s run first
        # (docs/benchmarks.md, "Stop 18"). Raw ADBC, its baseline, runs after psql's CSV load.
        local_source = str(self.data.files[0].parent / "*.parquet")
        for name, checks, label in (
                ("ml_local", True, "manifest-loader apply, checks on, local Parquet, file:// stage"),
                ("ml_checks", True, "manifest-loader apply, checks on (S3 stage)"),
                ("ml_nochecks", False, "manifest-loader apply, checks off (S3 stage)"),
                *([("ml_plain", True, "manifest-loader apply, checks on, pandas hidden (a plain install)")]
                  if plain else [])):
            if not self.wants(name):
                continue
            folder = self.work / name
            folder.mkdir(exist_ok=True)
            local = name == "ml_local"
            manifest = manifests.load_manifest(
                folder, name, local_source if local else self.s3_prefix,
                (folder / "stage").as_uri() if local else f"s3://{services.BUCKET}/stage/{name}", checks)
            env = self.env(DW_SIMULATOR_REDSHIFT_URL=self.svc.pg_url, MANIFEST_LOADER_STATE_DIR=str(folder / "state"))
            cli = [sys.executable, "-m", "benchmarks.without", "pandas", "--"] if name == "ml_plain" else self.cli
            argv = [*cli, "apply", str(manifest), "--progress", "none"]
            result = Result(name, label, "postgres")

            def reset(name: str = name, folder: Path = folder) -> None:
                self.drop(name)
                services.delete_prefix(self.svc.s3_endpoint, f"stage/{name}/")
                shutil.rmtree(folder / "state", ignore_errors=True)
                shutil.rmtree(folder / "stage", ignore_errors=True)

            measured = self.run(result, argv, env, cwd=folder, expect="Loaded", reset=reset)
            self.finish(result, self.data.rows if measured else 0, self.pg_stats(name))
            if measured and name in ("ml_checks", "ml_plain"):
                again = Result({"ml_checks": "ml_reapply", "ml_plain": "ml_reapply_plain"}[name],
                               "manifest-loader apply again, nothing changed (ledger)"
                               + (", pandas hidden" if name == "ml_plain" else ""), "startup")
                # Right after a 10M-row load the server is still writing it out (autovacuum of the
                # new rows, checkpoint) on the same two cores: let it finish first, as it would have
                # by the time anyone applies again, so the timing is the loader's. Median of five.
                self.pg(f"VACUUM (ANALYZE) {name}.{TABLE}")
                self.pg("CHECKPOINT")
                self.run_median(again, argv, env, folder, expect="No changes")
            self.drop(name)
            services.delete_prefix(self.svc.s3_endpoint, f"stage/{name}/")
            shutil.rmtree(folder / "stage", ignore_errors=True)

    def psql(self) -> None:
        result = Result("psql", "psql \\copy, CSV on local disk (raw limit)", "postgres")
        if not self.wants("psql"):
            return
        psql = shutil.which("psql")
        if psql is None:
            result.error = "psql is not installed (Debian: postgresql-client)"
            self.results.append(result)
            return
        self.log("writing CSV for psql (not timed)")
        csv_files = self.data.csv_files()
        self.create_pg_table("psql")
        script = self.work / "psql.sql"
        columns = ", ".join(ds.SCHEMA.names)
        script.write_text("".join(f"\\copy psql.{TABLE} ({columns}) FROM '{path}' WITH (FORMAT csv)\n"
                                  for path in csv_files))
        argv = [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-d", self.svc.pg_url,
                "-f", str(script)]
        measured = self.run(result, argv, self.env(), reset=lambda: self.create_pg_table("psql"))
        self.finish(result, self.data.rows if measured else 0, self.pg_stats("psql"))
        self.drop("psql")

    def python_contender(self, name: str, label: str, group: str, config: dict[str, Any], *,
                         needs: tuple[str, ...] = (), sample: int | None = None,
                         verify: Callable[[], dict[str, Any]] | None = None, notes: str = "",
                         reset: Callable[[], None] | None = None) -> None:
        if not self.wants(name):
            return
        result = Result(name, label, group, sample=sample is not None and sample < self.data.rows, notes=notes)
        missing = [m for m in needs if importlib.util.find_spec(m) is None]
        if missing:
            result.error = f"not installed: {', '.join(missing)} (pip install -e '.[bench]')"
            result.content = "failed"
            self.log(f"{name}: skipped, {result.error}")
            self.results.append(result)
            return
        config = {"files": [str(f) for f in self.data.files], "table": TABLE, **config}
        if sample is not None:
            config["rows"] = sample
        argv = [sys.executable, "-m", "benchmarks.contenders", config.pop("contender"), json.dumps(config)]
        measured = self.run(result, argv, self.env(), reset=reset)
        rows = sample if sample is not None else self.data.rows
        self.finish(result, rows if measured else 0, verify, expected_rows=rows)

    def postgres_contenders(self) -> None:
        url = self.svc.pg_url
        self.psql()
        self.create_pg_table("adbc")
        self.python_contender("adbc", "ADBC adbc_ingest, local Parquet, no checks (raw limit)", "postgres",
                              {"contender": "adbc", "url": url, "schema": "adbc"}, verify=self.pg_stats("adbc"),
                              reset=lambda: self.create_pg_table("adbc"))
        self.drop("adbc")
        # The same, reading the S3 objects apply's S3 contender reads (moto, on the same cores).
        objects = [f"{services.BUCKET}/data/rows-{self.data.rows}/{f.name}" for f in self.data.files]
        self.create_pg_table("adbc_s3")
        self.python_contender("adbc_s3", "ADBC adbc_ingest, the same Parquet read from S3 (moto), no checks",
                              "postgres", {"contender": "adbc_s3", "url": url, "schema": "adbc_s3", "objects": objects},
                              verify=self.pg_stats("adbc_s3"), reset=lambda: self.create_pg_table("adbc_s3"))
        self.drop("adbc_s3")
        # dlt wants a password in the URL even for trust authentication; the server ignores it.
        dlt_url = url.replace("postgresql://postgres@", "postgresql://postgres:unused@", 1)
        for name, fmt, sample, label in (
                ("dlt_parquet", "parquet", None, "dlt, loader_file_format=\"parquet\" (ADBC)"),
                ("dlt_default", None, self.sample_rows(200_000, 2_000), "dlt, default file format (insert_values)")):
            config = {"contender": "dlt", "url": dlt_url, "schema": name, "pipeline": f"bench_{name}",
                      "workdir": str(self.work / "dlt"), "format": fmt}
            def reset(name: str = name) -> None:
                self.drop(name)
                shutil.rmtree(self.work / "dlt" / f"bench_{name}", ignore_errors=True)

            self.python_contender(name, label, "postgres", config, needs=("dlt",), sample=sample,
                                  verify=self.pg_stats(name), reset=reset if sample is None else None)
            self.drop(name)
        for name, needs, sample, label in (
                ("executemany", ("sqlalchemy", "psycopg"), self.sample_rows(100_000, 2_000),
                 "SQLAlchemy insert() executemany of to_pylist() batches"),
                ("pandas_to_sql", ("pandas", "sqlalchemy", "psycopg"), self.sample_rows(50_000, 1_000),
                 "pandas DataFrame.to_sql, defaults")):
            self.create_pg_table(name)
            self.python_contender(name, label, "postgres", {"contender": name, "url": url, "schema": name},
                                  needs=needs, sample=sample, verify=self.pg_stats(name))
            self.drop(name)

    # -- Snowflake emulator ---------------------------------------------------------------------------

    def duck_stats(self, database: Path, table: str = TABLE) -> Callable[[], dict[str, Any]]:
        def read() -> dict[str, Any]:
            import duckdb

            with duckdb.connect(str(database), read_only=True) as con:
                found = con.execute("SELECT table_catalog, table_schema, table_name FROM information_schema.tables "
                                    "WHERE lower(table_name) = ?", [table]).fetchall()
                if len(found) != 1:
                    raise RuntimeError(f"expected one table {table}, found {found}")
                relation = ".".join('"' + part + '"' for part in found[0])
                return ds.duckdb_stats(con, relation)
        return read

    def snowflake_contenders(self) -> None:
        folder = self.work / "fakesnow_apply"
        folder.mkdir(exist_ok=True)
        manifest = manifests.load_manifest(folder, "ml_snow", self.s3_prefix,
                                           f"s3://{services.BUCKET}/stage/ml_snow", True)
        db = folder / "db"
        env = self.env(DW_SIMULATOR_SNOWFLAKE_URL=f"fakesnow://{db}", MANIFEST_LOADER_STATE_DIR=str(folder / "state"))
        argv = [*self.cli, "apply", str(manifest), "--target-warehouse", "snowflake", "--progress", "none"]
        result = Result("ml_fakesnow", "manifest-loader apply --target-warehouse snowflake, checks on (S3 stage)",
                        "snowflake")
        def reset() -> None:
            shutil.rmtree(db, ignore_errors=True)
            shutil.rmtree(folder / "state", ignore_errors=True)
            services.delete_prefix(self.svc.s3_endpoint, "stage/ml_snow/")

        measured = self.run(result, argv, env, cwd=folder, expect="Loaded", reset=reset)
        self.finish(result, self.data.rows if measured else 0, self.duck_stats(db / "MANIFEST_LOADER.db"))
        shutil.rmtree(db, ignore_errors=True)
        services.delete_prefix(self.svc.s3_endpoint, "stage/ml_snow/")

        duck = self.work / "duckdb.db"
        self.python_contender("duckdb_ctas", "DuckDB CREATE TABLE AS SELECT * FROM read_parquet (raw limit)",
                              "snowflake", {"contender": "duckdb_ctas", "database": str(duck)},
                              verify=self.duck_stats(duck), reset=lambda: duck.unlink(missing_ok=True))
        duck.unlink(missing_ok=True)

        snow = self.work / "write_pandas"
        snow.mkdir(exist_ok=True)
        ddl = (f"CREATE TABLE IF NOT EXISTS {TABLE} (id NUMBER(19,0) NOT NULL, qty NUMBER(10,0), score FLOAT, "
               f"amount NUMBER(18,2), code VARCHAR({ds.CODE_BYTES}), note VARCHAR({ds.NOTE_BYTES}), active BOOLEAN, "
               "day DATE, event_at TIMESTAMP_NTZ, created_at TIMESTAMP_TZ)")
        self.python_contender("fakesnow_write_pandas", "fakesnow write_pandas, one DataFrame per file", "snowflake",
                              {"contender": "fakesnow_write_pandas", "db_path": str(snow), "database": "BENCH",
                               "schema": "bench", "ddl": ddl},
                              needs=("pandas", "fakesnow"), verify=self.duck_stats(snow / "BENCH.db"))
        shutil.rmtree(snow, ignore_errors=True)

    # -- plan and start-up -------------------------------------------------------------------------

    def startup_contenders(self) -> None:
        folder = self.work / "wide"
        tables = 20 if self.args.quick else 200
        manifest = manifests.wide_manifest(folder, tables)
        env = self.env(MANIFEST_LOADER_STATE_DIR=str(folder / "state"))
        for name, argv, label in (
                ("validate_wide", [*self.cli, "validate", str(manifest)], f"manifest-loader validate, {tables} tables"),
                ("plan_wide", [*self.cli, "plan", str(manifest)], f"manifest-loader plan, {tables} tables"),
                ("help", [*self.cli, "--help"], "manifest-loader --help")):
            self.run_median(Result(name, label, "startup"), argv, env, folder)

    def run_median(self, result: Result, argv: list[str], env: dict[str, str], cwd: Path,
                   expect: str | None = None) -> None:
        """A short command timed several times (once with --quick): the median counts."""
        for _ in range(1 if self.args.quick else 5):
            if self.run(result, argv, env, cwd=cwd, expect=expect) is None:
                break
            result.repeats.append(result.seconds or 0.0)
        if result.repeats:
            result.seconds = sorted(result.repeats)[len(result.repeats) // 2]
            result.notes = f"median of {len(result.repeats)} runs"
        self.results.append(result)


def _cli() -> list[str]:
    """The console script users run, else the module (same code)."""
    script = Path(sys.executable).parent / "manifest-loader"
    if script.exists():
        return [str(script)]
    found = shutil.which("manifest-loader")
    return [found] if found else [sys.executable, "-m", "manifest_loader.cli"]


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(next(ln for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal"))
                  .split()[1])
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration):
        pass
    versions = {}
    for package in ("manifest-loader", "pyarrow", "pgpq", "adbc-driver-postgresql", "duckdb", "fakesnow", "dlt",
                    "pandas", "sqlalchemy", "psycopg", "moto", "boto3"):
        try:
            from importlib.metadata import version

            versions[package] = version(package)
        except Exception:
            versions[package] = "not installed"
    return {"cpu": cpu, "cores": os.cpu_count(), "memory": memory, "os": platform.platform(),
            "python": platform.python_version(), "packages": versions}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the dataset (default 1000000)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny samples and a 20-table manifest: checks the harness in seconds (CI)")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA,
                        help="where the dataset is generated and cached (default benchmarks/.data)")
    parser.add_argument("--out", type=Path, help="results JSON (default benchmarks/results/rows-N.json; "
                                                 "--quick: under the data dir)")
    parser.add_argument("--docs", action="store_true", help="rewrite the result tables in docs/benchmarks.md")
    parser.add_argument("--pg-url", help="use this PostgreSQL server (superuser URL) instead of a fresh cluster")
    parser.add_argument("--only", help="comma-separated groups to run: postgres,snowflake,startup")
    parser.add_argument("--repeat", type=int, help="runs of each full-dataset contender; the fastest counts "
                                                   "(default 2, --quick 1)")
    parser.add_argument("--contenders", help="comma-separated contenders to run within those groups "
                                                 "(e.g. ml_checks,ml_local,adbc for an A/B of the load path)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds any one contender may take")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.repeat = args.repeat or (1 if args.quick else 2)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)   # moto's request log
    groups = set((args.only or "postgres,snowflake,startup").split(","))
    started = dt.datetime.now(dt.UTC)
    print(f"[bench] dataset of {args.rows} rows under {args.data_dir}", flush=True)
    data = ds.generate(args.data_dir, args.rows)
    # As installed (pip compiles a wheel's modules when it installs them): a checkout run under
    # PYTHONDONTWRITEBYTECODE=1 would otherwise compile every loader module in every timed process.
    compileall.compile_dir(ROOT / "manifest_loader", quiet=1)
    with tempfile.TemporaryDirectory(prefix="bench-", dir=args.data_dir) as tmp, services.start(args.pg_url) as svc:
        work = Path(tmp)
        print(f"[bench] PostgreSQL {svc.pg_version.split(' on ')[0]}, S3 at {svc.s3_endpoint}", flush=True)
        services.upload(svc.s3_endpoint, list(data.files), f"data/rows-{data.rows}")
        bench = Bench(args, svc, data, work)
        if "postgres" in groups:
            bench.apply_contenders()
            bench.postgres_contenders()
        if "snowflake" in groups:
            bench.snowflake_contenders()
        if "startup" in groups:
            bench.startup_contenders()
        pg_version = svc.pg_version
    command = "python -m benchmarks.load " + " ".join(argv if argv is not None else sys.argv[1:])
    payload = {
        "rows": data.rows, "files": len(data.files), "parquet_bytes": data.parquet_bytes,
        "row_group_rows": ds.ROW_GROUP_ROWS, "quick": args.quick, "command": command.strip(),
        "started": started.isoformat(timespec="seconds"),
        "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {**machine(), "postgresql": pg_version.split(" on ")[0], "rss": runner.rss_method()},
        "results": [asdict(r) for r in bench.results],
    }
    payload["targets"] = report.targets(payload)
    out = args.out or (args.data_dir / f"quick-rows-{args.rows}.json" if args.quick
                       else RESULTS / f"rows-{args.rows}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=1) + "\n")
    print(report.markdown_run(payload))
    print(f"[bench] results written to {out}", flush=True)
    if args.docs:
        report.write_docs(RESULTS, ROOT / "docs" / "benchmarks.md")
        print("[bench] docs/benchmarks.md updated", flush=True)
    # The loader itself must load and keep every value; what other tools do is a finding, not a failure.
    ours = [r for r in bench.results if r.name.startswith("ml_") or r.group == "startup"]
    return 1 if any(r.error or r.content in ("failed", "altered") for r in ours) else 0


if __name__ == "__main__":
    sys.exit(main())
