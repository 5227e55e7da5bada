"""The benchmark harness runs end to end on a tiny dataset, so it cannot rot.

Speed is not asserted here (benchmarks are a documented command, docs/benchmarks.md, never a
timed test); what is asserted: every contender ran or said why not, manifest-loader's loads
kept every value, and the JSON and markdown come out.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OURS = ("ml_checks", "ml_local", "ml_nochecks", "ml_fakesnow")
ALWAYS = ("adbc", "adbc_s3", "executemany", "duckdb_ctas")   # need nothing beyond the test extra
OPTIONAL = ("dlt_parquet", "dlt_default", "pandas_to_sql", "fakesnow_write_pandas")   # the bench extra


def test_quick_benchmark_run(pg_url: str, tmp_path: Path) -> None:
    out = tmp_path / "quick.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DW_SIMULATOR_", "MANIFEST_LOADER_"))}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.load", "--rows", "20000", "--quick", "--pg-url", pg_url,
         "--data-dir", str(tmp_path / "data"), "--out", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    payload = json.loads(out.read_text())
    results = {r["name"]: r for r in payload["results"]}

    for name in (*OURS, *ALWAYS):
        assert results[name]["error"] is None, results[name]
        assert results[name]["content"] == "exact", results[name]
        assert results[name]["rows_per_s"] and results[name]["rss_mb"], results[name]
    if shutil.which("psql"):
        assert results["psql"]["content"] == "exact", results["psql"]
    for name in OPTIONAL:
        result = results[name]
        # Another tool may alter values (that is a finding), or not be installed; it must say which.
        assert result["content"] in ("exact", "altered") or "not installed" in (result["error"] or ""), result
    for name in ("executemany", "dlt_default", "pandas_to_sql"):
        assert results[name]["sample"] is True
    assert results["ml_reapply"]["error"] is None, results["ml_reapply"]
    for name in ("validate_wide", "plan_wide", "help"):
        assert results[name]["error"] is None and results[name]["seconds"] > 0, results[name]

    targets = {t["target"]: t for t in payload["targets"]}
    assert any(t.startswith("apply (checks on) ≥ 1.0x raw ADBC") for t in targets)
    assert any(t.startswith("apply (checks on) from the same local Parquet") for t in targets)
    assert any(t.startswith("apply (checks on) from S3 ≥ 1.0x raw ADBC reading the same S3") for t in targets)
    assert targets["every contender's table checked by content"]["met"] in (True, False)
    assert f"### {20000:,} rows" in done.stdout            # the markdown report
    assert payload["machine"]["cores"] and payload["command"].startswith("python -m benchmarks.load")


def test_quick_query_benchmark_run(pg_url: str, tmp_path: Path) -> None:
    """TPC-H's 22 queries and the experiment's at scale factor 0.01 (the smallest whose TPC-H keys are
    unique): every answer on both emulators equals DuckDB's."""
    out = tmp_path / "queries.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DW_SIMULATOR_", "MANIFEST_LOADER_"))}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.query", "--quick", "--pg-url", pg_url, "--data-dir", str(tmp_path / "data"),
         "--out", str(out)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    payload = json.loads(out.read_text())
    suites = {s["suite"]: s for s in payload["suites"]}
    assert set(suites) == {"tpch", "experiment"} and len(suites["tpch"]["queries"]) == 22
    for suite in suites.values():
        assert all(load["error"] is None for load in suite["loads"].values()), suite["loads"]
        for query in suite["queries"]:
            engines = query["engines"]
            assert engines["duckdb"]["status"] == "reference", query
            assert engines["redshift"]["status"] == "equal" and engines["snowflake"]["status"] == "equal", query
            assert engines["sqlite"]["status"] in ("equal", "timeout"), query
    q17 = next(q for q in suites["tpch"]["queries"] if q["query"] == "q17")
    assert any("correlated subquery" in note for note in q17["engines"]["redshift"]["notes"])
    assert "#### tpch, scale factor 0.01" in done.stdout and payload["targets"]
    # The Redshift emulator's planner settings are part of the report.
    assert all(suite["query_settings"]["redshift"]["enable_nestloop"] == "off" for suite in suites.values())
    assert "planned each query with `enable_nestloop = 'off'`" in done.stdout


def test_docs_are_rewritten_between_markers(tmp_path: Path) -> None:
    from benchmarks import report

    results = tmp_path / "results"
    results.mkdir()
    payload = {"rows": 1000, "files": 1, "parquet_bytes": 10, "row_group_rows": 131072, "quick": False,
               "command": "python -m benchmarks.load --rows 1000", "started": "2026-01-01T00:00:00+00:00",
               "machine": {"cpu": "cpu", "cores": 2, "memory": "1 GiB", "os": "os", "python": "3.11",
                           "postgresql": "PostgreSQL 15", "rss": "GNU time %M", "packages": {}},
               "results": [{"name": "ml_checks", "label": "apply", "group": "postgres", "rows": 1000, "seconds": 1.0,
                            "rss_mb": 100.0, "rows_per_s": 1000, "mb_per_s": 0.1, "content": "exact",
                            "problems": [], "error": None}]}
    payload["targets"] = report.targets(payload)
    (results / "rows-1000.json").write_text(json.dumps(payload))
    docs = tmp_path / "benchmarks.md"
    docs.write_text(f"# Benchmarks\n\nprose\n\n{report.START}\nold\n{report.END}\n\nmore prose\n")
    report.write_docs(results, docs)
    text = docs.read_text()
    assert "prose" in text and "more prose" in text and "old" not in text
    assert "### 1,000 rows" in text and "| apply |" in text
