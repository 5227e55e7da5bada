"""PostgreSQL's SQL, as the Redshift emulator speaks it.

Loads stream into `COPY … FROM STDIN (FORMAT binary)` (encoded by pgpq, sent by psycopg).
Redshift behaviour that matters for correctness is emulated: names fold to lowercase even when
quoted, VARCHAR(n) counts UTF-8 bytes (checked before commit). What the emulator does as a target (streamed
checks, the compatibility layer, plan notes) is its record in registry.py.
"""

from __future__ import annotations

from .base import Dialect


class Postgres(Dialect):
    name = "postgres"
    title = "the Redshift emulator (PostgreSQL)"
    sqlglot_dialect = "postgres"
    derived_column_names = "function_name"   # as Redshift: nvl(a, b) is `nvl`, whatever ran instead
    # PostgreSQL silently truncates longer names; refusing them keeps names exact.
    max_identifier_bytes = 63
    # A name must work on PostgreSQL here and on Redshift, whose reserved words differ.
    keyword_sources = ("postgres", "redshift")
    paramstyle = "numeric_dollar"  # libpq binds $1, $2, … (psycopg's RawCursor, ADBC)
    supports_advisory_lock = True
    # PostgreSQL would enforce keys that Redshift only records: the loader's checks enforce them instead.
    declares_keys = False
    # The emulator reads columns by name, but refuses what Redshift would load into the wrong
    # columns, so a manifest that loads here loads on Redshift.
    columns_by_position = True
