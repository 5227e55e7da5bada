"""The names of the loader's own tables, which no user table may take."""

from __future__ import annotations

LEDGER_TABLE = "_manifest_loader_ledger"
# Per loaded table, the keys the manifest declared when it was last loaded (table_keys.py).
KEYS_TABLE = "_manifest_loader_keys"
# Where the registry's `marks_outside_changes` is set (the Redshift emulator): the tables written
# since the loader last committed them, one row per writing transaction, put there by a trigger on
# each loaded table (also the trigger's name) that calls MARK_FUNCTION (ledger_read.py).
CHANGED_TABLE = "_manifest_loader_changed"
MARK_FUNCTION = "_manifest_loader_mark_changed"
STAGING_SUFFIX = "__ml_staging"
