"""PostgreSQL standing in for Redshift (the Redshift emulator).

Loads stream into `COPY … FROM STDIN (FORMAT binary)` through ADBC. Redshift behaviour that
matters for correctness is emulated: names fold to lowercase even when quoted, VARCHAR(n)
counts UTF-8 bytes (checked before commit).
"""

from __future__ import annotations

from typing import ClassVar

from .base import Dialect


class Postgres(Dialect):
    name = "postgres"
    title = "the Redshift emulator (PostgreSQL)"
    emulates = "redshift"
    sqlglot_dialect = "postgres"
    derived_column_names = "function_name"   # as Redshift: nvl(a, b) is `nvl`, whatever ran instead
    # PostgreSQL silently truncates longer names; refusing them keeps names exact.
    max_identifier_bytes = 63
    # A name must work on PostgreSQL here and on Redshift, whose reserved words differ.
    keyword_sources = ("postgres", "redshift")
    paramstyle = "numeric_dollar"  # ADBC's libpq driver binds $1, $2, …
    supports_advisory_lock = True
    declares_keys = False
    # The rows pass through the loader on their way into COPY FROM STDIN: checking them there
    # took a 10M-row apply with checks on from 45.4 s to 34.9 s (docs/benchmarks.md), and
    # single integer keys into an empty table are checked for repeats in a bitmap as they pass.
    streamed_checks = frozenset({"not_null", "varchar_length", "unique"})
    # The emulator reads columns by name, but refuses what Redshift would load into the wrong
    # columns, so a manifest that loads here loads on Redshift.
    columns_by_position = True
    # Without statistics PostgreSQL guesses row counts, and a TPC-H query over a freshly loaded
    # table took over 60 s instead of 0.85 s (docs/benchmarks.md).
    analyzes_after_load = True
    sortkey_as_index = True
    notes: ClassVar[dict[str, str]] = {
        "copy": "emulated: the loader streams the staged objects into COPY FROM STDIN "
                "(binary); real Redshift reads them from S3 itself",
        "json": "SUPER is emulated as JSON",
        "binary": "VARBYTE is emulated as BYTEA",
        "physical": "DISTSTYLE/DISTKEY are Redshift-only and dropped here",
        "sortkey": "SORTKEY is emulated by a B-tree index on the same columns (range filters and joins on them "
                   "use it; there is no sort order on disk, and INTERLEAVED is compound here)",
        "analyze": "statistics updated in the load (ANALYZE), as real Redshift's COPY does for an empty table "
                   "(STATUPDATE), so the first query after it is planned with row counts",
        "varchar": "VARCHAR(n) counts characters in PostgreSQL; the loader checks UTF-8 bytes as Redshift does",
        "truncate": "TRUNCATE is transactional here; on real Redshift it commits the transaction",
    }
