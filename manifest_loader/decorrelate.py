"""Correlated scalar subqueries rewritten as joins, for the Redshift emulator's `query`.

Redshift decorrelates a subquery such as TPC-H Q17's `l_quantity < (select 0.2 * avg(l_quantity)
from lineitem where l_partkey = p_partkey)` into a join against one grouped pass, and scans in
parallel; PostgreSQL runs it once per outer row (Q20's shape: estimated at an hour at TPC-H scale
factor 0.1, where the join answers in about a second). sqlglot's optimizer does the rewrite
(`qualify` resolves which columns come from the outer query, `decorrelate` turns equality
correlations into a LEFT JOIN on a GROUP BY); this module picks which subqueries to give it:

- only correlated ones: PostgreSQL plans an uncorrelated subquery once already;
- not under EXISTS / NOT EXISTS (or IN): PostgreSQL plans those as semi- and anti-joins itself.

The rewrite needs every table's columns (`tables`); when a name cannot be resolved, or nothing
was decorrelated, the statement is left as written.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.helper import name_sequence
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import ScopeType, traverse_scope
from sqlglot.optimizer.unnest_subqueries import decorrelate

NOTE = ("correlated subquery rewritten as a join on one grouped pass (as Redshift's planner decorrelates it); "
        "PostgreSQL would run it once per outer row")


def _candidates(tree: exp.Expression) -> bool:
    """Cheap pre-check: a subquery that names a column of an enclosing query's table may be correlated."""
    return any(isinstance(select.parent_select, exp.Select) for select in tree.find_all(exp.Select))


def decorrelated(tree: exp.Expression, tables: Mapping[str, Mapping[str, str]]) -> exp.Expression | None:
    """A copy of `tree` with its correlated scalar subqueries as joins, or None when there were none."""
    if not tables or not isinstance(tree, exp.Query) or not _candidates(tree):
        return None
    try:
        qualified = qualify(tree.copy(), schema={t: dict(c) for t, c in tables.items()}, dialect="redshift",
                            quote_identifiers=False, identify=False)
        return _rewrite(qualified)
    except (SqlglotError, KeyError, ValueError, AttributeError, TypeError, RecursionError):
        return None


def _rewrite(tree: exp.Expression) -> exp.Expression | None:
    next_alias = name_sequence("_u_")
    changed = False
    for scope in traverse_scope(tree):
        select, parent = scope.expression, scope.expression.parent_select
        if parent is None or not scope.external_columns or scope.scope_type == ScopeType.SET_OPERATION:
            continue
        if isinstance(select.find_ancestor(exp.Predicate), exp.Exists | exp.In):
            continue
        joins = len(parent.args.get("joins") or [])
        decorrelate(select, parent, scope.external_columns, next_alias)
        if len(parent.args.get("joins") or []) != joins:
            changed = True
            _explicit_cross_joins(parent)
    return tree if changed else None


def _explicit_cross_joins(select: exp.Select) -> None:
    """`FROM a, b LEFT JOIN u ON u.k = a.k` is invalid in PostgreSQL (the comma binds last, so the
    join sees only b); `FROM a CROSS JOIN b LEFT JOIN u …` sees both, and plans the same."""
    for join in select.args.get("joins") or []:
        if not join.args.get("kind") and not join.args.get("side") and not join.args.get("on") \
                and not join.args.get("using"):
            join.set("kind", "CROSS")
