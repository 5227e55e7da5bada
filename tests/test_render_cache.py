"""The cache of rendered statements: a hit only for the same operation, context and environment
(templates, dialect code, versions); a damaged or unwritable cache only costs a render."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from manifest_loader.cli import main
from manifest_loader.dialects import DIALECTS
from manifest_loader.render import Renderer
from manifest_loader.render_cache import RenderCache, render_cache

ROOT = Path(__file__).resolve().parent.parent


def renderer(folder: Path, templates: Path | None = None, dialect: str = "redshift") -> Renderer:
    made = Renderer(DIALECTS[dialect], templates)
    made.cache = render_cache(folder, "m.yaml", DIALECTS[dialect], made.roots)
    return made


def delete_all(made: Renderer, table: str = "t") -> str:
    return made.render("delete_all", schema="s", table=table).sql


def entries(folder: Path) -> dict[str, list[object]]:
    (path,) = folder.iterdir()
    return dict(json.loads(path.read_text())["entries"])


def tamper(folder: Path, sql: str) -> None:
    """Every entry now says `sql`: a render that returns it came from the cache."""
    (path,) = folder.iterdir()
    raw = json.loads(path.read_text())
    raw["entries"] = {k: [sql, *v[1:]] for k, v in raw["entries"].items()}
    path.write_text(json.dumps(raw))


def test_a_statement_rendered_again_comes_from_the_cache(tmp_path: Path) -> None:
    first = renderer(tmp_path / "c")
    assert delete_all(first) == "DELETE FROM s.t"
    first.cache.save()   # type: ignore[union-attr]
    tamper(tmp_path / "c", "FROM THE CACHE")
    again = renderer(tmp_path / "c")
    assert delete_all(again) == "FROM THE CACHE"
    assert again.render("delete_all", schema="s", table="t").template == "default/delete_all.sql.j2"
    # Another context is another statement.
    assert delete_all(again, "u") == "DELETE FROM s.u"
    assert again.render("delete_all", schema="s", table="t", extra=1).sql == "DELETE FROM s.t"


def test_values_of_other_types_are_other_keys() -> None:
    keys = {RenderCache.key("op", {"v": value}) for value in (1, 1.0, True, "1", [1], (1,), None)}
    assert len(keys) == 7


def test_a_context_marshal_cannot_write_is_rendered_every_time(tmp_path: Path) -> None:
    class Name(str):
        pass

    assert RenderCache.key("delete_all", {"table": Name("t")}) is None
    made = renderer(tmp_path / "c")
    assert made.render("delete_all", schema="s", table=Name("t")).sql == "DELETE FROM s.t"
    made.cache.save()   # type: ignore[union-attr]
    assert not (tmp_path / "c").exists()   # nothing was cacheable, so nothing was written


def test_a_changed_template_is_never_answered_from_the_cache(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    (templates / "postgres").mkdir(parents=True)
    template = templates / "postgres" / "delete_all.sql.j2"
    template.write_text("DELETE FROM {{ qualified(schema, table) }} WHERE 1 = 1")
    first = renderer(tmp_path / "c", templates)
    assert delete_all(first) == "DELETE FROM s.t WHERE 1 = 1"
    first.cache.save()   # type: ignore[union-attr]
    # The same size and modification time: only the content tells.
    stat = template.stat()
    template.write_text("DELETE FROM {{ qualified(schema, table) }} WHERE 2 = 2")
    os.utime(template, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert delete_all(renderer(tmp_path / "c", templates)) == "DELETE FROM s.t WHERE 2 = 2"
    # A template added to the user folder, found before the package's, is seen too.
    first = renderer(tmp_path / "c", templates)
    delete_all(first)
    first.cache.save()   # type: ignore[union-attr]
    (templates / "redshift").mkdir()
    (templates / "redshift" / "delete_all.sql.j2").write_text("DELETE FROM {{ qualified(schema, table) }} -- rs")
    assert delete_all(renderer(tmp_path / "c", templates)) == "DELETE FROM s.t -- rs"


def test_dialects_keep_their_own_statements(tmp_path: Path) -> None:
    postgres = renderer(tmp_path / "c", dialect="redshift")
    assert delete_all(postgres, "Order") == 'DELETE FROM s."order"'
    postgres.cache.save()   # type: ignore[union-attr]
    assert delete_all(renderer(tmp_path / "c", dialect="snowflake"), "Order") == 'DELETE FROM s."ORDER"'


@pytest.mark.parametrize("damage", [b"", b"{not json", b'{"format": 1, "environment": 3}', b"\x00\xff" * 50,
                                    b"[]", b"null"])
def test_a_damaged_cache_file_is_a_miss_and_is_rewritten(tmp_path: Path, damage: bytes) -> None:
    first = renderer(tmp_path / "c")
    delete_all(first)
    first.cache.save()   # type: ignore[union-attr]
    (path,) = (tmp_path / "c").iterdir()
    path.write_bytes(damage)
    again = renderer(tmp_path / "c")
    assert delete_all(again) == "DELETE FROM s.t"
    again.cache.save()   # type: ignore[union-attr]
    assert len(entries(tmp_path / "c")) == 1


def test_an_entry_of_the_wrong_shape_is_a_miss(tmp_path: Path) -> None:
    first = renderer(tmp_path / "c")
    delete_all(first)
    first.cache.save()   # type: ignore[union-attr]
    (path,) = (tmp_path / "c").iterdir()
    raw = json.loads(path.read_text())
    raw["entries"] = {k: [42, "t", []] for k in raw["entries"]}
    path.write_text(json.dumps(raw))
    assert delete_all(renderer(tmp_path / "c")) == "DELETE FROM s.t"


def test_an_unwritable_cache_only_costs_a_render(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("a file where the cache folder would be")
    made = renderer(tmp_path / "file" / "c")
    assert delete_all(made) == "DELETE FROM s.t"
    made.cache.save()   # type: ignore[union-attr]
    assert delete_all(renderer(tmp_path / "file" / "c")) == "DELETE FROM s.t"


def test_the_file_holds_what_the_last_plan_used_and_no_temporary(tmp_path: Path) -> None:
    first = renderer(tmp_path / "c")
    delete_all(first, "a")
    delete_all(first, "b")
    first.cache.save()   # type: ignore[union-attr]
    second = renderer(tmp_path / "c")
    delete_all(second, "b")
    second.cache.save()   # type: ignore[union-attr]
    assert [sql for sql, *_ in entries(tmp_path / "c").values()] == ["DELETE FROM s.b"]
    assert [p.name for p in (tmp_path / "c").iterdir() if p.name.endswith(".tmp")] == []


def test_an_edited_manifest_plans_as_if_nothing_were_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """End to end: after an edit of the manifest or of a Parquet file, the plan equals the one made
    with empty caches."""
    import pyarrow.parquet as pq

    monkeypatch.chdir(ROOT)
    for name in ("DW_SIMULATOR_REDSHIFT_URL", "DW_SIMULATOR_STAGE_BUCKET", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    manifest = tmp_path / "ecommerce.yaml"
    text = (ROOT / "manifests" / "ecommerce.yaml").read_text()
    manifest.write_text(text)
    shutil.copytree(ROOT / "manifests" / "data", tmp_path / "data")

    state = tmp_path / "state"

    def plan(*, cold: bool = False) -> str:
        if cold:   # the same state dir (the stage is in it), without the caches
            for cache in ("rendered", "footers"):
                shutil.rmtree(state / cache)
        result = CliRunner().invoke(main, ["plan", str(manifest), "--offline"],
                                    env={"MANIFEST_LOADER_STATE_DIR": str(state)})
        assert result.exit_code == 0, result.output
        return result.output

    first = plan()
    assert (state / "rendered").exists() and (state / "footers").exists()
    edited = text.replace("email: {type: varchar(320)}", "email: {type: varchar(100)}")
    assert edited != text
    manifest.write_text(edited)
    warm = plan()
    assert "varchar(100)" in warm.lower() and warm != first
    assert warm == plan(cold=True)
    products = tmp_path / "data" / "ecommerce" / "products" / "products.parquet"
    pq.write_table(pq.read_table(products).slice(0, 7), products)
    rewritten = plan()
    assert rewritten != warm and "7 rows" in rewritten
    assert rewritten == plan(cold=True)
