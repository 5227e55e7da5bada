"""Keywords as names: every reserved word of every list (the vendors' pages, DuckDB's
duckdb_keywords(), PostgreSQL's pg_get_keywords()) loads as a column on both emulators, and the
native DDL for real Redshift and Snowflake quotes each of them."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlglot
from emulatorkit import use_emulator

from manifest_loader.apply import apply
from manifest_loader.commands import make_plan
from manifest_loader.dialects import DIALECTS
from manifest_loader.dialects.base import keywords
from manifest_loader.query import run_query

KEYWORD_FOLDER = Path(__file__).resolve().parents[1] / "manifest_loader" / "dialects" / "keywords"
LISTS = ("postgres", "redshift", "snowflake", "duckdb")
EVERY_KEYWORD = sorted(set().union(*(keywords(name) for name in LISTS)))


def test_each_list_names_its_source_and_holds_the_words_reported() -> None:
    for name in LISTS:
        text = (KEYWORD_FOLDER / f"{name}.txt").read_text(encoding="utf-8")
        assert text.startswith("# source: "), name
        assert "retrieved: " in text, name
    # the words the issue found unquoted in plans, each on its authority's list
    assert {"timestamp", "open", "tag", "partition", "top"} <= keywords("redshift")
    assert {"start", "current", "sample", "increment"} <= keywords("snowflake")
    assert {"at", "by", "pivot", "describe", "show", "asof", "semi", "anti", "glob", "positional"} \
        <= keywords("duckdb")
    assert {"select", "table", "user"} <= keywords("postgres")


def test_every_dialect_quotes_the_words_of_its_lists() -> None:
    for dialect in DIALECTS.values():
        for word in dialect.reserved_words():
            quoted = dialect.quote(word)
            assert quoted.startswith('"') and quoted.endswith('"'), (dialect.name, word)
            # stored as unquoted SQL would store the same name: lower case, or upper on Snowflake
            assert quoted.strip('"') == dialect.stored_name(word)


def _keyword_manifest(tmp_path: Path, warehouse: str) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    columns = {word: pa.array([i, None, -i], pa.int64()) for i, word in enumerate(EVERY_KEYWORD)}
    columns["word_text"] = pa.array(["a", "b", "c"])
    pq.write_table(pa.table(columns), data / "k.parquet")
    manifest = tmp_path / "m.yaml"
    manifest.write_text(f"version: 1\nname: kw\ntarget: {{warehouse: {warehouse}}}\n"
                        "tables:\n  - name: keywords\n    source: data/k.parquet\n", encoding="utf-8")
    return manifest


@pytest.mark.parametrize("warehouse", ["redshift", "snowflake"])
def test_every_keyword_loads_as_a_column(tmp_path: Path, warehouse: str, pg_database: str,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    use_emulator(warehouse, tmp_path, monkeypatch, pg_database)
    manifest = _keyword_manifest(tmp_path, warehouse)
    assert apply(manifest, warehouse).rows == 3
    names, rows = run_query(manifest, "select * from keywords order by word_text", warehouse)
    assert [n.lower() for n in names] == [*EVERY_KEYWORD, "word_text"]
    by_name = dict(zip((n.lower() for n in names), zip(*rows, strict=True), strict=True))
    for i, word in enumerate(EVERY_KEYWORD):
        assert by_name[word] == (i, None, -i), word


@pytest.mark.parametrize(("target", "warehouse", "env"), [
    ("redshift", "redshift", {"DW_SIMULATOR_REDSHIFT_URL": "redshift+redshift_connector://u@example.com:5439/dev"}),
    ("snowflake", "snowflake", {"DW_SIMULATOR_SNOWFLAKE_URL": "snowflake://u@acme/db?warehouse=w"}),
])
def test_native_ddl_quotes_every_keyword(tmp_path: Path, target: str, warehouse: str, env: dict[str, str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    use_emulator(warehouse, tmp_path, monkeypatch, None)
    manifest = _keyword_manifest(tmp_path, warehouse)
    plan, _ = make_plan(manifest, warehouse, env={**env, "DW_SIMULATOR_STAGE_BUCKET": "s3://b/p",
                                                  "MANIFEST_LOADER_STATE_DIR": str(tmp_path / "state")})
    create = next(s.sql for s in plan.steps if s.template.endswith("create_table.sql.j2"))
    dialect = DIALECTS[target]
    for word in sorted(dialect.reserved_words()):
        assert re.search(rf'^\s*"{re.escape(dialect.stored_name(word))}" ', create, re.MULTILINE), word
    sqlglot.parse_one(create, read=target)   # still one valid statement
