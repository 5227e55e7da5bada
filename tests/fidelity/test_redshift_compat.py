"""The Redshift compatibility layer and `query`'s translation: what clients that bypass `query` get,
`emulator init`, STL_LOAD_ERRORS after a failed load, and errors that name the construct."""

from __future__ import annotations

import threading
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from loadkit import copy_example

from manifest_loader import compat
from manifest_loader.apply import apply
from manifest_loader.cli import main
from manifest_loader.errors import ConstraintViolation
from manifest_loader.query import run_query
from manifest_loader.translate import TranslationError, translate


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_database: str) -> Path:
    monkeypatch.setenv("MANIFEST_LOADER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DW_SIMULATOR_REDSHIFT_URL", pg_database)
    for name in ("DW_SIMULATOR_SNOWFLAKE_URL", "DW_SIMULATOR_STAGE_BUCKET", "DW_SIMULATOR_TARGET_DB_URL"):
        monkeypatch.delenv(name, raising=False)
    return copy_example(tmp_path)


@pytest.mark.parametrize("sql, construct", [
    ("unload ('select 1') to 's3://bucket/x' iam_role 'arn'", "UNLOAD is not emulated"),
    ("vacuum customers", "VACUUM is not emulated"),
    ("select * from stl_query", "system table STL_QUERY is not emulated"),
    ("select * from pg_table_def", "system table PG_TABLE_DEF is not emulated"),
    ("select hll(customer_id) from customers", "function HLL (HyperLogLog sketches) is not emulated"),
    ("select st_point(1, 2)", "function ST_POINT: spatial functions are not emulated"),
    ("select cast(x as hllsketch) from t", "type HLLSKETCH is not emulated"),
    ("select a from t pivot (sum(x) for y in (1, 2))", "PIVOT unsupported"),
    ("select 1; select 2", "2 statements given"),
    ("select * from t where", "cannot read the statement as Redshift SQL at line 1"),
])
def test_untranslatable_statements_name_the_construct(sql: str, construct: str) -> None:
    with pytest.raises(TranslationError) as refused:
        translate(sql)
    assert construct in str(refused.value)


def test_translation_keeps_redshift_meaning() -> None:
    sql = translate("select getdate(), sysdate, datediff(day, a, b), dateadd(month, 1, a), add_months(a, 1), "
                    "trunc(a), strtol('ff', 16) from t").sql
    for call in ("redshift_compat.getdate()", "redshift_compat.sysdate()", "redshift_compat.datediff('day', a, b)",
                 "redshift_compat.dateadd('month', 1, a)", "redshift_compat.add_months(a, 1)",
                 "redshift_compat.trunc(a)", "redshift_compat.strtol('ff', 16)"):
        assert call in sql
    listagg = translate("select listagg(name, ',') within group (order by name) from t").sql
    assert "STRING_AGG(name, ','" in listagg and "ORDER BY" in listagg and "WITHIN GROUP" not in listagg
    navigation = translate("select attributes.color::varchar, p.attributes.size from products p",
                           json_columns=["attributes"]).sql
    assert "attributes ->> 'color'" in navigation and "p.attributes -> 'size'" in navigation
    assert "redshift_compat.stl_load_commits" in translate("select * from stl_load_commits").sql


def test_query_shows_translation_and_runs_getdate_nvl(workspace: Path) -> None:
    apply(workspace, "redshift")
    result = CliRunner().invoke(main, ["query", str(workspace), "select getdate() is not null as now, "
                                       "nvl(null, 1) as one", "--show-translation", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert '"now": true' in result.stdout and '"one": 1' in result.stdout
    assert "-- translated for the Redshift emulator (PostgreSQL):" in result.stderr
    assert "redshift_compat.getdate()" in result.stderr and "COALESCE(NULL, 1)" in result.stderr
    bare = CliRunner().invoke(main, ["query", "--target-warehouse", "redshift", "select nvl2(null, 1, 2) as x"])
    assert bare.exit_code == 0, bare.output
    assert "(1 row)" in bare.stdout
    refused = CliRunner().invoke(main, ["query", str(workspace), "unload ('select 1') to 's3://b/x'"])
    assert refused.exit_code == 2 and "UNLOAD is not emulated" in refused.output
    nothing = CliRunner().invoke(main, ["query", "select 1"])
    assert nothing.exit_code == 2 and "--target-warehouse" in nothing.output


def test_snowflake_query_says_fakesnow_translates(workspace: Path) -> None:
    result = CliRunner().invoke(main, ["query", "--target-warehouse", "snowflake", "select iff(true, 1, 2) as x",
                                       "--show-translation", "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["X", "1"]
    assert "fakesnow" in result.stderr and "translates Snowflake SQL itself" in result.stderr


def test_emulator_init_serves_clients_that_bypass_query(pg_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DW_SIMULATOR_REDSHIFT_URL", pg_database)
    runner = CliRunner()
    first = runner.invoke(main, ["emulator", "init"])
    assert first.exit_code == 0, first.output
    assert "Redshift compatibility layer installed: schema redshift_compat" in first.output
    assert "already up to date" in runner.invoke(main, ["emulator", "init"]).output
    shown = runner.invoke(main, ["emulator", "init", "--show-sql"])
    assert "CREATE OR REPLACE FUNCTION redshift_compat.datediff" in shown.output
    # A new session, as psql or a BI tool would open: the database's defaults put the layer on the path.
    with psycopg.connect(pg_database) as conn:
        row = conn.execute(
            "select getdate() <= sysdate(), nvl(null, 1), nvl2('x', 'a', 'b'), len('abc'), "
            "datediff('day', '2024-01-01 23:59'::timestamp, '2024-01-02 00:01'::timestamp), "
            "dateadd('month', 1, '2024-01-31'::date), add_months('2024-02-29'::date, 1), "
            "convert_timezone('UTC', 'Asia/Tokyo', '2024-07-01 12:00'::timestamp), decode(2, 1, 'one', 2, 'two'), "
            "strtol('ff', 16), current_setting('TimeZone'), "
            "(select listagg(x, ',') from (values ('a'), ('b')) v(x)), "
            "(select count(*) from stl_load_commits) + (select count(*) from stl_load_errors)").fetchone()
    assert row[:5] == (True, 1, "a", 3, 1)
    assert str(row[5]) == "2024-02-29 00:00:00" and str(row[6]) == "2024-03-31 00:00:00"
    assert str(row[7]) == "2024-07-01 21:00:00" and row[8:] == ("two", 255, "UTC", "a,b", 0)


def test_concurrent_installs_agree(pg_database: str) -> None:
    from manifest_loader.progress import Progress
    from manifest_loader.query import query_target
    from manifest_loader.warehouses import connect

    target = query_target(None, "redshift", {"DW_SIMULATOR_REDSHIFT_URL": pg_database})
    results: list[bool] = []

    def install() -> None:
        connection = connect(target, Progress(), 30)
        try:
            results.append(compat.install(connection))
        finally:
            connection.close()

    threads = [threading.Thread(target=install) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, False, True]


def test_a_query_starts_its_own_transaction(pg_database: str) -> None:
    """SYSDATE is the start of the query's transaction, as for an autocommit query on Redshift,
    however long the connection was busy before it (here: a statement, then 1.1 s)."""
    import time

    from manifest_loader.progress import Progress
    from manifest_loader.query import query_target
    from manifest_loader.warehouses import connect

    target = query_target(None, "redshift", {"DW_SIMULATOR_REDSHIFT_URL": pg_database})
    connection = connect(target, Progress(), 30, for_query=True)   # as `manifest-loader query` opens it
    try:
        compat.install(connection)
        connection.execute("SELECT 1")
        time.sleep(1.1)
        _, rows = connection.query(f"SELECT {compat.COMPAT_SCHEMA}.getdate() <= {compat.COMPAT_SCHEMA}.sysdate()",
                                   "public")
        assert rows == [(True,)]
    finally:
        connection.rollback()
        connection.close()


def test_failed_load_shows_in_stl_load_errors_and_commits_in_stl_load_commits(workspace: Path) -> None:
    apply(workspace, "redshift")
    _, commits = run_query(workspace, "select trim(name), count(*), sum(lines_scanned) from stl_load_commits "
                           "group by 1 order by 1", "redshift")
    assert commits == [("ecommerce.customers", 2, 200), ("ecommerce.order_items", 1, 1524),
                       ("ecommerce.orders", 2, 500), ("ecommerce.products", 1, 50)]
    items = workspace.parent / "data" / "ecommerce" / "order_items" / "part-0.parquet"
    bad = pq.read_table(items).slice(0, 1)
    bad = bad.set_column(2, "product_id", pa.array([999_999], pa.int64()))
    pq.write_table(bad.set_column(1, "line_number", pa.array([99], pa.int32())), items.parent / "part-1.parquet")
    with pytest.raises(ConstraintViolation):
        apply(workspace, "redshift")
    _, errors = run_query(workspace, "select trim(filename), trim(colname), err_code, trim(err_reason), tbl > 0, "
                          "table_name from stl_load_errors", "redshift")
    assert len(errors) == 1
    filename, column, code, reason, has_table, table = errors[0]
    assert filename.startswith("file://") and "/ecommerce/order_items/" in filename
    assert (column, code, has_table, table) == ("", compat.ERR_CHECK, True, "order_items")
    assert reason.startswith("table order_items: 1 row have (product_id) values missing from products")
    # The data of the failed load was rolled back; the commits view still shows the first load's files.
    _, after = run_query(workspace, "select count(*) from stl_load_commits", "redshift")
    assert after == [(6,)]
