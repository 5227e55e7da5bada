"""S3 faults between the loader and the stage: a proxy on 127.0.0.1 in front of moto's server.

With 10% of requests faulted (500 InternalError, 503 SlowDown, connection resets, stalls, bodies
cut short) stage and apply still succeed, the tables hold exactly their files' rows once, and
the retries show in the progress log. With every request faulted, apply fails with a message
that names the object and says S3 kept failing, exits 1, and loads nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result
from faultproxy import FaultProxy, Request
from relkit import Emulator

from manifest_loader.cli import main
from manifest_loader.runs import RunStore, metadata_url

FILES = 8          # per table: enough requests that 10% means a dozen faults
ROWS = 400         # per file

MANIFEST = """\
version: 1
name: faults
target: {warehouse: redshift, schema: faults}
tables:
  - name: facts
    source: data/facts/
    primary_key: [id]
  - name: items
    source: data/items/
    mode: append
    primary_key: [id]
"""


def write_dataset(folder: Path, version: int = 0) -> dict[str, tuple[int, int]]:
    """Two tables of FILES files each; returns each table's (rows, sum of id)."""
    expected = {}
    for t, table in enumerate(("facts", "items")):
        ids: list[int] = []
        for f in range(FILES):
            start = 1 + (version * 10 + t) * 1_000_000 + f * ROWS
            part = list(range(start, start + ROWS))
            ids += part
            path = folder / "data" / table / f"part-{version}-{f}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(pa.table({"id": pa.array(part, pa.int64()),
                                     "label": pa.array([f"{table} row {i} ✓" for i in part])}), path)
        expected[table] = (len(ids), sum(ids))
    return expected


@pytest.fixture
def faulty_s3(s3_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultProxy]:
    """A proxy in front of the session's moto server; the loader (boto3 and pyarrow) talks to it."""
    with FaultProxy(s3_env, rate=0.0, seed=11, stall_seconds=0.3) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.endpoint_url)
        monkeypatch.setenv("DW_SIMULATOR_STAGE_BUCKET", f"s3://local/faults-{uuid.uuid4().hex[:8]}")
        monkeypatch.setenv("MANIFEST_LOADER_STATE_DIR", str(tmp_path / "state"))
        for name in ("DW_SIMULATOR_SNOWFLAKE_URL", "DW_SIMULATOR_TARGET_DB_URL"):
            monkeypatch.delenv(name, raising=False)
        yield proxy


@pytest.fixture(params=["redshift", "snowflake"])
def emulator(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
             faulty_s3: FaultProxy) -> Emulator:
    pg_url = request.getfixturevalue("pg_database") if request.param == "redshift" else None
    if pg_url:
        monkeypatch.setenv("DW_SIMULATOR_REDSHIFT_URL", pg_url)
    return Emulator(request.param, tmp_path / "state", pg_url)


def _manifest(tmp_path: Path) -> Path:
    manifest = tmp_path / "load" / "faults.yaml"
    manifest.parent.mkdir()
    manifest.write_text(MANIFEST)
    return manifest


def _apply(manifest: Path, warehouse: str) -> Result:
    return CliRunner().invoke(main, ["apply", str(manifest), "--target-warehouse", warehouse, "--progress", "log"])


def _contents(emulator: Emulator) -> dict[str, tuple[int, int]]:
    """(rows, sum of id) per table, and the check that no id is there twice."""
    out = {}
    for table in ("facts", "items"):
        if f"faults.{table}" not in emulator.snapshot():
            continue
        (n, distinct, total), = emulator.rows(f"SELECT count(*), count(DISTINCT id), coalesce(sum(id), 0) "
                                              f"FROM faults.{table}")
        assert n == distinct, f"{table}: {n - distinct} duplicated rows"
        out[table] = (int(n), int(total))
    return out


def _ledger_is_unique(emulator: Emulator) -> None:
    (entries, distinct), = emulator.rows("SELECT count(*), count(DISTINCT table_name || content_hash) "
                                         "FROM faults._manifest_loader_ledger")
    assert entries == distinct


def test_ten_percent_faults_still_load_exactly_once(emulator: Emulator, faulty_s3: FaultProxy,
                                                    tmp_path: Path) -> None:
    manifest = _manifest(tmp_path)
    first = write_dataset(manifest.parent, 0)
    faulty_s3.configure(rate=0.10)
    result = _apply(manifest, emulator.warehouse)
    assert result.exit_code == 0, result.output
    assert _contents(emulator) == first
    # A second version: replace reloads facts, append adds only the new items files.
    second = write_dataset(manifest.parent, 1)
    for stale in (manifest.parent / "data" / "facts").glob("part-0-*.parquet"):
        stale.unlink()
    again = _apply(manifest, emulator.warehouse)
    assert again.exit_code == 0, again.output
    items = (first["items"][0] + second["items"][0], first["items"][1] + second["items"][1])
    assert _contents(emulator) == {"facts": second["facts"], "items": items}
    _ledger_is_unique(emulator)
    output = result.output + again.output
    print(f"{emulator.warehouse}: {dict(faulty_s3.counts)}")
    assert faulty_s3.faults >= 8, dict(faulty_s3.counts)
    assert {"500", "503", "reset", "truncate"} & set(faulty_s3.counts)
    assert "retrying an S3 request" in output       # the retries are logged
    runs = RunStore(metadata_url(emulator.state)).list()
    assert [r["status"] for r in runs] == ["succeeded", "succeeded"]


def test_faults_beyond_the_retry_budget_while_staging(faulty_s3: FaultProxy, tmp_path: Path,
                                                      pg_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DW_SIMULATOR_REDSHIFT_URL", pg_database)
    emulator = Emulator("redshift", tmp_path / "state", pg_database)
    manifest = _manifest(tmp_path)
    write_dataset(manifest.parent, 0)
    faulty_s3.configure(rate=1.0, kinds=("503",))
    result = _apply(manifest, "redshift")
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.startswith(("error:", "  hint:"))]
    assert lines[0].startswith("error: S3 failed to check s3://local/faults-"), result.output
    assert lines[0].endswith(": 503: Service Unavailable"), result.output
    assert lines[1] == "  hint: S3 kept failing after retries: check the endpoint (AWS_ENDPOINT_URL) and apply again"
    assert result.output.count("retrying an S3 request") >= 4
    assert "Traceback" not in result.output
    assert emulator.snapshot() == {} and emulator.schemas() == set()     # nothing loaded, nothing created
    (run,) = RunStore(metadata_url(emulator.state)).list()
    assert run["status"] == "failed" and "503" in run["error"]


def test_faults_beyond_the_retry_budget_while_loading_roll_back(emulator: Emulator, faulty_s3: FaultProxy,
                                                                  tmp_path: Path) -> None:
    """Staging went well; reading the staged objects fails for good: the transaction rolls back."""
    manifest = _manifest(tmp_path)
    first = write_dataset(manifest.parent, 0)
    assert _apply(manifest, emulator.warehouse).exit_code == 0
    second = write_dataset(manifest.parent, 1)
    # The Redshift emulator streams staged objects with ranged GETs (pyarrow); the Snowflake
    # emulator downloads them to its local mirror (boto3). Everything else still works.
    faulty_s3.configure(rate=1.0, kinds=("reset",), only=lambda r: r.method == "GET" and "list-type" not in r.path)
    result = _apply(manifest, emulator.warehouse)
    faulty_s3.configure(rate=0.0)
    assert result.exit_code == 1, result.output
    error = next(line for line in result.output.splitlines() if line.startswith("error:"))
    if emulator.warehouse == "redshift":
        assert error.startswith("error: table facts: cannot read the staged object s3://local/faults-"), error
    else:
        assert error.startswith("error: S3 failed to download s3://local/faults-"), error
    assert "hint: S3 kept failing after retries" in result.output
    assert _contents(emulator) == first                     # the old load, untouched
    runs = RunStore(metadata_url(emulator.state)).list()
    assert runs[0]["status"] == "failed" and runs[0]["error"].startswith(error[len("error: "):])
    faulty_s3.configure(only=None)
    again = _apply(manifest, emulator.warehouse)
    assert again.exit_code == 0, again.output
    assert _contents(emulator) == {t: (first[t][0] + second[t][0], first[t][1] + second[t][1]) for t in first}
    _ledger_is_unique(emulator)


def test_a_staged_object_cut_short_is_read_on_from_where_it_stopped(pg_database: str, faulty_s3: FaultProxy,
                                                                     tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The Redshift emulator fetches a staged object as its tail (the footer), then the rest from the
    start, and reads row groups as they arrive: a body cut short is asked for again from the last
    whole chunk it kept (a ranged GET of the same version: If-Match), and the loaded rows are
    exactly the file's. (This proxy resets the connection after half the body, and the reset may
    discard what had arrived, so where the retry starts is not asserted beyond that.)"""
    monkeypatch.setenv("DW_SIMULATOR_REDSHIFT_URL", pg_database)
    manifest = tmp_path / "load" / "resume.yaml"
    (manifest.parent / "data").mkdir(parents=True)
    manifest.write_text("version: 1\nname: resume\ntarget: {warehouse: redshift, schema: resume}\n"
                        "tables:\n  - name: big\n    source: data/big.parquet\n")
    ids = list(range(1, 200_001))
    # ~5.5 MB in 8 row groups: much more than the 64 KB tail, so the body comes in a GET of its own,
    # and its first half holds whole 1 MB chunks that arrive before the cut.
    pq.write_table(pa.table({"id": pa.array(ids, pa.int64()), "label": [f"row {i} ✓" for i in ids]}),
                   manifest.parent / "data" / "big.parquet", row_group_size=25_000, compression="none")
    ranges: list[str] = []
    versions: list[str | None] = []

    def first_body_get(request: Request) -> bool:
        if request.method != "GET" or "range" not in request.headers:
            return False
        ranges.append(request.headers["range"])
        versions.append(request.headers.get("if-match"))
        return request.headers["range"].startswith("bytes=0-") and len(ranges) <= 2

    faulty_s3.configure(rate=1.0, kinds=("truncate",), only=first_body_get)
    result = _apply(manifest, "redshift")
    faulty_s3.configure(rate=0.0, only=None)
    assert result.exit_code == 0, result.output
    assert ranges[0] == "bytes=-65536" and ranges[1].startswith("bytes=0-"), ranges
    start, end = ranges[2].removeprefix("bytes=").split("-")
    assert int(start) % (1024 * 1024) == 0 and ranges[2].endswith(f"-{end}") and ranges[1].endswith(f"-{end}")
    assert len(ranges) == 3 and versions[0] is None and versions[1] and versions[2] == versions[1], versions
    assert "retrying an S3 request" in result.output
    emulator = Emulator("redshift", tmp_path / "state", pg_database)
    assert emulator.rows("SELECT count(*), sum(id), count(DISTINCT label) FROM resume.big") == [
        (200_000, sum(ids), 200_000)]


def test_a_footer_cut_short_is_asked_for_again_from_where_it_stopped(s3_env: str, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3

    from manifest_loader.sources import describe_source

    # A footer longer than the first 64 KB read (200 columns, 40 row groups): two ranged GETs.
    wide = tmp_path / "wide.parquet"
    pq.write_table(pa.table({f"c{i}": pa.array(range(400), pa.int64()) for i in range(200)}), wide,
                   row_group_size=10)
    size, key = wide.stat().st_size, f"footers-cut-{uuid.uuid4().hex[:8]}/wide.parquet"
    boto3.client("s3").upload_file(str(wide), "local", key)
    ranges: list[str] = []

    def footer_get(request: Request) -> bool:
        return request.method == "GET" and key in request.path

    def remember(request: Request) -> None:
        if footer_get(request):
            ranges.append(request.headers.get("range", ""))

    with FaultProxy(s3_env, rate=1.0, kinds=("truncate",), streak_limit=1, only=footer_get,
                    on_request=remember) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.endpoint_url)
        described = describe_source(f"s3://local/{key}", "wide.parquet")
    assert described.rows == 400 and len(described.schema.columns) == 200
    assert proxy.counts["truncate"] == 2, proxy.log    # both GETs' bodies were cut in half, once
    first, again, footer, rest = ranges
    assert first == f"bytes=-{64 * 1024}" and footer.startswith("bytes=-")
    # Each is asked for again from where its body stopped, to the object's end.
    for asked, resumed in ((first, again), (footer, rest)):
        start = size - int(asked.removeprefix("bytes=-"))
        resumed_from, resumed_to = map(int, resumed.removeprefix("bytes=").split("-"))
        assert start <= resumed_from < size and resumed_to == size - 1, (asked, resumed)
