"""fakesnow (Snowflake SQL on DuckDB), the embedded Snowflake emulator.

It cannot read s3:// here (no DuckDB httpfs), so COPY INTO reads a local mirror of the
staged objects; see shared reference snowflake_emulator.md.
"""

from __future__ import annotations

from typing import ClassVar

from .snowflake import Snowflake


class Fakesnow(Snowflake):
    name = "fakesnow"
    parent = Snowflake
    title = "the Snowflake emulator (fakesnow)"
    emulates = "snowflake"
    paramstyle = "pyformat"  # the snowflake connector's default
    declares_keys = False
    # fakesnow hands the SQL to DuckDB, whose parser has keywords of its own (AT, BY, PIVOT, ASOF, …).
    keyword_sources = ("snowflake", "duckdb")
    notes: ClassVar[dict[str, str]] = {
        "copy": "emulated: COPY INTO reads a local mirror of the staged objects (file://); "
                "real Snowflake reads S3",
        "varchar": "VARCHAR(n) is not enforced by the emulator; the loader checks lengths in characters",
        "physical": "CLUSTER BY is accepted and ignored by the emulator",
        "staging": "the emulator cannot COPY INTO a temporary table in a schema: the merge staging table "
                   "is a transient table, emptied before commit",
    }
