"""Template lookup: the dialect chain, a user folder first, and misses that say what was searched."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from manifest_loader.dialects import DIALECTS
from manifest_loader.errors import TemplateNotFound
from manifest_loader.render import Renderer


def test_lookup_follows_the_dialect_chain() -> None:
    assert Renderer(DIALECTS["redshift"]).render("copy", schema="s", table="t", relation=["s", "t"],
                                                 column_names=["a"], manifest_key="s3://b/m.json",
                                                 iam_role="arn:aws:iam::123456789012:role/r",
                                                 serialize_to_json=False).template == "redshift/copy.sql.j2"
    assert Renderer(DIALECTS["redshift"]).render("delete_all", schema="s", table="t").template == \
        "default/delete_all.sql.j2"
    assert Renderer(DIALECTS["fakesnow"]).render("create_ledger", schema="s", table="l").template == \
        "snowflake/create_ledger.sql.j2"


def test_user_templates_win(tmp_path: Path) -> None:
    (tmp_path / "postgres").mkdir()
    (tmp_path / "postgres" / "delete_all.sql.j2").write_text("DELETE FROM {{ qualified(schema, table) }} WHERE true")
    rendered = Renderer(DIALECTS["redshift"], tmp_path).render("delete_all", schema="Sales", table="Order Lines")
    assert rendered.sql == 'DELETE FROM sales."order lines" WHERE true'
    assert rendered.template == str(tmp_path / "postgres" / "delete_all.sql.j2")


def test_a_miss_names_every_path_searched(tmp_path: Path) -> None:
    with pytest.raises(TemplateNotFound) as error:
        Renderer(DIALECTS["redshift"], tmp_path).render("vacuum")
    assert str(error.value) == (
        "No template for 'vacuum' (dialect 'redshift'); searched "
        f"{tmp_path}/redshift/vacuum.sql.j2, redshift/vacuum.sql.j2, {tmp_path}/postgres/vacuum.sql.j2, "
        f"postgres/vacuum.sql.j2, {tmp_path}/default/vacuum.sql.j2, default/vacuum.sql.j2")


def test_parameters_use_each_drivers_placeholder() -> None:
    sql = {name: Renderer(d).render("ledger_delete", schema="s", table="l").sql for name, d in DIALECTS.items()}
    assert sql["postgres"].endswith("table_name = $1")
    assert sql["fakesnow"].endswith("table_name = ?")   # bound by DuckDB, never interpolated with %
    assert sql["redshift"].endswith("table_name = :table_name")
    assert sql["snowflake"].endswith("table_name = :table_name")


def test_undefined_variables_fail_loudly() -> None:
    import jinja2

    with pytest.raises(jinja2.UndefinedError):
        Renderer(DIALECTS["postgres"]).render("delete_all", schema="s")


def test_templates_dir_option_reaches_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from manifest_loader.cli import main

    root = Path(__file__).resolve().parent.parent
    monkeypatch.chdir(root)
    (tmp_path / "default").mkdir()
    (tmp_path / "default" / "delete_all.sql.j2").write_text("DELETE FROM {{ qualified(schema, table) }} /* mine */")
    result = CliRunner().invoke(main, ["plan", "manifests/ecommerce.yaml", "--templates-dir", str(tmp_path)],
                                env={"DW_SIMULATOR_STAGE_BUCKET": "s3://local/x"})
    assert result.exit_code == 0, result.output
    assert "DELETE FROM ecommerce.customers /* mine */" in result.output


def test_the_compat_layer_fingerprint_follows_its_templates(tmp_path: Path) -> None:
    """apply reinstalls the layer when the fingerprint differs; it is read from the templates' text."""
    from manifest_loader import compat

    shipped = compat.fingerprint()
    assert compat.fingerprint() == shipped
    (tmp_path / "postgres").mkdir()
    original = Renderer(DIALECTS["postgres"]).source("compat_views")
    (tmp_path / "postgres" / "compat_views.sql.j2").write_text(original + "\n-- a local change\n")
    assert compat.fingerprint(tmp_path) != shipped


@pytest.mark.parametrize("dialect", ["snowflake", "fakesnow", "redshift"])
def test_string_literals_hold_any_value(dialect: str) -> None:
    """Issue 14, finding 10: Snowflake reads `\\` as an escape inside '…', so a stage URL ending in
    `\\'` ended the literal early; the value must come back whole, as the dialect's parser reads it."""
    import sqlglot

    folder = "s3://bucket/x\\' FILES = ('evil.parquet') --"
    sql = Renderer(DIALECTS[dialect]).render(
        "copy", relation=("s", "t"), folder=folder, file_names=["a.parquet"], manifest_key=folder,
        column_names=["c"], iam_role="arn:aws:iam::1:role/r", storage_integration="i", session_token=False,
        serialize_to_json=False).sql
    literals = [t.text for t in sqlglot.Dialect.get_or_raise(DIALECTS[dialect].sqlglot_dialect).tokenize(sql)
                if t.token_type == sqlglot.tokens.TokenType.STRING]
    assert folder in literals, (sql, literals)
    assert "evil.parquet" not in literals


def test_a_changed_template_is_compiled_again(tmp_path: Path) -> None:
    # Compiled templates are cached across processes (render.compiled_templates_class): an edit, even one
    # that keeps the file's size and mtime, must reach the next plan.
    (tmp_path / "postgres").mkdir()
    template = tmp_path / "postgres" / "delete_all.sql.j2"
    template.write_text("DELETE FROM {{ qualified(schema, table) }} WHERE 1 = 1")
    stat = template.stat()
    assert Renderer(DIALECTS["redshift"], tmp_path).render("delete_all", schema="s", table="t").sql == \
        "DELETE FROM s.t WHERE 1 = 1"
    template.write_text("DELETE FROM {{ qualified(schema, table) }} WHERE 2 = 2")
    os.utime(template, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert Renderer(DIALECTS["redshift"], tmp_path).render("delete_all", schema="s", table="t").sql == \
        "DELETE FROM s.t WHERE 2 = 2"


def test_a_damaged_compiled_template_is_compiled_again(tmp_path: Path) -> None:
    import jinja2

    from manifest_loader.render import compiled_templates_class

    cache = compiled_templates_class()(str(tmp_path / "cache"))
    (tmp_path / "cache").mkdir()
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "x.sql.j2").write_text("SELECT {{ 1 + 1 }}")

    def render() -> str:
        env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(tmp_path / "t")), bytecode_cache=cache)
        return env.get_template("x.sql.j2").render()

    assert render() == "SELECT 2"
    [entry] = (tmp_path / "cache").iterdir()
    entry.write_bytes(entry.read_bytes()[:40] + b"\x00garbage")
    assert render() == "SELECT 2"
    entry.unlink()
    (tmp_path / "cache").rmdir()   # a cache folder that went away: rendered all the same
    assert render() == "SELECT 2"
