"""Correlated scalar subqueries become joins in the Redshift translation (as Redshift's planner
decorrelates them); EXISTS/IN and unresolvable statements are left as written. The answers are
checked equal to DuckDB's on every TPC-H query by tests/test_benchmarks_smoke.py."""

from __future__ import annotations

from manifest_loader.decorrelate import NOTE
from manifest_loader.translate import translate

TABLES = {"lineitem": {"l_partkey": "bigint", "l_quantity": "numeric", "l_extendedprice": "numeric",
                       "l_orderkey": "bigint", "l_suppkey": "bigint"},
          "part": {"p_partkey": "bigint", "p_brand": "character varying"}}
Q17 = ("select sum(l_extendedprice) / 7.0 as avg_yearly from lineitem, part where p_partkey = l_partkey "
       "and p_brand = 'Brand#23' "
       "and l_quantity < (select 0.2 * avg(l_quantity) from lineitem where l_partkey = p_partkey)")


def test_correlated_scalar_subquery_becomes_a_grouped_join() -> None:
    translation = translate(Q17, (), TABLES)
    sql = " ".join(translation.sql.split())
    assert NOTE in translation.notes
    assert "LEFT JOIN ( SELECT 0.2 * AVG(lineitem.l_quantity)" in sql and "GROUP BY lineitem.l_partkey" in sql
    # The comma join is spelled CROSS JOIN, so the LEFT JOIN's ON clause sees every table before it.
    assert "FROM lineitem AS lineitem CROSS JOIN part AS part LEFT JOIN" in sql


def test_without_the_catalog_or_a_correlation_nothing_changes() -> None:
    assert NOTE not in translate(Q17).notes                  # no tables known: as written
    exists = ("select count(*) from part where exists (select 1 from lineitem where l_partkey = p_partkey)")
    assert NOTE not in translate(exists, (), TABLES).notes   # PostgreSQL's own semi-join
    uncorrelated = "select count(*) from lineitem where l_quantity > (select avg(l_quantity) from lineitem)"
    assert NOTE not in translate(uncorrelated, (), TABLES).notes
    unknown = Q17.replace("p_brand", "p_colour")             # a name the catalog does not resolve
    assert NOTE not in translate(unknown, (), TABLES).notes
