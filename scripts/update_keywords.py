"""Regenerate the keyword lists the dialects quote from, out of the engines themselves.

    python scripts/update_keywords.py            # duckdb.txt from the installed duckdb,
                                                 # postgres.txt from a throw-away PostgreSQL cluster

redshift.txt and snowflake.txt are transcribed from the vendors' documentation (no engine to
ask); their headers name the page. Each file is one keyword per line with its category.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "manifest_loader" / "dialects" / "keywords"


def write(name: str, source: str, rows: list[tuple[str, str]], quoted: str) -> None:
    header = [f"# source: {source}", f"# retrieved: {date.today().isoformat()} by scripts/update_keywords.py",
              f"# quoted as identifiers: {quoted}", "# keyword category"]
    body = [f"{word} {category}" for word, category in sorted(rows)]
    (FOLDER / name).write_text("\n".join(header + body) + "\n", encoding="utf-8")


def duckdb_keywords() -> None:
    import duckdb

    rows = duckdb.sql("SELECT keyword_name, keyword_category FROM duckdb_keywords()").fetchall()
    write("duckdb.txt", f"SELECT * FROM duckdb_keywords() on duckdb {duckdb.__version__}", rows,
          "every category but unreserved")


def postgres_keywords() -> None:
    sys.path.insert(0, str(ROOT))
    import adbc_driver_postgresql.dbapi as dbapi

    from tests.services import PostgresCluster

    with PostgresCluster() as cluster, dbapi.connect(cluster.url) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT word, catdesc FROM pg_get_keywords()")
        rows = [(w, c.replace(" ", "_")) for w, c in cursor.fetchall()]
        cursor.execute("SELECT current_setting('server_version')")
        version = cursor.fetchone()[0]
    write("postgres.txt", f"SELECT word, catdesc FROM pg_get_keywords() on PostgreSQL {version}", rows,
          "every category but unreserved")


if __name__ == "__main__":
    duckdb_keywords()
    postgres_keywords()
