"""The Redshift emulator's query sandbox: a user's SQL runs as a throw-away PostgreSQL login role.

The loader's own connection is usually a superuser (the test clusters, docker compose), and a
superuser's SQL can read and write files on the database host (`pg_read_file`, `COPY … TO`,
`COPY … FROM PROGRAM`). A `SET ROLE` on that connection is no wall: the query itself could say
`set_config('role', 'postgres', true)`. So the query gets its own connection, logged in as a
role that is not a superuser and not a member of pg_read_server_files, pg_write_server_files or
pg_execute_server_program, and that holds SELECT on the loaded schemas only (those with a
ledger table) through the group role QUERY_GROUP. The statement runs in a READ ONLY
transaction with a statement timeout, and is rolled back.

Each query's login role is new (random name and password, valid for a few minutes, one
connection) and dropped after the query, so concurrent queries never share a credential and a
crashed query leaves nothing usable behind (stale roles are dropped by the next query).

A loader connection that may not create roles but is itself harmless (no superuser, none of
those three roles) runs the query as itself, under the same READ ONLY transaction and timeout.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from ..errors import ConnectionFailed, LoadFailed
from ..plan import LEDGER_TABLE

if TYPE_CHECKING:
    from .adbc_session import Session
    from .postgres import AnySession, PostgresWarehouse

QUERY_GROUP = "manifest_loader_query"
LOGIN_PREFIX = "manifest_loader_q_"
ROLE_LIFETIME = "10 minutes"
# Roles whose members may touch the database host's files or run programs there.
DANGEROUS_ROLES = ("pg_read_server_files", "pg_write_server_files", "pg_execute_server_program")
_LOCK_KEY = "manifest-loader:query-sandbox"
_CONNECT_HINT = ("the Redshift emulator's pg_hba.conf must let a new role log in with a password over the "
                 "loader's URL (docker compose's PostgreSQL does)")


def _harmless(warehouse: PostgresWarehouse) -> tuple[bool, bool]:
    """(whether the loader's own role is harmless, whether it may create roles)."""
    row = warehouse.session.execute(
        "SELECT r.rolsuper, r.rolcreaterole, "
        "bool_or(pg_has_role(current_user, d.rolname, 'MEMBER')) "
        "FROM pg_roles AS r CROSS JOIN pg_roles AS d "
        "WHERE r.rolname = current_user AND d.rolname = ANY($1) GROUP BY r.rolsuper, r.rolcreaterole",
        (list(DANGEROUS_ROLES),))
    superuser, createrole, dangerous = row[0] if row else (True, False, True)
    return not superuser and not dangerous, bool(superuser or createrole)


def _prepare(warehouse: PostgresWarehouse) -> tuple[str, str]:
    """Grant the query group SELECT on every loaded schema and make this query's login role."""
    session = warehouse.session
    name = LOGIN_PREFIX + secrets.token_hex(8)
    password = secrets.token_hex(24)
    quote_ident = warehouse.target.dialect.quote
    try:
        # GRANTs from two sessions at once can fail with "tuple concurrently updated".
        session.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", (_LOCK_KEY,))
        if not session.execute("SELECT 1 FROM pg_roles WHERE rolname = $1", (QUERY_GROUP,)):
            session.execute(f"CREATE ROLE {QUERY_GROUP} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE")
        for (stale,) in session.execute(
                "SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1) AND rolvaliduntil < now()",
                (LOGIN_PREFIX,)):
            session.execute(f"DROP ROLE IF EXISTS {quote_ident(stale)}")
        loaded = session.execute("SELECT DISTINCT table_schema FROM information_schema.tables "
                                 "WHERE table_name = $1", (LEDGER_TABLE,))
        for (schema,) in loaded:
            quoted = '"' + str(schema).replace('"', '""') + '"'
            session.execute(f"GRANT USAGE ON SCHEMA {quoted} TO {QUERY_GROUP}")
            session.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {quoted} TO {QUERY_GROUP}")
        # Utility statements take no bound parameters; name and password are hex made here.
        session.execute(f"CREATE ROLE {name} LOGIN PASSWORD '{password}' IN ROLE {QUERY_GROUP} "
                        f"NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
                        f"VALID UNTIL '{_valid_until(session)}'")
        session.commit()
    except BaseException:
        warehouse.rollback()
        raise
    return name, password


def _valid_until(session: AnySession) -> str:
    return str(session.execute(f"SELECT (now() + interval '{ROLE_LIFETIME}')::text")[0][0])


def _drop(warehouse: PostgresWarehouse, name: str) -> None:
    with contextlib.suppress(Exception):
        warehouse.session.rollback()
        warehouse.session.execute(f"DROP ROLE IF EXISTS {name}")
        warehouse.session.commit()


def login_uri(uri: str, user: str, password: str) -> str:
    """The libpq URI with another user and password (host, port, database and options kept)."""
    parts = urlsplit(uri)
    host = parts.netloc.rsplit("@", 1)[-1]
    # ?user=…&password=… in the query string would win over the userinfo.
    options = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
               if k not in ("user", "password", "passfile")]
    return urlunsplit(parts._replace(netloc=f"{quote(user, safe='')}:{quote(password, safe='')}@{host}",
                                     query=urlencode(options)))


@contextlib.contextmanager
def sandbox_session(warehouse: PostgresWarehouse) -> Iterator[Session]:
    """A connection for one user query: a harmless role, READ ONLY; the caller rolls back."""
    from .adbc_session import Session
    from .pg_session import libpq_uri

    own = warehouse.session
    assert isinstance(own, Session), "queries run on the session `open_for_query` gives"
    harmless, may_create_roles = _harmless(warehouse)
    own.rollback()
    if harmless:
        yield own
        return
    if not may_create_roles:
        raise LoadFailed(f"query refuses to run as the loader's role on {warehouse.target.display_url}: it is a "
                         f"superuser or a member of {', '.join(DANGEROUS_ROLES)}, which can read and write the "
                         f"database host's files, and it may not create the restricted role queries run as",
                         hint="connect as a role with CREATEROLE (or as a non-superuser without those roles)")
    assert warehouse.target.url is not None
    name, password = _prepare(warehouse)
    try:
        try:
            session = Session(login_uri(libpq_uri(warehouse.target.url), name, password))
        except Exception as exc:
            raise ConnectionFailed(f"cannot connect to the Redshift emulator at {warehouse.target.display_url} as "
                                   f"the restricted query role: {_first_line(exc, password)}",
                                   hint=_CONNECT_HINT) from None
        try:
            session.execute("SET TIME ZONE 'UTC'")
            session.commit()
            yield session
        finally:
            with contextlib.suppress(Exception):
                session.rollback()
            session.close()
    finally:
        _drop(warehouse, name)


def begin_read_only(session: Session, timeout_seconds: float) -> None:
    """Open the query's transaction: READ ONLY, with a statement timeout, rolled back by the caller."""
    session.execute("SET TRANSACTION READ ONLY")
    session.execute(f"SET LOCAL statement_timeout = {max(1, int(timeout_seconds * 1000))}")


def _first_line(exc: Any, password: str) -> str:
    text = " ".join(str(exc).split()).replace(password, "***")
    return text[:300]
