"""The names of the loader's own tables, which no user table may take."""

from __future__ import annotations

LEDGER_TABLE = "_manifest_loader_ledger"
# Per loaded table, the keys the manifest declared when it was last loaded (table_keys.py).
KEYS_TABLE = "_manifest_loader_keys"
STAGING_SUFFIX = "__ml_staging"
