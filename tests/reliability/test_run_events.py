"""Per-run events: with two loads at once in one process (as under `serve`), the S3 retries of
one reach that run's progress only. One run's stage sits behind faults, the other's does not."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from faultproxy import FaultProxy

from manifest_loader.commands import apply
from manifest_loader.progress import Progress

FILES, ROWS = 6, 300


class Recorded(Progress):
    """Every event of one run, as its progress receives them."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Lock()

    def event(self, kind: str, **fields: Any) -> None:
        with self.lock:
            self.events.append((kind, fields))
        super().event(kind, **fields)

    def of(self, kind: str) -> list[dict[str, Any]]:
        with self.lock:
            return [fields for k, fields in self.events if k == kind]


def _workspace(root: Path, name: str, stage: str) -> Path:
    folder = root / name
    for f in range(FILES):
        path = folder / "data" / f"part-{f}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        ids = range(1 + f * ROWS, 1 + (f + 1) * ROWS)
        pq.write_table(pa.table({"id": pa.array(ids, pa.int64()), "label": [f"{name} {i}" for i in ids]}), path)
    manifest = folder / f"{name}.yaml"
    manifest.write_text(f"version: 1\nname: {name}\ntarget: {{warehouse: redshift, schema: {name}}}\n"
                        f"stage: {{url: '{stage}'}}\ntables:\n  - name: facts\n    source: data/\n"
                        "    primary_key: [id]\n", encoding="utf-8")
    return manifest


def test_two_loads_at_once_each_hear_only_their_own_retries(s3_env: str, pg_database: str, tmp_path: Path,
                                                            monkeypatch: Any) -> None:
    tag = uuid.uuid4().hex[:8]
    stages = {"faulty": f"s3://local/events-faulty-{tag}", "calm": f"s3://local/events-calm-{tag}"}
    manifests = {name: _workspace(tmp_path, f"{name}_{tag}", stage) for name, stage in stages.items()}
    env = {"DW_SIMULATOR_REDSHIFT_URL": pg_database, "MANIFEST_LOADER_STATE_DIR": str(tmp_path / "state")}
    # At most two faults in a row per request, within botocore's five attempts: what is tested is
    # where retries are reported, not whether five faults in a row exhaust them.
    with FaultProxy(s3_env, rate=0.3, kinds=("500", "503"), seed=5, streak_limit=2) as proxy:
        proxy.configure(only=lambda request: f"events-faulty-{tag}" in request.path)
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.endpoint_url)
        progress = {name: Recorded() for name in manifests}
        errors: dict[str, BaseException] = {}

        def load(name: str) -> None:
            try:
                apply(manifests[name], "redshift", progress=progress[name], env=env, lock_timeout=60)
            except BaseException as exc:  # reported below, with the run's events
                errors[name] = exc

        threads = [threading.Thread(target=load, args=(name,)) for name in manifests]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=240)
        faults = proxy.faults
    assert errors == {}
    assert faults >= 3, "the faulty stage saw too few faults to tell the runs apart"
    faulty, calm = progress["faulty"].of("retry"), progress["calm"].of("retry")
    assert faulty, progress["faulty"].events
    assert calm == [], calm            # the other run's retries never reach this one
    assert all(f"events-faulty-{tag}" in retry["what"] for retry in faulty), faulty   # each names its request
    for name, recorded in progress.items():
        done = recorded.of("table_done")
        assert [(d["table"], d["rows"]) for d in done] == [("facts", FILES * ROWS)], (name, recorded.events)
        assert len(recorded.of("run_started")) == 1


def test_the_fault_proxy_faults_one_request_at_most_streak_limit_times_in_a_row() -> None:
    from faultproxy import Request

    proxy = FaultProxy("http://127.0.0.1:9", rate=1.0, kinds=("503",), streak_limit=2)
    head = Request("HEAD", "/bucket/a.parquet", {})
    other = Request("GET", "/bucket/a.parquet", {})
    assert [proxy._choose(head) for _ in range(6)] == ["503", "503", None, "503", "503", None]
    assert proxy._choose(other) == "503"      # streaks are counted per method and path
    unlimited = FaultProxy("http://127.0.0.1:9", rate=1.0, kinds=("503",))
    assert [unlimited._choose(head) for _ in range(6)] == ["503"] * 6
