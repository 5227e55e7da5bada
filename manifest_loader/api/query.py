"""/api/query: run one statement against a target, as `manifest-loader query` does."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..errors import LoaderError
from .models import QueryRequest, QueryResultModel
from .problems import ApiProblem, loader_problem, problem_doc
from .service import ServiceDep

SNOWFLAKE_QUERY_WAIT = 10.0

router = APIRouter(tags=["query"])


@router.post("/api/query", response_model=QueryResultModel, responses=problem_doc(400, 404, 409, 422, 500, 502))
def run_sql(service: ServiceDep, body: QueryRequest) -> dict[str, Any]:
    """Run one statement, as `manifest-loader query` does; nothing it changes is committed.

    On the Redshift emulator the SQL is Redshift SQL, translated to PostgreSQL
    (`translated_sql` shows what ran); the Snowflake emulator translates Snowflake SQL itself.
    """
    from ..commands import query, query_target
    from ..query import jsonable

    path = service.manifest_path(body.experiment) if body.experiment is not None else None
    target = query_target(path, body.target_warehouse, service.env)
    lock = service.process_lock(target)
    if lock is not None and not lock.acquire(timeout=SNOWFLAKE_QUERY_WAIT):
        raise ApiProblem(409, "Snowflake emulator busy", "the Snowflake emulator is in use by a load of this "
                         f"server; waited {SNOWFLAKE_QUERY_WAIT:.0f}s, try again when it has finished")
    try:
        result = query(path, body.sql, body.target_warehouse, env=service.env, lock_timeout=SNOWFLAKE_QUERY_WAIT)
    except LoaderError as exc:
        raise loader_problem(exc, query=True) from None
    finally:
        if lock is not None:
            lock.release()
    rows = [[jsonable(v) for v in row] for row in result.rows[:body.max_rows]]
    return {"columns": result.columns, "rows": rows, "row_count": len(result.rows),
            "truncated": len(result.rows) > body.max_rows, "translated_sql": result.translated_sql,
            "notes": list(result.notes),
            "target": {"warehouse": target.warehouse, "dialect": target.dialect.name, "schema": target.schema}}
