"""Query column headers on an emulator are named from what the user wrote, not from the translation."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from click.testing import CliRunner

from manifest_loader.apply import apply
from manifest_loader.cli import main
from manifest_loader.headers import user_headers


@pytest.fixture
def people(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A one-table manifest (3 rows) with the state under tmp_path: small, so loading it is quick."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    monkeypatch.setenv("MANIFEST_LOADER_STATE_DIR", str(tmp_path / "state"))
    for name in ("DW_SIMULATOR_REDSHIFT_URL", "DW_SIMULATOR_SNOWFLAKE_URL", "DW_SIMULATOR_STAGE_BUCKET",
                 "DW_SIMULATOR_TARGET_DB_URL"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "data").mkdir()
    pq.write_table(pa.table({"customer_id": pa.array([1, 2, 3], pa.int64()),
                             "email": ["customer001@example.com", None, "c3@example.com"],
                             "country": ["IS", "DE", "FR"]}), tmp_path / "data" / "customers.parquet")
    manifest = tmp_path / "people.yaml"
    manifest.write_text("version: 1\nname: people\ntarget: {warehouse: redshift, schema: people}\n"
                        "tables:\n  - name: customers\n    source: data/customers.parquet\n", encoding="utf-8")
    return manifest


@pytest.mark.online   # the embedded Snowflake emulator's database on disk
def test_snowflake_emulator_headers_are_the_expressions_as_written(people: Path) -> None:
    workspace = people
    apply(workspace, "snowflake")
    sql = ("select count_if(customer_id > 100), sum(customer_id), iff(customer_id > 3, 'yes', 'no'), "
           "customer_id, email as contact from customers group by customer_id, email order by customer_id limit 1")
    shown = CliRunner().invoke(main, ["query", str(workspace), sql, "--target-warehouse", "snowflake",
                                      "--format", "csv"])
    assert shown.exit_code == 0, shown.output
    header, row = list(csv.reader(io.StringIO(shown.stdout)))
    # Real Snowflake's names: the expression upper-cased outside literals; aliases and columns as stored.
    assert header == ["COUNT_IF(CUSTOMER_ID > 100)", "SUM(CUSTOMER_ID)", "IFF(CUSTOMER_ID > 3, 'yes', 'no')",
                      "CUSTOMER_ID", "CONTACT"]
    assert row[:4] == ["0", "1", "no", "1"]
    assert not any("CAST(" in h or "CASE" in h for h in header)


def test_redshift_emulator_names_a_call_by_the_function_written_not_the_one_that_ran(
        people: Path, pg_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    workspace = people
    monkeypatch.setenv("DW_SIMULATOR_REDSHIFT_URL", pg_database)
    apply(workspace, "redshift")
    sql = ("select nvl(email, 'x'), decode(country, 'DE', 1, 0), len(email), count(*), "
           "cast(customer_id as varchar), customer_id + 1, getdate() is not null, email as contact "
           "from customers where customer_id = 1 group by 1, 2, 3, 5, 6, 8")
    shown = CliRunner().invoke(main, ["query", str(workspace), sql, "--format", "csv"])
    assert shown.exit_code == 0, shown.output
    header, row = list(csv.reader(io.StringIO(shown.stdout)))
    # PostgreSQL ran coalesce, CASE and length; Redshift names the columns after what was written.
    assert header == ["nvl", "decode", "len", "count", "customer_id", "?column?", "?column?", "contact"]
    assert row == ["customer001@example.com", "0", "23", "1", "1", "2", "True", "customer001@example.com"]
    nulls = CliRunner().invoke(main, ["query", str(workspace), "select nvl(email, 'none') from customers "
                                      "where customer_id = 2", "--format", "csv"])
    assert nulls.stdout.splitlines() == ["nvl", "none"]


def test_headers_keep_the_engines_names_when_the_list_cannot_be_matched() -> None:
    rule = "expression_upper"
    engine = ["count_if((CAST(x AS BOOLEAN)))", "a"]
    assert user_headers("select count_if(x), a from t", engine, "snowflake", rule) == ["COUNT_IF(X)", "a"]
    assert user_headers("select count_if(x), a from t", engine, "snowflake", None) == engine
    assert user_headers("select *, count_if(x) from t", engine, "snowflake", rule) == engine
    assert user_headers("select count_if(x) from t", engine, "snowflake", rule) == engine   # 1 item, 2 columns
    assert user_headers("select f(x, ','), \"Mixed\" from t", ["f", "Mixed"], "snowflake", rule) == \
        ["F(X, ',')", "Mixed"]
    assert user_headers("not sql at all (", engine, "snowflake", rule) == engine
    calls = "function_name"
    assert user_headers("select nvl(a, ')'), nvl(a, b) + 1 from t", ["coalesce", "?column?"], "redshift", calls) == \
        ["nvl", "?column?"]
