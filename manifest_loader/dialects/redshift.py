"""Amazon Redshift: PostgreSQL's SQL plus its own types, physical design and S3 COPY.

Docs: https://docs.aws.amazon.com/redshift/latest/dg/copy-usage_notes-copy-from-columnar.html

Redshift does not inherit the emulator's class (an emulator-only setting must never change
real Redshift); it names the PostgreSQL templates as its `parent` only, so a template it does
not have is PostgreSQL's.
"""

from __future__ import annotations

from typing import ClassVar

from .base import Dialect
from .postgres import Postgres


class Redshift(Dialect):
    name = "redshift"
    parent = Postgres   # the template chain: redshift/, postgres/, default/
    title = "Redshift"
    sqlglot_dialect = "redshift"
    derived_column_names = "function_name"
    # A manifest that loads on Redshift also loads on its emulator: both keyword lists apply.
    keyword_sources = ("postgres", "redshift")
    paramstyle = "named"  # runs through SQLAlchemy text()
    # ALTER COLUMN changes only VARCHAR lengths and encodings: a drifted table is created again.
    alters_nullability = False
    # Redshift reads `\` in '…' as an escape (PostgreSQL 8.0's rule; sqlglot's Redshift tokenizer agrees);
    # the emulator's PostgreSQL, with standard_conforming_strings, does not.
    string_backslash_escapes = True
    # Redshift's COPY reads Parquet columns by position (see Dialect.columns_by_position).
    columns_by_position = True
    # https://docs.aws.amazon.com/redshift/latest/dg/c_best-practices-use-multiple-files.html
    load_file_bytes = (1_000_000, 1_000_000_000)
    load_file_advice = "slice (make the file count a multiple of the cluster's slices)"
    type_map: ClassVar[dict[str, str]] = {
        **Dialect.type_map,
        "json": "SUPER",
        "binary": "VARBYTE",
        # Redshift's bare VARCHAR is VARCHAR(256); an unbounded string needs the maximum.
        "varchar": "VARCHAR(65535)",
    }
    # What the last COPY loaded (Redshift's COPY answers no count).
    copy_count_sql = "SELECT pg_last_copy_count()"
