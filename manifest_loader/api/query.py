"""/api/query: run one statement against a target, as `manifest-loader query` does."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter

from ..errors import LoaderError
from .models import QueryRequest, QueryResultModel
from .problems import loader_problem, problem_doc
from .service import ServiceDep

if TYPE_CHECKING:
    from ..query import QueryResult

SNOWFLAKE_QUERY_WAIT = 10.0

router = APIRouter(tags=["query"])


@router.post("/api/query", response_model=QueryResultModel, responses=problem_doc(400, 404, 409, 422, 500, 502))
def run_sql(service: ServiceDep, body: QueryRequest) -> dict[str, Any]:
    """Run one statement, as `manifest-loader query` does; nothing it changes is committed.

    On the Redshift emulator the SQL is Redshift SQL, translated to PostgreSQL
    (`translated_sql` shows what ran); the Snowflake emulator translates Snowflake SQL itself.
    """
    from ..commands import query, query_target

    ref = service.manifest_ref(body.experiment, body.target_warehouse) if body.experiment is not None else None
    path, warehouse = (ref.path, ref.warehouse) if ref else (None, body.target_warehouse)
    env = ref.env if ref else service.env
    target = query_target(path, warehouse, env)
    with service.warehouse_turn(target, SNOWFLAKE_QUERY_WAIT):
        try:
            result = query(path, body.sql, warehouse, env=env, lock_timeout=SNOWFLAKE_QUERY_WAIT)
        except LoaderError as exc:
            raise loader_problem(exc, query=True) from None
    return result_body(result, body.max_rows)


def result_body(result: QueryResult, max_rows: int) -> dict[str, Any]:
    """A query's result as the API answers it: at most `max_rows` rows of exact JSON values, and their kinds."""
    from ..result_json import column_kinds, exact_json

    shown = result.rows[:max_rows]
    target = result.target
    return {"columns": result.columns, "column_kinds": column_kinds(len(result.columns), shown),
            "rows": [[exact_json(v) for v in row] for row in shown], "row_count": len(result.rows),
            "truncated": len(result.rows) > max_rows, "translated_sql": result.translated_sql,
            "notes": list(result.notes),
            "target": {"warehouse": target.warehouse, "dialect": target.dialect.name, "schema": target.schema}}
