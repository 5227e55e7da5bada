"""Decide where a load goes: warehouse, dialect (real or emulator), connection URL, stage.

The connection URL chooses between the real warehouse and its emulator; no flag hidden in
code does. With nothing set, Snowflake means the embedded fakesnow emulator in the project's
state folder (state.py), and Redshift has no default (apply says how to get the emulator).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .dialects import Dialect, get_dialect
from .errors import UsageError
from .footer_cache import FooterCache
from .manifest import Manifest
from .state import STATE_ENV, state_dir

__all__ = ["STATE_ENV", "Target", "mask_url", "require_url", "resolve_target", "state_dir", "url_secrets"]

URL_ENV = {"redshift": "DW_SIMULATOR_REDSHIFT_URL", "snowflake": "DW_SIMULATOR_SNOWFLAKE_URL"}
STAGE_ENV = "DW_SIMULATOR_STAGE_BUCKET"

_SCHEME_DIALECT = {
    "redshift": {"postgresql": "postgres", "postgres": "postgres", "redshift": "redshift"},
    "snowflake": {"snowflake": "snowflake", "fakesnow": "fakesnow"},
}
# Up to the last '@' before the query: a password written with '@' or '/' unencoded is masked whole.
_PASSWORD = re.compile(r"(?P<head>^[^:/?#]+://[^/@:?#]*:)(?P<secret>[^?#]*)(?P<tail>@)")
_QUERY_SECRET = re.compile(r"(?P<key>(password|secret|token|private_key)[a-z_]*=)(?P<value>[^&]*)", re.IGNORECASE)


def mask_url(url: str) -> str:
    """The URL with its password (and secret-looking query values) replaced by ***."""
    masked = _PASSWORD.sub(lambda m: m.group("head") + "***" + m.group("tail"), url)
    return _QUERY_SECRET.sub(lambda m: m.group("key") + "***", masked)


def url_secrets(url: str) -> list[str]:
    """What to mask in a driver's message about this URL, longest first: the password as written and
    decoded, and its pieces around '@', '/' and ':' (a driver may split a password it misparsed)."""
    from urllib.parse import unquote

    values = [m.group("value") for m in _QUERY_SECRET.finditer(url)]
    if (match := _PASSWORD.match(url)) is not None:
        values.append(match.group("secret"))
    found: set[str] = set()
    for value in values:
        found |= {value, unquote(value)} | {part for part in re.split(r"[@/:]", value) if len(part) >= 3}
    return sorted((v for v in found if v), key=len, reverse=True)


@dataclass(frozen=True)
class Target:
    warehouse: str
    dialect: type[Dialect]
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
    def is_emulator(self) -> bool:
        return self.dialect.emulates is not None

    @property
    def fakesnow_path(self) -> Path:
        """The emulator's on-disk database folder (fakesnow:///path, else under the state dir)."""
        if self.url and self.url.startswith("fakesnow://"):
            path = self.url[len("fakesnow://"):]
            if path.strip("/"):
                return Path(path)
        return self.state / "fakesnow"

    def footer_cache(self, *, writable: bool = True) -> FooterCache:
        """Footers of source files already read, under the state dir (shared by every target)."""
        return FooterCache(self.state / "footers", writable=writable)


def require_url(target: Target) -> None:
    """A Redshift target needs a URL (the emulator is a PostgreSQL the user runs); say how to get one."""
    if target.url is None and target.warehouse == "redshift":
        raise UsageError(f"no Redshift URL: set {URL_ENV['redshift']} (or target.url in the manifest)",
                         hint="for the local Redshift emulator, run `docker compose up -d postgres` and set "
                              f"{URL_ENV['redshift']}=postgresql://postgres:postgres@127.0.0.1:5439/dev "
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
    if url is None:
        dialect = get_dialect("fakesnow" if chosen == "snowflake" else "postgres")
        source = "embedded default" if chosen == "snowflake" else f"{URL_ENV[chosen]} (not set)"
    else:
        scheme = url.split("://", 1)[0].split("+", 1)[0].lower() if "://" in url else ""
        name = _SCHEME_DIALECT[chosen].get(scheme)
        if name is None:
            known = ", ".join(f"{s}://" for s in _SCHEME_DIALECT[chosen])
            raise UsageError(f"{source} is {mask_url(url)!r}, which is not a {chosen} URL",
                             hint=f"use one of {known}")
        dialect = get_dialect(name)
    stage = manifest.stage_url or env.get(STAGE_ENV) or (state / "stage").as_uri()
    return Target(chosen, dialect, manifest.schema, url, source, stage.rstrip("/"), state,
                  aws_session_token=bool(env.get("AWS_SESSION_TOKEN")))
