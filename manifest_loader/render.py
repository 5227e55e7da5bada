"""Render SQL from Jinja templates, looked up along the dialect's parents.

Lookup for operation `copy` on dialect `redshift`: redshift/copy.sql.j2, postgres/copy.sql.j2,
default/copy.sql.j2 — in a user's `--templates-dir` first, then in the package's templates.
Identifiers go through the dialect's `ident` filter and values through `param()`, which emits
the driver's placeholder and records the parameter order; no SQL is built from user input.
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .dialects import Dialect
from .errors import TemplateNotFound
from .resources import resource_dir

if TYPE_CHECKING:
    import jinja2

    from .render_cache import RenderCache


@dataclass(frozen=True)
class Rendered:
    sql: str
    template: str                    # e.g. "postgres/copy.sql.j2", or "<user dir>/…" for user templates
    param_names: tuple[str, ...] = ()


@functools.cache
def compiled_templates_class() -> type[jinja2.FileSystemBytecodeCache]:
    """Jinja's cache of compiled templates, in its per-user folder (`$TMPDIR/_jinja2-cache-<uid>`,
    mode 0700 and owned by the user, which Jinja checks). Compiling a template costs about 2 ms,
    in every process, for each of the dozen or more a plan renders; an entry is used only for the
    same template file with the same text, Python and Jinja. One that cannot be read or written
    only costs that time again. (Made on first use: Jinja is imported only when a statement is
    rendered, since render_cache.py answers the others.)"""
    import jinja2

    class CompiledTemplates(jinja2.FileSystemBytecodeCache):
        def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
            try:
                super().load_bytecode(bucket)
            except Exception:   # a damaged entry (pickle, marshal and OS errors alike): compile again
                bucket.reset()

        def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
            with contextlib.suppress(OSError):
                super().dump_bytecode(bucket)

    return CompiledTemplates


@functools.cache
def _compiled_templates() -> jinja2.BytecodeCache | None:
    try:
        return compiled_templates_class()()
    except (OSError, RuntimeError):   # no safe per-user folder here: compile every time
        return None


@dataclass
class _Params:
    style: str
    names: list[str] = field(default_factory=list)

    def placeholder(self, name: str) -> str:
        self.names.append(name)
        if self.style == "numeric_dollar":
            return f"${len(self.names)}"
        if self.style == "pyformat":
            return f"%({name})s"
        if self.style == "qmark":
            return "?"
        return f":{name}"


class Renderer:
    """Templates for one dialect, with an optional user folder searched first; `cache` remembers
    what was rendered (render_cache.py), so the same statement is not rendered twice."""

    def __init__(self, dialect: type[Dialect], user_dir: Path | None = None, cache: RenderCache | None = None):
        self.dialect = dialect
        self.roots = [p for p in (user_dir, resource_dir("templates")) if p is not None]
        self.cache = cache
        self._found: dict[str, tuple[str, Path] | None] = {}

    @functools.cached_property
    def env(self) -> jinja2.Environment:
        import jinja2

        dialect = self.dialect
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader([str(p) for p in self.roots]),
            undefined=jinja2.StrictUndefined,
            autoescape=False,   # SQL, not HTML: escaping is the ident filter's and param()'s job
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            auto_reload=False,   # one plan renders hundreds of statements: load each template once
            bytecode_cache=_compiled_templates(),
        )
        env.filters["ident"] = dialect.quote
        env.filters["sql_string"] = functools.partial(sql_string, backslashes=dialect.string_backslash_escapes)
        env.globals["qualified"] = lambda *parts: ".".join(dialect.quote(p) for p in parts)
        return env

    def has(self, op: str) -> bool:
        return self._find(op) is not None

    def _find(self, op: str) -> tuple[str, Path] | None:
        if op not in self._found:
            self._found[op] = next(((f"{name}/{op}.sql.j2", root) for name in self.dialect.chain()
                                    for root in self.roots if (root / name / f"{op}.sql.j2").is_file()), None)
        return self._found[op]

    def searched(self, op: str) -> list[str]:
        return [str(root / name / f"{op}.sql.j2") if root != self.roots[-1] else f"{name}/{op}.sql.j2"
                for name in self.dialect.chain() for root in self.roots]

    def _located(self, op: str) -> tuple[str, Path]:
        """(template name, root folder) of an operation; a miss names every path searched."""
        found = self._find(op)
        if found is None:
            raise TemplateNotFound(f"No template for '{op}' (dialect '{self.dialect.name}'); searched "
                                   + ", ".join(self.searched(op)))
        return found

    def source(self, op: str) -> str:
        """The template text an operation renders from (without compiling it)."""
        name, root = self._located(op)
        return (root / name).read_text(encoding="utf-8")

    def render(self, op: str, **context: Any) -> Rendered:
        """Render one operation; a miss names every path searched."""
        cache = self.cache
        key = cache.key(op, context) if cache is not None else None
        if cache is not None and key is not None and (known := cache.get(key)) is not None:
            return Rendered(*known)
        name, root = self._located(op)
        params = _Params(self.dialect.paramstyle)
        template = self.env.get_template(name)
        sql = template.render(param=params.placeholder, dialect=self.dialect, **context)
        label = name if root == self.roots[-1] else str(root / name)
        rendered = Rendered(_tidy(sql), label, tuple(params.names))
        if cache is not None and key is not None:
            cache.put(key, (rendered.sql, rendered.template, rendered.param_names))
        return rendered


def sql_string(value: str, *, backslashes: bool = False) -> str:
    """A SQL string literal, for values that cannot be bound (COPY sources, roles). Where `\\` is an
    escape (Snowflake), it is doubled too: a value ending in `\\'` must not end the literal."""
    text = str(value).replace("\\", "\\\\") if backslashes else str(value)
    return "'" + text.replace("'", "''") + "'"


def _tidy(sql: str) -> str:
    lines = [line.rstrip() for line in sql.strip().splitlines()]
    return "\n".join(line for line in lines if line.strip())
