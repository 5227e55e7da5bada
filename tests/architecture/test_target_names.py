"""Target differences live in the registry (manifest_loader/registry.py) and in dialects/, not in
`if dialect == "..."` chains: this fails when code anywhere else in manifest_loader/ compares a
target's, warehouse's or dialect's name with a string literal."""

from __future__ import annotations

import ast
from pathlib import Path

from manifest_loader.dialects import DIALECTS
from manifest_loader.registry import TARGETS, warehouses

PACKAGE = Path(__file__).resolve().parents[2] / "manifest_loader"
ALLOWED = {PACKAGE / "registry.py", *(PACKAGE / "dialects").rglob("*.py")}
NAMES = frozenset({*TARGETS, *warehouses(), *DIALECTS, *(k.dialect_name for k in TARGETS.values())})


def _literals(node: ast.expr) -> list[str]:
    """The string literals a comparison operand holds: itself, or the items of a tuple/list/set."""
    items = node.elts if isinstance(node, ast.Tuple | ast.List | ast.Set) else [node]
    return [i.value for i in items if isinstance(i, ast.Constant) and isinstance(i.value, str)]


def name_comparisons(source: str, filename: str = "<source>") -> list[str]:
    """`file:line: code` of every comparison of a target name with a string literal."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(value in NAMES for operand in operands for value in _literals(operand)):
                found.append(f"{filename}:{node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.match_case) and isinstance(node.pattern, ast.MatchValue) \
                and any(value in NAMES for value in _literals(node.pattern.value)):
            found.append(f"{filename}:{node.pattern.lineno}: case {ast.unparse(node.pattern)}")
    return found


def test_no_target_name_is_compared_with_a_literal_outside_the_registry_and_dialects() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path not in ALLOWED:
            found += name_comparisons(path.read_text(encoding="utf-8"), str(path.relative_to(PACKAGE.parent)))
    assert found == [], "read a registry attribute (manifest_loader/registry.py) instead:\n" + "\n".join(found)


def test_the_check_sees_every_spelling_of_such_a_comparison() -> None:
    code = '''
if target.dialect.name == "fakesnow": pass
if "redshift" != warehouse: pass
if plan.dialect in ("postgres", "redshift"): pass
if name not in {"snowflake"}: pass
match kind:
    case "redshift-emulator": pass
if mode == "merge" or table.get("redshift"): pass
'''
    assert [line.split(":")[1] for line in name_comparisons(code)] == ["2", "3", "4", "5", "7"]
