"""The Redshift emulator's loaded tables have statistics right after `apply` (real Redshift's COPY
STATUPDATE), and a SORTKEY is there as an index, so the first query after a load is planned well;
`query` plans with Redshift-like settings (no nested loops where a hash join can answer, room to
hash), and says so."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from manifest_loader.apply import apply
from manifest_loader.cli import main
from manifest_loader.query import execute_query
from manifest_loader.registry import REDSHIFT_EMULATOR

# TPC-H Q21's shape: EXISTS and NOT EXISTS correlated on the key and a non-equality (PostgreSQL
# misestimated the anti-join at one row and ran the EXISTS as a nested loop over the whole table).
Q21_SHAPE = """
select o.customer_id, count(*) as late
from orders o join order_items i1 on i1.order_id = o.order_id
where exists (select * from order_items i2 where i2.order_id = i1.order_id and i2.product_id <> i1.product_id)
  and not exists (select * from order_items i3 where i3.order_id = i1.order_id and i3.product_id <> i1.product_id
                  and i3.quantity > i1.quantity)
group by o.customer_id order by late desc, o.customer_id limit 10"""


@pytest.fixture
def redshift_env(pg_database: str, s3_env: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DW_SIMULATOR_REDSHIFT_URL", pg_database)
    monkeypatch.setenv("DW_SIMULATOR_STAGE_BUCKET", "s3://local/dw-simulator/staging")
    return pg_database


def test_loaded_tables_are_analyzed_inside_the_load(workspace: Path, redshift_env: str) -> None:
    result = apply(workspace, "redshift")
    assert result.changed
    expected = {"customers": 200, "products": 50, "orders": 500, "order_items": 1524}
    with psycopg.connect(redshift_env) as conn:
        rows = conn.execute(
            "SELECT c.relname, c.reltuples, s.last_analyze IS NOT NULL, s.last_autoanalyze IS NOT NULL, "
            "(SELECT count(*) FROM pg_stats p WHERE p.schemaname = n.nspname AND p.tablename = c.relname) "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_stat_user_tables s ON s.relid = c.oid "
            "WHERE n.nspname = 'ecommerce' AND c.relname = ANY(%s)", (list(expected),)).fetchall()
        indexes = conn.execute("SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = 'ecommerce'").fetchall()
    found = {name: (reltuples, manual, auto, stats) for name, reltuples, manual, auto, stats in rows}
    assert set(found) == set(expected)
    for table, count in expected.items():
        reltuples, manual, _auto, stats = found[table]
        # Never analyzed, reltuples is -1 and pg_stats is empty; a manual ANALYZE sets last_analyze
        # (autovacuum would set last_autoanalyze instead).
        assert reltuples == count, table
        assert manual, f"{table} was not analyzed by the load"
        assert stats >= 5, table
    # The manifest's SORTKEYs (customers: signup_date, orders: ordered_at) are indexes on the emulator.
    by_table = {table: definition for table, definition in indexes}
    assert "(signup_date)" in by_table["customers"] and "(ordered_at)" in by_table["orders"]
    assert "products" not in by_table
    _query_plans_with_the_emulators_settings(workspace, redshift_env)   # on the same load


def _query_plans_with_the_emulators_settings(manifest: Path, redshift_env: str) -> None:
    settings = execute_query(manifest, "select current_setting('enable_nestloop'), current_setting('work_mem')",
                             "redshift")
    assert settings.rows == [("off", "256MB")]
    # Shown with the translation; not among the notes on what is not emulated (the answer is unchanged).
    assert REDSHIFT_EMULATOR.plan_notes["query_settings"] not in settings.notes
    shown = CliRunner().invoke(main, ["query", str(manifest), "select 1 as one", "--show-translation"])
    assert shown.exit_code == 0, shown.output
    assert "-- planned with: SET LOCAL enable_nestloop = 'off'; SET LOCAL work_mem = '256MB'" in shown.stderr
    # Only the plan changes: the answer is the one PostgreSQL gives with its defaults.
    with psycopg.connect(redshift_env) as conn:
        conn.execute("SET search_path = ecommerce")
        assert conn.execute("SHOW enable_nestloop").fetchone() == ("on",)
        expected = conn.execute(Q21_SHAPE).fetchall()
    answer = execute_query(manifest, Q21_SHAPE, "redshift")
    assert len(expected) == 10 and answer.rows == expected
    # The session outside a query keeps the server's settings.
    with psycopg.connect(redshift_env) as conn:
        assert conn.execute("SHOW work_mem").fetchone() == ("4MB",)
