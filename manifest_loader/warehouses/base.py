"""What the executor needs from a target connection, whichever driver is underneath."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..plan import Step

if TYPE_CHECKING:
    from ..progress import Progress
    from ..target import Target

# How long a user's query may run where the target can stop it (the Redshift emulator).
QUERY_TIMEOUT_SECONDS = 300.0


class Warehouse(ABC):
    """A connection with explicit transactions; each method runs one rendered statement."""

    dialect_name: str

    @classmethod
    @abstractmethod
    def open(cls, target: Target, progress: Progress, lock_timeout: float) -> Warehouse:
        """Connect to the target (waiting up to lock_timeout for another apply's lock where it has one)."""

    @classmethod
    def open_for_query(cls, target: Target, progress: Progress, lock_timeout: float) -> Warehouse:
        """A connection for a user's query; targets that sandbox queries on their own connection override it."""
        return cls.open(target, progress, lock_timeout)

    @abstractmethod
    def execute(self, sql: str, params: Mapping[str, Any] | None = None,
                param_names: Sequence[str] = ()) -> list[tuple[Any, ...]]:
        """Run one statement with bound parameters; return its rows (empty for DML/DDL)."""

    @abstractmethod
    def execute_many(self, sql: str, rows: Sequence[Mapping[str, Any]], param_names: Sequence[str]) -> None:
        """Run one statement once per parameter row."""

    @abstractmethod
    def begin(self) -> None: ...

    @abstractmethod
    def commit(self) -> None: ...

    @abstractmethod
    def rollback(self) -> None: ...

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def copy(self, step: Step, on_rows: Callable[[int], None]) -> int:
        """Load the step's staged files into its table; return the number of rows loaded."""

    @abstractmethod
    def relation_exists(self, schema: str, table: str) -> bool:
        """Whether schema.table exists (names as the warehouse stores them)."""

    def lock(self, step: Step) -> None:
        """Take the plan's lock; targets without one serialize some other way."""
        self.execute(step.sql, step.params[0] if step.params else None, step.param_names)

    def query(self, sql: str, schema: str,
              timeout_seconds: float = QUERY_TIMEOUT_SECONDS) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run one user statement with `schema` as the default schema; return column names and rows.
        The caller rolls back; `timeout_seconds` applies where the target can enforce it."""
        cursor = self.cursor  # type: ignore[attr-defined]
        for statement in self.use_schema_sql(schema):
            cursor.execute(statement)
        try:
            cursor.execute(sql)
        except Exception as exc:
            from ..errors import QueryFailed
            from ..sql_position import in_message

            raise QueryFailed(f"query failed: {self.describe_error(exc)}", in_message(str(exc), sql)) from None
        if not cursor.description:
            return [], []
        return [d[0] for d in cursor.description], [tuple(r) for r in cursor.fetchall()]

    def use_schema_sql(self, schema: str) -> list[str]:
        return []

    def describe_error(self, exc: Exception) -> str:
        """The first line of a driver error, for messages."""
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
