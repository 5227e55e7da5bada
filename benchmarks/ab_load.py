"""A/B of the load path: raw ADBC and `apply` of two checkouts, alternating, on one server.

    python -m benchmarks.ab_load --rows 1000000 --data-dir /work/main/benchmarks/.data \\
        --checkout main=/work/main --checkout branch=. --rounds 3

The shared machine's speed drifts by a third within an hour (docs/benchmarks.md), so a change
to the load path is judged by running the contenders in turn, several rounds, and comparing
each with the raw ADBC run next to it. Each round runs raw ADBC (with --s3, also raw ADBC
reading the same objects from moto: `adbc_s3`), then `apply` (checks on) of every checkout from
the local Parquet through a file:// stage and, with --s3, from the S3 source through an S3 stage
on moto. Prints one line per run and the medians; nothing is written to the results or the docs.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import dataset as ds
from benchmarks import manifests, runner, services
from benchmarks.load import DEFAULT_DATA, TABLE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ab_load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--checkout", action="append", default=[], metavar="NAME=PATH",
                        help="a checkout whose manifest_loader is timed (repeatable; default: this one)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--s3", action="store_true", help="also apply from S3 through an S3 stage on moto")
    parser.add_argument("--pgpq", action="store_true",
                        help="also raw pgpq: raw ADBC's batches through another COPY encoder (psycopg's COPY)")
    parser.add_argument("--pg-url", help="use this PostgreSQL server (superuser URL) instead of a fresh cluster")
    parser.add_argument("--wrap", default="", help="a command line that runs each apply, e.g. "
                                                   "'py-spy record --native -o apply.svg --' (profiles it)")
    args = parser.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)   # moto's request log
    checkouts = dict(item.split("=", 1) for item in args.checkout) or {"this": str(services.ROOT)}
    data = ds.generate(args.data_dir, args.rows)
    times: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="ab-", dir=args.data_dir) as tmp, services.start(args.pg_url) as svc:
        work = Path(tmp)
        if args.s3:
            services.upload(svc.s3_endpoint, list(data.files), f"data/rows-{data.rows}")
        local_source = str(data.files[0].parent / "*.parquet")
        columns = ", ".join(f"{name} {sql}" for name, sql in ds.PG_TYPES.items())

        def pg(sql: str) -> None:
            import psycopg

            with psycopg.connect(svc.pg_url, autocommit=True) as conn:
                conn.execute(sql)

        def timed(name: str, argv: list[str], env: dict[str, str], cwd: Path) -> None:
            before = services.server_cpu_seconds(svc.postmaster_pid)
            own = resource.getrusage(resource.RUSAGE_SELF)   # moto serves S3 from this process
            measured = runner.measure(argv, env=env, cwd=cwd, timeout=3600)
            own_after = resource.getrusage(resource.RUSAGE_SELF)
            s3_cpu = own_after.ru_utime - own.ru_utime + own_after.ru_stime - own.ru_stime
            if before is not None:
                time.sleep(0.5)   # the postmaster adds a backend's CPU once it reaps it
            after = services.server_cpu_seconds(svc.postmaster_pid)
            cpu = f"{after - before:.1f}" if before is not None and after is not None else "?"
            if measured.returncode != 0:
                raise SystemExit(f"{name} failed: {measured.stderr[-2000:]}")
            times.setdefault(name, []).append(measured.seconds)
            print(f"{name:24s} {measured.seconds:7.2f} s  RSS {measured.rss_mb or 0:4.0f} MB  "
                  f"CPU {measured.cpu_seconds or 0:.1f} s  server CPU {cpu} s  S3 (moto) CPU {s3_cpu:.1f} s  "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)

        base_env = {k: v for k, v in os.environ.items() if not k.startswith(("DW_SIMULATOR_", "MANIFEST_LOADER_"))}
        base_env.update(svc.aws_env())
        # adbc_s3 reads the same objects the S3 apply loads: the like-for-like baseline from S3.
        objects = [f"{services.BUCKET}/data/rows-{data.rows}/{f.name}" for f in data.files]

        def raw(contender: str) -> None:
            """A contender of benchmarks/contenders.py into a fresh table of its own schema."""
            pg(f"DROP SCHEMA IF EXISTS {contender} CASCADE")
            pg(f"CREATE SCHEMA {contender}")
            pg(f"CREATE TABLE {contender}.{TABLE} ({columns})")
            pg("CHECKPOINT")
            config = {"files": [str(f) for f in data.files], "table": TABLE, "url": svc.pg_url,
                      "schema": contender, "objects": objects}
            timed(contender, [sys.executable, "-m", "benchmarks.contenders", contender, json.dumps(config)],
                  {**base_env, "PYTHONPATH": str(services.ROOT)}, services.ROOT)
            pg(f"DROP SCHEMA {contender} CASCADE")

        for _ in range(args.rounds):
            for contender in ("adbc", *(["pgpq"] if args.pgpq else []), *(["adbc_s3"] if args.s3 else [])):
                raw(contender)
            for label, root in checkouts.items():
                for where in ("local", "s3") if args.s3 else ("local",):
                    name = f"ab_{label}_{where}".replace("-", "_")
                    folder = work / name
                    shutil.rmtree(folder, ignore_errors=True)
                    folder.mkdir()
                    source = local_source if where == "local" else f"s3://{services.BUCKET}/data/rows-{data.rows}/"
                    stage = (folder / "stage").as_uri() if where == "local" else f"s3://{services.BUCKET}/stage/{name}"
                    manifest = manifests.load_manifest(folder, name, source, stage, True)
                    env = {**base_env, "PYTHONPATH": str(Path(root).resolve()),
                           "DW_SIMULATOR_REDSHIFT_URL": svc.pg_url, "MANIFEST_LOADER_STATE_DIR": str(folder / "state")}
                    pg("CHECKPOINT")
                    argv = [*shlex.split(args.wrap), sys.executable, "-m", "manifest_loader.cli", "apply",
                            str(manifest), "--progress", "none"]
                    timed(f"{label} {where}", argv, env, folder)
                    pg(f"DROP SCHEMA IF EXISTS {name} CASCADE")
                    if where == "s3":
                        services.delete_prefix(svc.s3_endpoint, f"stage/{name}/")
                    shutil.rmtree(folder, ignore_errors=True)
    print("\nmedian seconds (and raw ADBC / it):")
    base = statistics.median(times["adbc"])
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:24s} {median:7.2f} s  {base / median:.2f}x   runs: {', '.join(f'{v:.2f}' for v in values)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
