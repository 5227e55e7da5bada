"""`query` on the emulators is sandboxed (issue 14, findings 1 and 2).

Against the real emulators (PostgreSQL from the test cluster, fakesnow on disk), after a real
apply of the example: a user's SQL cannot read or write the machine's files, cannot change or
commit data, runs one statement only, under a role that is no superuser (PostgreSQL) with a
statement timeout; and `apply` notices a table changed behind the ledger's back and reloads it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from relkit import Emulator, isolated_emulator

from manifest_loader.apply import apply
from manifest_loader.errors import LoaderError, LoadFailed, UsageError
from manifest_loader.query import execute_query

SECRET = "TOPSECRET-file-contents-5d1c"

# The embedded Snowflake emulator's database on disk, or `manifest-loader serve` in its own process.
pytestmark = pytest.mark.online


@pytest.fixture(params=["redshift", "snowflake"])
def loaded(request: pytest.FixtureRequest, workspace: Path, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> tuple[Emulator, Path]:
    emulator = isolated_emulator(request, tmp_path, monkeypatch)
    apply(workspace, emulator.warehouse)
    return emulator, workspace


def _refused(manifest: Path, warehouse: str, sql: str, error: type[LoaderError] = LoadFailed,
             **kwargs: float) -> str:
    with pytest.raises(error) as caught:
        execute_query(manifest, sql, warehouse, **kwargs)
    return str(caught.value)


def test_query_is_sandboxed(loaded: tuple[Emulator, Path], tmp_path: Path) -> None:
    emulator, manifest = loaded
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    stolen = tmp_path / "stolen.csv"
    if emulator.warehouse == "snowflake":
        for sql in (f"select content from read_text('{secret}')",
                    "select reverse(content) from read_text('/proc/self/environ')",
                    f"select * from read_csv('{secret}')"):
            message = _refused(manifest, "snowflake", sql)
            assert "disabled by configuration" in message and SECRET not in message
    else:
        # The server's own files, which its OS user can always read.
        for sql in ("select pg_read_file('postgresql.conf')",
                    "select pg_ls_dir('.')",
                    f"copy products to '{stolen}'",
                    "select pg_stat_file('postgresql.conf')",
                    # Taking the superuser back inside the statement does not work either.
                    "select set_config('role', 'postgres', true), "
                    "query_to_xml('select pg_read_file(''postgresql.conf'')', true, false, '')"):
            message = _refused(manifest, "redshift", sql)
            assert "permission denied" in message or "must be superuser" in message, message
        who = execute_query(manifest, "select session_user, current_setting('is_superuser'), "
                                      "current_setting('transaction_read_only')", "redshift")
        user, superuser, read_only = who.rows[0]
        assert user.startswith("manifest_loader_q_") and superuser == "off" and read_only == "on"
    assert not stolen.exists()
    _never_changes_data(emulator, manifest)
    if emulator.warehouse == "redshift":
        _only_loaded_schemas_and_timeout(emulator, manifest)


def _never_changes_data(emulator: Emulator, manifest: Path) -> None:
    before = emulator.snapshot()
    assert before["ecommerce.products"] == 50
    for sql in ("delete from products", "update products set product_id = 0", "drop table products",
                "create table intruder (a int)", "truncate products"):
        _refused(manifest, emulator.warehouse, sql)
    for sql in ("delete from products; commit", "select 1; delete from products", "commit; delete from products"):
        assert "statements given" in _refused(manifest, emulator.warehouse, sql, UsageError)
    assert emulator.snapshot() == before
    # A lone COMMIT commits nothing: the query's transaction is its own and is rolled back.
    execute_query(manifest, "commit", emulator.warehouse)
    assert execute_query(manifest, "select count(*) from products", emulator.warehouse).rows[0][0] == 50


def _only_loaded_schemas_and_timeout(emulator: Emulator, manifest: Path) -> None:
    import psycopg

    assert emulator.pg_url is not None
    with psycopg.connect(emulator.pg_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA private_stuff; CREATE TABLE private_stuff.keys AS SELECT 'k3y' AS v")
    assert "permission denied" in _refused(manifest, "redshift", "select * from private_stuff.keys")
    message = _refused(manifest, "redshift", "select pg_sleep(5)", timeout_seconds=1)
    assert "statement timeout" in message
    # Each query's login role is gone afterwards.
    with psycopg.connect(emulator.pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM pg_roles WHERE starts_with(rolname, 'manifest_loader_q_')"
                            ).fetchone()[0] == 0


def test_apply_reloads_a_table_changed_behind_the_ledger(loaded: tuple[Emulator, Path]) -> None:
    emulator, manifest = loaded
    if emulator.warehouse == "redshift":
        import psycopg

        assert emulator.pg_url is not None
        with psycopg.connect(emulator.pg_url, autocommit=True) as conn:
            conn.execute("DELETE FROM ecommerce.products WHERE product_id > 10")
    else:
        import duckdb

        with duckdb.connect(str(emulator.fakesnow_file)) as conn:
            conn.execute("DELETE FROM ecommerce.products WHERE product_id > 10")
    assert emulator.snapshot()["ecommerce.products"] == 10
    result = apply(manifest, emulator.warehouse)
    assert result.changed
    assert {t.table: t.status for t in result.tables}["products"] == "loaded"
    assert emulator.snapshot()["ecommerce.products"] == 50
    assert not apply(manifest, emulator.warehouse).changed
