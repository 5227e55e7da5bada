"""Staging throughput against moto: MB/s of uploads as the number of parallel uploads grows.

    python -m benchmarks.staging                     # 16 files of 16 MB, 1/2/4/8 uploads at a time
    python -m benchmarks.staging --files 8 --mb 4    # smaller

Uploads go through the loader's own staging (`manifest_loader.stage.stage_plan`, the same
TransferConfig and thread pool) with its thread count patched, to a moto server running in its
own process (moto is Python: its one process is the ceiling measured here, not S3's). The
numbers feed the "Scaling" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks import services

ROOT = services.ROOT


@contextlib.contextmanager
def moto_process() -> Iterator[str]:
    """A moto S3 server in its own process (so the uploading process does not share its GIL)."""
    tests = services.test_services()
    port = tests.find_free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        import urllib.request

        for _ in range(200):
            with contextlib.suppress(OSError):
                urllib.request.urlopen(endpoint, timeout=1)   # noqa: S310 - our own local server
                break
            time.sleep(0.1)
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=30)


def plan_for(files: list[Path], stage: str) -> Any:
    """A minimal plan whose only content is the files to stage (what stage_plan reads)."""
    from types import SimpleNamespace

    from manifest_loader.plan import StagedFile

    staged = []
    for i, path in enumerate(files):
        source = SimpleNamespace(local_path=path, uri=path.as_uri(), size=path.stat().st_size, display=str(path),
                                 digest=f"{i:064x}")
        uri = f"{stage}/bench/{path.name}"
        staged.append(StagedFile(source, uri, uri))   # type: ignore[arg-type]
    table = SimpleNamespace(name="bench", files=tuple(staged), mode="replace")
    return SimpleNamespace(tables=(table,), stage=stage, warehouse="redshift", dialect="redshift",
                           steps=(), manifest_name="bench")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.staging", description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=16)
    parser.add_argument("--mb", type=int, default=16, help="size of each file in MB (random, incompressible)")
    parser.add_argument("--threads", default="1,2,4,8")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "staging.json")
    parser.add_argument("--docs", action="store_true", help="write the table into docs/benchmarks.md")
    args = parser.parse_args(argv)
    from manifest_loader import stage
    from manifest_loader.progress import Progress

    results = []
    with tempfile.TemporaryDirectory(prefix="ml-staging-") as tmp, moto_process() as endpoint:
        os.environ.update({**services.AWS_ENV, "AWS_ENDPOINT_URL": endpoint})
        client = services._client(endpoint)
        client.create_bucket(Bucket=services.BUCKET)
        files = []
        for i in range(args.files):
            path = Path(tmp) / f"part-{i:03d}.parquet"
            path.write_bytes(os.urandom(args.mb * 1_000_000))
            files.append(path)
        total_mb = args.files * args.mb
        for threads in (int(t) for t in args.threads.split(",")):
            stage.STAGE_THREADS = threads
            prefix = f"s3://{services.BUCKET}/t{threads}"
            started = time.perf_counter()
            stage.stage_plan(plan_for(files, prefix), Progress())
            seconds = time.perf_counter() - started
            results.append({"threads": threads, "seconds": round(seconds, 2), "mb": total_mb,
                            "mb_per_s": round(total_mb / seconds, 1)})
            print(f"{threads} upload(s) at a time: {total_mb} MB in {seconds:.2f} s = {total_mb / seconds:.1f} MB/s",
                  flush=True)
            services.delete_prefix(endpoint, f"t{threads}/")
    payload = {"command": "python -m benchmarks.staging " + " ".join(argv if argv is not None else sys.argv[1:]),
               "files": args.files, "mb_per_file": args.mb, "cores": os.cpu_count(),
               "load_average": os.getloadavg()[0], "results": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2) + "\n")
    if args.docs:
        write_docs(payload, ROOT / "docs" / "benchmarks.md")
    return 0


START, END = "<!-- staging-results:start -->", "<!-- staging-results:end -->"


def markdown(payload: dict[str, Any]) -> str:
    lines = ["| uploads at a time | seconds | MB/s |", "| ---: | ---: | ---: |"]
    lines += [f"| {r['threads']} | {r['seconds']:.2f} | {r['mb_per_s']:.1f} |" for r in payload["results"]]
    lines += ["", f"{payload['files']} files of {payload['mb_per_file']} MB on {payload['cores']} cores, 1-minute load "
              f"average {payload['load_average']:.1f} at the end (`{payload['command'].strip()}`)."]
    return "\n".join(lines) + "\n"


def write_docs(payload: dict[str, Any], docs: Path) -> None:
    text = docs.read_text()
    head, rest = text.split(START, 1)
    docs.write_text(head + START + "\n" + markdown(payload) + END + rest.split(END, 1)[1])


if __name__ == "__main__":
    sys.exit(main())
