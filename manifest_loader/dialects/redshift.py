"""Amazon Redshift: PostgreSQL plus its own types, physical design and S3 COPY.

Docs: https://docs.aws.amazon.com/redshift/latest/dg/copy-usage_notes-copy-from-columnar.html
"""

from __future__ import annotations

from typing import ClassVar

from .postgres import Postgres


class Redshift(Postgres):
    name = "redshift"
    parent = Postgres
    # Real Redshift COPY reads S3 itself: the rows never pass through the loader to be checked.
    streamed_checks: ClassVar[frozenset[str]] = frozenset()
    title = "Redshift"
    emulates = None
    sqlglot_dialect = "redshift"
    max_identifier_bytes = 127
    paramstyle = "named"  # runs through SQLAlchemy text()
    supports_advisory_lock = False
    declares_keys = True
    type_map: ClassVar[dict[str, str]] = {
        **Postgres.type_map,
        "json": "SUPER",
        "binary": "VARBYTE",
        # Redshift's bare VARCHAR is VARCHAR(256); an unbounded string needs the maximum.
        "varchar": "VARCHAR(65535)",
    }
    notes: ClassVar[dict[str, str]] = {
        "truncate": "TRUNCATE commits the open transaction on Redshift: this table's load is not "
                    "atomic with the others (use mode replace for all-or-nothing)",
    }
