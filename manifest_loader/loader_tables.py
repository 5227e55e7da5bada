"""The names of the loader's own tables, which no user table may take."""

from __future__ import annotations

LEDGER_TABLE = "_manifest_loader_ledger"
STAGING_SUFFIX = "__ml_staging"
