"""Print a plan as text (terminals), JSON (machines) or Markdown (pull-request comments).

Output is byte-identical for identical inputs: no clocks, no absolute temp paths beyond what
the inputs name, and secrets only ever as placeholders or `***`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from .plan import plan_to_dict
from .secret_tokens import display_sql

if TYPE_CHECKING:
    from .plan import Plan, Step, TablePlan

# plan_to_dict lives with the plan (its fingerprint hashes it); this module prints it.
__all__ = ["FORMATTERS", "display_sql", "format_json", "plan_to_dict"]
# json.dumps(..., sort_keys=True, default=str), without a new encoder for each of a plan's thousand calls
_SORTED_JSON = json.JSONEncoder(sort_keys=True, default=str)


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(size)


def held_files(plan: Plan, table: TablePlan) -> list[str]:
    """The table's files the ledger already holds (apply skips them), by their source names."""
    if plan.ledger_held is None:
        return []
    held = plan.ledger_held.get(table.name, frozenset())
    return [f.source.display for f in table.files if f.source.content_hash in held]


def drift_lines(plan: Plan, table: TablePlan) -> list[str]:
    """How the existing table differs from the manifest (one line each), then what apply does about it."""
    drift = plan.drift.get(table.name)
    if not drift:
        return []
    return ["differs from the manifest:", *(f"  - {d}" for d in drift["differences"]), str(drift["apply"])]


def _params_text(step: Step) -> list[str]:
    if not step.params:
        return []
    shown = list(step.params[:3])
    lines = [f"-- parameters: {_SORTED_JSON.encode(dict(row))}" for row in shown]
    if len(step.params) > 3:
        lines.append(f"-- … and {len(step.params) - 3} more rows")
    if "run_id" in step.param_names:
        lines.append("-- run_id is set when apply starts")
    return lines


def _header(plan: Plan) -> list[str]:
    lines = [
        f"Plan: load '{plan.manifest_name}' from {plan.manifest_file} (sha256 {plan.manifest_sha256[:12]})",
        f"target:      {plan.warehouse} via {plan.dialect_title} [dialect {plan.dialect}]",
        f"url:         {plan.url} ({plan.url_source})",
        f"schema:      {plan.schema}",
        f"stage:       {plan.stage}",
        f"fingerprint: {plan.fingerprint}",
        "",
        "Tables, in load order:",
    ]
    width = max(len(t.name) for t in plan.tables)
    for t in plan.tables:
        lines.append(f"  {t.name:<{width}}  {t.mode:<8}  {len(t.files):>3} file(s)  {t.rows:>10} rows  "
                     f"{_size(t.bytes):>10}")
        if held := held_files(plan, t):
            lines.append(f"  {'':<{width}}  the ledger holds {len(held)} of these; apply loads only the other "
                         f"{len(t.files) - len(held)}. Held: {', '.join(held)}")
        lines += [f"  {'':<{width}}  {line}" for line in drift_lines(plan, t)]
    if plan.ledger_note:
        lines.append(f"  ({plan.ledger_note})")
    lines.append("")
    if plan.notes:
        lines += ["Notes:", *(f"  - {n}" for n in plan.notes), ""]
    lines.append("apply first compares the files with the ledger: when every table already holds exactly "
                 "these files, nothing runs")
    lines.append("")
    return lines


def _blocks(plan: Plan) -> list[tuple[bool, list[Step]]]:
    blocks: list[tuple[bool, list[Step]]] = []
    for step in plan.steps:
        if not blocks or blocks[-1][0] != step.transactional:
            blocks.append((step.transactional, []))
        blocks[-1][1].append(step)
    return blocks


def format_text(plan: Plan) -> str:
    lines = _header(plan)
    for transactional, steps in _blocks(plan):
        if transactional:
            lines.append("BEGIN  -- one transaction: every change below commits together or not at all")
        else:
            lines.append("-- DDL, each statement committing on its own (no transaction can hold it)")
        for step in steps:
            where = f" {step.table}" if step.table else ""
            lines.append(f"  {step.number:>3}. {step.action}{where}  [{step.template}]")
            for note in step.notes:
                lines.append(f"       note: {note}")
            for sql_line in display_sql(step.sql).splitlines() + _params_text(step):
                lines.append(f"       {sql_line}")
            lines.append("")
        if transactional:
            lines.append("COMMIT")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def format_markdown(plan: Plan) -> str:
    lines = [f"### manifest-loader plan: `{plan.manifest_name}` → {plan.warehouse} ({plan.dialect_title})", "",
             f"- manifest: `{plan.manifest_file}` (sha256 `{plan.manifest_sha256[:12]}`)",
             f"- url: `{plan.url}` ({plan.url_source})", f"- schema: `{plan.schema}`",
             f"- stage: `{plan.stage}`", f"- fingerprint: `{plan.fingerprint}`", "",
             "| table | mode | files | rows | size |", "| --- | --- | ---: | ---: | ---: |"]
    lines += [f"| `{t.name}` | {t.mode} | {len(t.files)}"
              + (f" ({len(held_files(plan, t))} in the ledger)" if held_files(plan, t) else "")
              + f" | {t.rows} | {_size(t.bytes)} |" for t in plan.tables]
    lines.append("")
    lines += [f"- `{t.name}`: the ledger holds {', '.join(f'`{h}`' for h in held_files(plan, t))}; apply skips "
              "them" for t in plan.tables if held_files(plan, t)]
    for t in plan.tables:
        if shown := drift_lines(plan, t):
            lines += [f"- `{t.name}` {shown[0]}", *(f"  {line}" for line in shown[1:-1]), f"  - **{shown[-1]}**"]
    if plan.ledger_note:
        lines.append(f"- {plan.ledger_note}")
    lines += [f"> **Note:** {n}" for n in plan.notes]
    for transactional, steps in _blocks(plan):
        lines += ["", "#### " + ("Transaction (all or nothing)" if transactional else "DDL (auto-commit)"), ""]
        for step in steps:
            where = f" `{step.table}`" if step.table else ""
            lines.append(f"{step.number}. **{step.action}**{where} — `{step.template}`")
            lines += [f"   - note: {n}" for n in step.notes]
            lines += ["", "   ```sql", *(f"   {x}" for x in display_sql(step.sql).splitlines() +
                                         _params_text(step)), "   ```", ""]
    return "\n".join(lines).rstrip() + "\n"


def format_json(plan: Plan) -> str:
    return json.dumps(plan_to_dict(plan), indent=2, sort_keys=False, default=str) + "\n"


FORMATTERS = {"text": format_text, "json": format_json, "markdown": format_markdown}
