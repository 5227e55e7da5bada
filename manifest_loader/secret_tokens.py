"""`${secret:NAME}` placeholders: templates write them where a secret must reach the SQL (COPY
credentials), the executor fills them from the environment at run time, and whatever people
see (plans, logs, errors) shows them as ***."""

from __future__ import annotations

import re

SECRET_TOKEN = re.compile(r"\$\{secret:([A-Za-z0-9_]+)\}")


def display_sql(sql: str) -> str:
    """SQL as shown to people: secrets the executor fills in at run time print as ***."""
    return SECRET_TOKEN.sub("***", sql)
