"""Snowflake: DDL commits implicitly, unquoted names are stored in upper case.

Docs: https://docs.snowflake.com/en/sql-reference/sql/copy-into-table,
https://docs.snowflake.com/en/sql-reference/transactions
"""

from __future__ import annotations

import re
from typing import ClassVar

from .base import Dialect


class Snowflake(Dialect):
    name = "snowflake"
    title = "Snowflake"
    sqlglot_dialect = "snowflake"
    derived_column_names = "expression_upper"   # COUNT_IF(X > 1): the expression as written, upper-cased
    transactional_ddl = False
    temp_tables_in_schema = True
    max_identifier_bytes = 255
    case_folding = "upper"
    unquoted_identifier = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*\Z")
    fold_quoted = False
    varchar_counts = "characters"
    keyword_sources: ClassVar[tuple[str, ...]] = ("snowflake",)
    # https://docs.snowflake.com/en/sql-reference/data-types-text#escape-sequences-in-single-quoted-string-constants
    string_backslash_escapes = True
    paramstyle = "named"
    # https://docs.snowflake.com/en/user-guide/data-load-considerations-prepare
    load_file_bytes = (100_000_000, 250_000_000)
    load_file_advice = "warehouse thread"
    use_schema = "USE SCHEMA {schema}"
    catalog_types: ClassVar[dict[str, tuple[str, ...]]] = {
        "boolean": ("BOOLEAN",), "smallint": ("NUMBER",), "integer": ("NUMBER",), "bigint": ("NUMBER",),
        "decimal": ("NUMBER",), "real": ("FLOAT",), "double": ("FLOAT",), "varchar": ("TEXT",), "char": ("TEXT",),
        "date": ("DATE",), "time": ("TIME",), "timestamp": ("TIMESTAMP_NTZ",), "timestamptz": ("TIMESTAMP_TZ",),
        "json": ("VARIANT", "OBJECT", "ARRAY"), "binary": ("BINARY",),
    }
    type_map: ClassVar[dict[str, str]] = {
        "boolean": "BOOLEAN", "smallint": "NUMBER(5,0)", "integer": "NUMBER(10,0)",
        "bigint": "NUMBER(19,0)", "decimal": "NUMBER({precision},{scale})", "real": "FLOAT",
        "double": "FLOAT", "varchar": "VARCHAR", "varchar(n)": "VARCHAR({length})",
        "char(n)": "CHAR({length})", "date": "DATE", "time": "TIME", "timestamp": "TIMESTAMP_NTZ",
        "timestamptz": "TIMESTAMP_TZ", "json": "VARIANT", "binary": "BINARY",
    }
