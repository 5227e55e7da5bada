"""One plain function per command; the CLI and the HTTP API both call these.

Heavy imports (pyarrow, boto3, drivers) happen inside the functions, so `--help` stays fast.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .plan import Plan
    from .resolve import ResolvedManifest
    from .target import Target


def validate(manifest_path: str | Path, warehouse: str | None = None,
             env: Mapping[str, str] | None = None) -> ResolvedManifest:
    """Check a manifest against the schema, its Parquet footers and the target's rules."""
    from .manifest import load_manifest
    from .resolve import resolve
    from .target import resolve_target

    manifest = load_manifest(manifest_path, env)
    target = resolve_target(manifest, warehouse, env)
    return resolve(manifest, target.dialect, hash_content=False, cache=target.footer_cache(writable=False))


def make_plan(manifest_path: str | Path, warehouse: str | None = None, templates_dir: Path | None = None,
              env: Mapping[str, str] | None = None) -> tuple[Plan, Target]:
    """Build the exact plan `apply` would run; writes nothing anywhere."""
    from .manifest import load_manifest
    from .plan import build_plan
    from .render import Renderer
    from .resolve import resolve
    from .target import resolve_target

    manifest = load_manifest(manifest_path, env)
    target = resolve_target(manifest, warehouse, env)
    resolved = resolve(manifest, target.dialect, cache=target.footer_cache(writable=False))
    return build_plan(resolved, target, Renderer(target.dialect, templates_dir)), target


def schema_text() -> str:
    """The manifest JSON Schema, for editors and CI."""
    import json

    from .resources import manifest_schema

    return json.dumps(manifest_schema(), indent=2) + "\n"
