"""Decide where a load goes: warehouse, dialect (real or emulator), connection URL, stage.

The connection URL chooses between the real warehouse and its emulator; no flag hidden in
code does. With nothing set, Snowflake means the embedded fakesnow emulator in the project's
state folder (state.py), and Redshift has no default (apply says how to get the emulator).
Which URL scheme selects which target, and what each target is, lives in registry.py.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from . import registry
from .dialects import Dialect
from .errors import UsageError
from .footer_cache import FooterCache
from .manifest import Manifest
from .registry import URL_ENV, TargetKind
from .state import STATE_ENV, state_dir
from .urls import mask_url, url_secrets

__all__ = ["STATE_ENV", "URL_ENV", "Target", "mask_url", "require_url", "resolve_target", "state_dir",
           "url_secrets"]

STAGE_ENV = "DW_SIMULATOR_STAGE_BUCKET"
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

    @property
    def display_url(self) -> str:
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
        return FooterCache(self.state / "footers", writable=writable)


def require_url(target: Target) -> None:
    """A target that is a server needs a URL (the Redshift emulator is a PostgreSQL the user runs); say how."""
    if target.url is None and not target.kind.default_without_url:
        variable = URL_ENV[target.warehouse]
        raise UsageError(f"no {target.warehouse.capitalize()} URL: set {variable} (or target.url in the manifest)",
                         hint="for the local Redshift emulator, run `docker compose up -d postgres` and set "
                              f"{variable}=postgresql://postgres:postgres@127.0.0.1:5439/dev "
                              "(any local PostgreSQL works); to use the embedded Snowflake emulator instead, "
                              "add --target-warehouse snowflake")


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
            source = "embedded default" if kind.default_without_url else f"{URL_ENV[chosen]} (not set)"
    else:
        kind = registry.by_scheme(chosen, url)
        if kind is None:
            known = ", ".join(f"{s}://" for s in registry.schemes_of(chosen))
            raise UsageError(f"{source} is {mask_url(url)!r}, which is not a {chosen} URL",
                             hint=f"use one of {known}")
    stage = manifest.stage_url or env.get(STAGE_ENV) or (state / "stage").as_uri()
    return Target(chosen, kind, manifest.schema, url, source, stage.rstrip("/"), state,
                  aws_session_token=bool(env.get("AWS_SESSION_TOKEN")))
