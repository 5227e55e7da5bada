"""Query column headers on an emulator are named from what the user wrote, not from the translation."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from click.testing import CliRunner

from manifest_loader.apply import apply
from manifest_loader.cli import main
from manifest_loader.headers import user_headers


def test_snowflake_emulator_headers_are_the_expressions_as_written(workspace: Path) -> None:
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
