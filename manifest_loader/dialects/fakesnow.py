"""fakesnow (Snowflake SQL on DuckDB), the embedded Snowflake emulator.

It cannot read s3:// here (no DuckDB httpfs), so COPY INTO reads a local mirror of the
staged objects; see shared reference snowflake_emulator.md.
"""

from __future__ import annotations

from .snowflake import Snowflake


class Fakesnow(Snowflake):
    name = "fakesnow"
    parent = Snowflake
    title = "the Snowflake emulator (fakesnow)"
    # Values go to DuckDB as bound parameters. The connector's default, pyformat, interpolates
    # them client-side with Python's `%`, which also reads a `%` inside a quoted name: a schema
    # `100%` failed after DDL committed, and `s%(table_name)s` spliced a value into a name.
    paramstyle = "qmark"
    # DuckDB would enforce keys that Snowflake only records: the loader's checks enforce them instead.
    declares_keys = False
    # fakesnow hands the SQL to DuckDB, whose parser has keywords of its own (AT, BY, PIVOT, ASOF, …).
    keyword_sources = ("snowflake", "duckdb")
