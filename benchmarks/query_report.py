"""Targets and markdown for the query benchmark's results (the JSON benchmarks.query writes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

START, END = "<!-- query-results:start -->", "<!-- query-results:end -->"
EMULATORS = ("redshift", "snowflake")
COLUMNS = (("duckdb", "DuckDB over Parquet"), ("redshift", "Redshift emulator"),
           ("snowflake", "Snowflake emulator"), ("sqlite", "SQLite"))
SLOWEST_LIMIT_S = 10.0     # at scale factor 0.1
TOTAL_RATIO_LIMIT = 20.0   # emulator total / DuckDB total


def _good(measured: dict[str, Any]) -> bool:
    return measured.get("status") in ("equal", "reference")


def total(suite: dict[str, Any], engine: str) -> float | None:
    """Seconds over every query of the suite; None unless every one of them answered correctly."""
    runs = [q["engines"].get(engine, {}) for q in suite["queries"]]
    if not runs or not all(_good(r) for r in runs):
        return None
    return round(sum(r["seconds"] for r in runs), 3)


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 1) if a is not None and b else None


def targets(payload: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for suite in payload["suites"]:
        label = f"{suite['suite']} SF {suite['sf']:g}"
        queries = suite["queries"]
        for engine in EMULATORS:
            answered = sum(1 for q in queries if q["engines"].get(engine, {}).get("status") == "equal")
            found.append({"target": f"{label}: every query answers on the {engine} emulator, equal to DuckDB's",
                          "value": f"{answered}/{len(queries)}", "met": answered == len(queries), "note": ""})
            times = [q["engines"][engine]["seconds"] for q in queries
                     if q["engines"].get(engine, {}).get("seconds") is not None]
            slowest = max(times) if times else None
            worst = max(queries, key=lambda q: q["engines"].get(engine, {}).get("seconds") or 0)["query"]
            found.append({"target": f"{label}: no {engine} emulator query slower than {SLOWEST_LIMIT_S:g} s",
                          "value": "n/a" if slowest is None else f"{slowest:.2f} s ({worst})",
                          "met": None if slowest is None else slowest < SLOWEST_LIMIT_S and answered == len(queries),
                          "note": "the limit is for SF 0.1" if suite["sf"] != 0.1 else ""})
            ratio = _ratio(total(suite, engine), total(suite, "duckdb"))
            found.append({"target": f"{label}: {engine} emulator total within {TOTAL_RATIO_LIMIT:g}x of DuckDB's",
                          "value": "n/a" if ratio is None else f"{ratio:g}x",
                          "met": None if ratio is None else ratio <= TOTAL_RATIO_LIMIT, "note": ""})
    return found


def _cell(measured: dict[str, Any] | None, reference: float | None) -> str:
    if not measured or measured.get("seconds") is None:
        return (measured or {}).get("status", "–")
    seconds = measured["seconds"]
    shown = f"{seconds:.2f}"
    if measured.get("status") not in ("equal", "reference"):
        return f"{shown} **{measured.get('status')}**"
    ratio = _ratio(seconds, reference)
    return shown if ratio is None or measured.get("status") == "reference" else f"{shown} ({ratio:g}x)"


def suite_markdown(suite: dict[str, Any]) -> list[str]:
    loads = ", ".join(f"{engine} not run" if str(load.get("error") or "").startswith("not run") else
                      f"{engine} {load['seconds']:.1f} s" + (" (failed)" if load.get("error") else "")
                      for engine, load in suite["loads"].items())
    lines = [f"#### {suite['suite']}, scale factor {suite['sf']:g}", "",
             f"Loaded by `apply` (and for SQLite by executemany) in: {loads}.", "",
             "| query | " + " | ".join(title for _, title in COLUMNS) + " |",
             "| --- | " + " | ".join("---:" for _ in COLUMNS) + " |"]
    for query in suite["queries"]:
        reference = query["engines"].get("duckdb", {}).get("seconds")
        lines.append(f"| {query['query']} | " + " | ".join(_cell(query["engines"].get(engine), reference)
                                                         for engine, _ in COLUMNS) + " |")
    duck = total(suite, "duckdb")
    totals = []
    for engine, _ in COLUMNS:
        value = total(suite, engine)
        ratio = _ratio(value, duck)
        totals.append("not every query answered" if value is None else
                      f"**{value:.2f}**" + ("" if engine == "duckdb" or ratio is None else f" ({ratio:g}x)"))
    lines.append("| total | " + " | ".join(totals) + " |")
    notes = sorted({(q["query"], note) for q in suite["queries"] for engine in ("redshift",)
                    for note in q["engines"].get(engine, {}).get("notes", [])})
    problems = [f"- {q['query']} on {engine}: {m['status']}: {m.get('detail', '')}" for q in suite["queries"]
                for engine, m in q["engines"].items() if m.get("status") not in ("equal", "reference", "not loaded")]
    settings = suite.get("query_settings", {}).get("redshift", {})
    if settings:
        lines += ["", "The Redshift emulator planned each query with "
                  + ", ".join(f"`{name} = '{value}'`" for name, value in settings.items())
                  + " (`query --show-translation` prints them; docs/querying.md)."]
    if notes:
        lines += ["", "Translation notes (`query --show-translation` prints them): "
                  + "; ".join(f"{key}: {note}" for key, note in notes)]
    if problems:
        lines += ["", "Not answered or answered differently:", *problems]
    return lines + [""]


def markdown(payload: dict[str, Any]) -> str:
    lines = [f"### Query benchmark ({payload['started'][:10]})", "",
             f"- Command: `{payload['command'].strip()}`",
             f"- Machine: {payload['machine']['cores']} cores; highest 1-minute load average at the end of a run "
             f"{payload['machine']['load_average'][0]:.1f}",
             "- Seconds per query as `query` takes them (connection, translation and the query; process start "
             "excluded); in brackets, how many times DuckDB's time", ""]
    for suite in payload["suites"]:
        lines += suite_markdown(suite)
    lines += ["**Targets**", "", "| target | measured | result | note |", "| --- | --- | --- | --- |"]
    for target in payload["targets"]:
        result = "met" if target["met"] else "n/a" if target["met"] is None else "**missed**"
        lines.append(f"| {target['target']} | {target['value']} | {result} | {target['note']} |")
    return "\n".join(lines) + "\n"


def write_docs(payload: dict[str, Any], docs: Path) -> None:
    """Replace what sits between the query markers in docs/benchmarks.md (appended if absent)."""
    text = docs.read_text()
    body = f"{START}\n{markdown(payload)}{END}"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + body + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + body + "\n"
    docs.write_text(text)


def combine(paths: list[Path]) -> dict[str, Any]:
    """One payload from several runs (e.g. scale factor 0.1 with SQLite, 1 without): suites in order."""
    import json

    payloads = [json.loads(p.read_text()) for p in paths]
    first = payloads[0]
    combined = {**first, "command": "; ".join(p["command"].strip() for p in payloads),
                "suites": [s for p in payloads for s in p["suites"]],
                "machine": {**first["machine"], "load_average": max((p["machine"]["load_average"] for p in payloads),
                                                                    key=lambda a: a[0])}}
    combined["targets"] = targets(combined)
    return combined


if __name__ == "__main__":
    import sys

    write_docs(combine([Path(a) for a in sys.argv[1:]]), Path(__file__).resolve().parent.parent / "docs"
               / "benchmarks.md")
