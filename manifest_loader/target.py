"""Decide where a load goes: warehouse, dialect (real or emulator), connection URL, stage.

The connection URL chooses between the real warehouse and its emulator; no flag hidden in
code does. With nothing set, Snowflake means the embedded fakesnow emulator in the project's
state folder (state.py), and Redshift the managed local PostgreSQL in that folder's `postgres/`
(localpg), started on demand by the first command that connects.
Which URL scheme selects which target, and what each target is, lives in registry.py.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from . import registry
from .dialects import Dialect
from .errors import UsageError
from .footer_cache import FooterCache
from .manifest import Manifest
from .registry import URL_ENV, TargetKind
from .state import STATE_ENV, state_dir
from .urls import mask_url, url_secrets

if TYPE_CHECKING:
    from .render import Renderer

__all__ = ["STATE_ENV", "URL_ENV", "Target", "has_server", "mask_url", "resolve_target", "state_dir",
           "url_secrets", "with_server"]

STAGE_ENV = "DW_SIMULATOR_STAGE_BUCKET"
# How a managed emulator is named in plans, run records and errors: by what it is, not by its port,
# which may change between starts (the state folder's metadata database only knows its own emulator).
MANAGED_DISPLAY = "(managed local PostgreSQL)"


@dataclass(frozen=True)
class Target:
    warehouse: str
    kind: TargetKind                         # the registry's record: what this target is and does
    schema: str
    url: str | None = field(repr=False)      # may hold a password: never print it unmasked
    url_source: str
    stage: str
    state: Path
    # Temporary AWS credentials (STS, SSO) need their session token passed to COPY as well.
    aws_session_token: bool = False
    # No URL was set and the registry's record runs its own server (localpg) for it.
    managed: bool = False

    @property
    def managed_folder(self) -> Path:
        """Where the managed PostgreSQL keeps its record and (usually) its cluster."""
        return self.state / "postgres"

    @property
    def display_url(self) -> str:
        if self.managed:
            return MANAGED_DISPLAY
        return mask_url(self.url) if self.url else "(none)"

    @property
    def dialect(self) -> type[Dialect]:
        return self.kind.dialect

    @property
    def is_emulator(self) -> bool:
        return self.kind.is_emulator

    @property
    def fakesnow_path(self) -> Path:
        """The emulator's on-disk database folder (fakesnow:///path, else under the state dir)."""
        if self.url and "://" in self.url:
            path = self.url.split("://", 1)[1]
            if path.strip("/"):
                return Path(path)
        return self.state / "fakesnow"

    def footer_cache(self, *, writable: bool = True) -> FooterCache:
        """Footers of source files already read, under the state dir (shared by every target)."""
        return FooterCache(self.cache_dir / "footers", writable=writable)

    @property
    def cache_dir(self) -> Path:
        """Where commands keep what they read and rendered, for the next command: the state dir."""
        return self.state

    def renderer(self, manifest: Manifest, templates_dir: Path | None = None) -> Renderer:
        """The renderer of the manifest's statements for this target, remembering what it rendered
        under the state dir (render_cache.py; the caller saves it)."""
        from .render import Renderer
        from .render_cache import render_cache

        renderer = Renderer(self.dialect, templates_dir)
        owner = f"{manifest.path.absolute()}\0{self.kind.name}"
        renderer.cache = render_cache(self.cache_dir / "rendered", owner, self.dialect, renderer.roots)
        return renderer


def with_server(target: Target, notify: Callable[[str], None] | None = None, env: Mapping[str, str] | None = None,
                lock_timeout: float = 60.0) -> Target:
    """The target with a URL to connect to: a managed target's server is started now unless it runs."""
    if target.url is not None or not target.managed:
        return target
    from .localpg import LocalPostgres

    server = LocalPostgres(target.state, env=env, notify=notify)
    record, _started = server.ensure_running(lock_timeout)
    return replace(target, url=server.url(record), url_source=f"127.0.0.1:{record.port}, {target.managed_folder}")


def has_server(target: Target) -> bool:
    """Whether the target has a server to ask: a URL, an embedded emulator, or a managed one that exists."""
    if target.url is not None or not target.managed:
        return True
    return (target.managed_folder / "emulator.json").is_file()


def resolve_target(manifest: Manifest, warehouse: str | None = None,
                   env: Mapping[str, str] | None = None) -> Target:
    """Pick the warehouse (CLI override, else the manifest's), its URL, dialect and stage."""
    env = os.environ if env is None else env
    chosen = warehouse or manifest.warehouse
    url: str | None
    if manifest.url and chosen == manifest.warehouse:
        url, source = manifest.url, f"{manifest.display_path}: target.url"
    else:
        url, source = env.get(URL_ENV[chosen]) or None, URL_ENV[chosen]
    state = state_dir(env, manifest.path)   # the manifest's project, not the shell's folder
    kind: TargetKind | None
    if url is None:
        kind = registry.without_url(chosen)
        supplied = kind.default_url(env, state) if kind.default_url is not None else None
        if supplied is not None:
            url, source = supplied, f"{URL_ENV[chosen]} (not set): {kind.name} default"
        else:
            source = "embedded default" if kind.default_without_url else \
                f"no {URL_ENV[chosen]}: started on demand" if kind.managed_server else f"{URL_ENV[chosen]} (not set)"
    else:
        kind = registry.by_scheme(chosen, url)
        if kind is None:
            known = ", ".join(f"{s}://" for s in registry.schemes_of(chosen))
            raise UsageError(f"{source} is {mask_url(url)!r}, which is not a {chosen} URL",
                             hint=f"use one of {known}")
    stage = manifest.stage_url or env.get(STAGE_ENV) or (state / "stage").as_uri()
    return Target(chosen, kind, manifest.schema, url, source, stage.rstrip("/"), state,
                  aws_session_token=bool(env.get("AWS_SESSION_TOKEN")), managed=url is None and kind.managed_server)
