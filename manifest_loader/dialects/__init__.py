"""Dialect registry: one small module per target, looked up by name."""

from __future__ import annotations

from .base import Dialect
from .fakesnow import Fakesnow
from .postgres import Postgres
from .redshift import Redshift
from .snowflake import Snowflake

DIALECTS: dict[str, type[Dialect]] = {d.name: d for d in (Postgres, Redshift, Snowflake, Fakesnow)}


def get_dialect(name: str) -> type[Dialect]:
    return DIALECTS[name]


__all__ = ["DIALECTS", "Dialect", "get_dialect"]
