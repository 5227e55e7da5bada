"""apply end to end on both emulators: PostgreSQL (Redshift) through a moto S3 stage, and the
embedded fakesnow (Snowflake); data verified by content against the Parquet sources."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from loadkit import count, fingerprints, parquet_columns, warehouse_columns

from manifest_loader.apply import apply
from manifest_loader.cli import main
from manifest_loader.errors import ConstraintViolation, LoadFailed
from manifest_loader.query import run_query
from manifest_loader.runs import RunStore, metadata_url

# Loads into the emulators, the Snowflake one's database on disk included.
pytestmark = pytest.mark.online

TABLE_KEYS = {"customers": "customer_id", "products": "product_id", "orders": "order_id",
              "order_items": "order_id, line_number"}
JSON_COLUMNS = {"attributes"}


@pytest.fixture
def redshift_env(pg_database: str, s3_env: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DW_SIMULATOR_REDSHIFT_URL", pg_database)
    monkeypatch.setenv("DW_SIMULATOR_STAGE_BUCKET", "s3://local/dw-simulator/staging")
    return pg_database


def assert_matches_sources(manifest: Path, warehouse: str) -> None:
    data = manifest.parent / "data" / "ecommerce"
    for table, key in TABLE_KEYS.items():
        expected = fingerprints(parquet_columns(data / table), JSON_COLUMNS)
        actual = fingerprints(warehouse_columns(manifest, table, warehouse, key), JSON_COLUMNS)
        assert set(actual) == set(expected), table
        for column in expected:
            assert actual[column] == expected[column], f"{warehouse}: {table}.{column} differs"


def test_redshift_emulator_loads_example_through_s3(workspace: Path, redshift_env: str) -> None:
    result = apply(workspace, "redshift")
    assert result.changed and result.rows == 2274
    assert_matches_sources(workspace, "redshift")
    import boto3

    # The moto server is shared by the worker's tests, so compare with what this load staged:
    # the 6 source files, each under its own key in the example's stage, each there.
    staged = {f.staged_uri for table in result.plan.tables for f in table.files}
    assert len(staged) == 6 and all(uri.startswith("s3://local/dw-simulator/staging/ecommerce/") for uri in staged)
    keys = {o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket="local")["Contents"]}
    assert {uri.removeprefix("s3://local/") for uri in staged} <= keys


def test_snowflake_emulator_loads_example_embedded(workspace: Path) -> None:
    result = apply(workspace, "snowflake")
    assert result.changed and result.rows == 2274
    assert_matches_sources(workspace, "snowflake")


@pytest.mark.parametrize("warehouse", ["redshift", "snowflake"])
def test_reapply_is_a_no_op_and_never_duplicates(workspace: Path, warehouse: str,
                                                 request: pytest.FixtureRequest) -> None:
    if warehouse == "redshift":
        request.getfixturevalue("redshift_env")
    first = apply(workspace, warehouse)
    second = apply(workspace, warehouse)
    assert first.changed and not second.changed
    assert count(workspace, "orders", warehouse) == 500
    forced = apply(workspace, warehouse, force=True)
    assert forced.changed
    assert count(workspace, "orders", warehouse) == 500   # merge: the same keys replace themselves
    assert count(workspace, "customers", warehouse) == 200  # replace
    _, rows = run_query(
        workspace, "select table_name, count(*) from _manifest_loader_ledger group by table_name", warehouse)
    assert {r[0]: int(r[1]) for r in rows} == {"customers": 2, "products": 1, "orders": 2, "order_items": 1}
    runs = RunStore(metadata_url(Path(os.environ["MANIFEST_LOADER_STATE_DIR"]))).list()
    assert [r["status"] for r in runs] == ["succeeded", "unchanged", "succeeded"]


@pytest.mark.parametrize("warehouse", ["redshift", "snowflake"])
def test_constraint_violation_rolls_back_every_table(workspace: Path, warehouse: str,
                                                     request: pytest.FixtureRequest) -> None:
    if warehouse == "redshift":
        request.getfixturevalue("redshift_env")
    apply(workspace, warehouse)
    # A new order line pointing at a product that does not exist: the FK check fails last.
    items = workspace.parent / "data" / "ecommerce" / "order_items" / "part-0.parquet"
    table = pq.read_table(items)
    bad = table.slice(0, 1).set_column(2, "product_id", pa.array([999_999], pa.int64()))
    bad = bad.set_column(1, "line_number", pa.array([99], pa.int32()))
    pq.write_table(bad, items.parent / "part-1.parquet")
    customers = workspace.parent / "data" / "ecommerce" / "customers"
    new = pq.read_table(customers / "part-1.parquet").slice(0, 5)
    new = new.set_column(0, "customer_id", pa.array(range(5001, 5006), pa.int64()))
    pq.write_table(new, customers / "part-2.parquet")   # customers change too, and load first
    with pytest.raises(ConstraintViolation) as error:
        apply(workspace, warehouse)
    message = str(error.value)
    assert "order_items" in message and "products(product_id)" in message and "999999" in message
    # customers loaded before the failure, in the same transaction: rolled back too.
    assert count(workspace, "customers", warehouse) == 200
    assert count(workspace, "order_items", warehouse) == 1524
    runs = RunStore(metadata_url(Path(os.environ["MANIFEST_LOADER_STATE_DIR"]))).list()
    assert runs[0]["status"] == "failed" and "999999" in runs[0]["error"]


def test_corrupt_parquet_fails_before_anything_is_written(workspace: Path, redshift_env: str) -> None:
    apply(workspace, "redshift")
    broken = workspace.parent / "data" / "ecommerce" / "orders" / "part-2.parquet"
    broken.write_bytes(b"PAR1" + b"\x00garbage" * 100)
    result = CliRunner().invoke(main, ["apply", str(workspace)])
    assert result.exit_code == 2
    assert "orders/part-2.parquet is not a readable Parquet file" in result.output
    assert "Traceback" not in result.output
    assert count(workspace, "orders", "redshift") == 500


def test_not_null_violation_names_table_and_column(workspace: Path, redshift_env: str) -> None:
    path = workspace.parent / "data" / "ecommerce" / "products" / "products.parquet"
    table = pq.read_table(path)
    skus = table.column("sku").to_pylist()
    skus[3] = None
    pq.write_table(table.set_column(1, "sku", pa.array(skus, pa.string())), path)
    with pytest.raises(ConstraintViolation, match=r"table products: column sku is declared NOT NULL but a row of "
                       r"data/ecommerce/products/products.parquet is NULL"):
        apply(workspace, "redshift")


def test_varchar_length_counts_utf8_bytes_on_redshift_emulator(workspace: Path, redshift_env: str) -> None:
    sku = "sku: {type: varchar(32), nullable: false}"
    text = workspace.read_text().replace(sku, sku + "\n      category: {type: varchar(12)}")
    workspace.write_text(text)
    path = workspace.parent / "data" / "ecommerce" / "products" / "products.parquet"
    table = pq.read_table(path)
    categories = table.column("category").to_pylist()
    categories[0] = "ééééééé"   # 7 characters, 14 bytes: fits characters, not bytes
    index = table.column_names.index("category")
    pq.write_table(table.set_column(index, "category", pa.array(categories, pa.string())), path)
    with pytest.raises(ConstraintViolation,
                       match=r"column category has 1 row longer than its VARCHAR\(12\) \(bytes\)"):
        apply(workspace, "redshift")


def test_append_loads_only_new_files(workspace: Path, redshift_env: str) -> None:
    text = workspace.read_text().replace("    mode: merge\n    merge_keys: [order_id]\n", "    mode: append\n")
    workspace.write_text(text)
    apply(workspace, "redshift")
    orders = workspace.parent / "data" / "ecommerce" / "orders"
    table = pq.read_table(orders / "part-1.parquet").slice(0, 10)
    table = table.set_column(0, "order_id", pa.array(range(900_001, 900_011), pa.int64()))
    pq.write_table(table, orders / "part-2.parquet")
    result = apply(workspace, "redshift")
    loaded = {t.table: t for t in result.tables}
    assert loaded["orders"].rows == 10 and loaded["orders"].files == 1
    assert count(workspace, "orders", "redshift") == 510


def test_redshift_without_url_plans_for_the_managed_emulator_without_starting_it(workspace: Path) -> None:
    result = CliRunner().invoke(main, ["plan", str(workspace)])
    assert result.exit_code == 0, result.output
    assert "url:         (managed local PostgreSQL) (no DW_SIMULATOR_REDSHIFT_URL: started on demand)" in result.output
    assert "apply starts the managed local PostgreSQL under the state folder" in result.output
    assert not (workspace.parent.parent / "state" / "postgres").exists()   # plan writes nothing, starts nothing


def test_unreachable_database_is_a_clean_error(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DW_SIMULATOR_REDSHIFT_URL", "postgresql://loader:pw-Secret-9@127.0.0.1:1/dev")
    result = CliRunner().invoke(main, ["apply", str(workspace)])
    assert result.exit_code == 1
    assert "cannot connect to the Redshift emulator at postgresql://loader:***@127.0.0.1:1/dev" in result.output
    assert "pw-Secret-9" not in result.output and "Traceback" not in result.output


def test_a_source_problem_is_not_held_up_by_a_server_that_does_not_answer(
        workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # apply opens the target while it lists the sources (ledger_read.EarlyRead): a manifest
    # problem found meanwhile is reported at once, not after the connection attempt gives up.
    import socket
    import time

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()   # accepts the TCP connection, never answers the PostgreSQL start-up
        monkeypatch.setenv("DW_SIMULATOR_REDSHIFT_URL", f"postgresql://loader@127.0.0.1:{silent.getsockname()[1]}/dev")
        for path in (workspace.parent / "data" / "ecommerce" / "orders").glob("*.parquet"):
            path.unlink()
        started = time.monotonic()
        result = CliRunner().invoke(main, ["apply", str(workspace)])
        assert result.exit_code == 2 and "source 'data/ecommerce/orders/'" in result.output, result.output
        assert time.monotonic() - started < 10


def test_missing_bucket_names_bucket(workspace: Path, redshift_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DW_SIMULATOR_STAGE_BUCKET", "s3://no-such-bucket/x")
    with pytest.raises(LoadFailed, match="bucket 'no-such-bucket' does not exist"):
        apply(workspace, "redshift")
    assert count(workspace, "information_schema.tables where table_schema = 'ecommerce'", "redshift") == 0


def test_rows_the_warehouse_did_not_load_fail_the_apply(workspace: Path, tmp_path: Path) -> None:
    # A COPY that silently loads fewer rows than the footers count (here: a user template that
    # names only the first file of each table) must fail the apply and change nothing.
    apply(workspace, "snowflake")
    shipped = (Path(__file__).parent.parent / "templates" / "fakesnow" / "copy.sql.j2").read_text()
    assert "file_names | map" in shipped
    templates = tmp_path / "templates"
    (templates / "fakesnow").mkdir(parents=True)
    (templates / "fakesnow" / "copy.sql.j2").write_text(shipped.replace("file_names | map", "file_names[:1] | map"))
    with pytest.raises(LoadFailed, match=r"table customers: loaded 120 rows but the Parquet footers of "
                                         r"data/ecommerce/customers/part-0.parquet, "
                                         r"data/ecommerce/customers/part-1.parquet say 200"):
        apply(workspace, "snowflake", templates_dir=templates, force=True)
    assert count(workspace, "customers", "snowflake") == 200


@pytest.mark.parametrize("warehouse", ["redshift", "snowflake"])
def test_folders_with_spaces_and_percent_signs(tmp_path: Path, warehouse: str, pg_database: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # Paths become file:// URIs percent-encoded (a space is %20): sources, the file stage, the
    # state folder and the emulator's mirror must all be found again, on both emulators.
    from loadkit import copy_example

    monkeypatch.setenv("MANIFEST_LOADER_STATE_DIR", str(tmp_path / "state 100% local"))
    for name in ("DW_SIMULATOR_SNOWFLAKE_URL", "DW_SIMULATOR_STAGE_BUCKET", "DW_SIMULATOR_TARGET_DB_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DW_SIMULATOR_REDSHIFT_URL", pg_database)
    manifest = copy_example(tmp_path / "My Data")
    result = apply(manifest, warehouse)
    assert result.changed and result.rows == 2274
    assert_matches_sources(manifest, warehouse)
    assert not apply(manifest, warehouse).changed
