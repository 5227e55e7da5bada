"""/api/experiments/{name}/tables: what an experiment's tables hold in a target, read through the query path."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi import Path as PathParam

from ..errors import LoaderError, UnknownTable
from .models import ExperimentName, TableList, TableRows, Warehouse
from .problems import ApiProblem, loader_problem, problem_doc
from .query import SNOWFLAKE_QUERY_WAIT, result_body
from .service import ServiceDep

router = APIRouter(tags=["query"])


@router.get("/api/experiments/{name}/tables", response_model=TableList,
            responses=problem_doc(400, 404, 409, 422, 500, 502))
def experiment_tables(service: ServiceDep, name: ExperimentName,
                      target_warehouse: Warehouse | None = None) -> dict[str, Any]:
    """Each table of the experiment in its target: loaded or not, row count, columns and types as stored.

    Read through the query path (nothing is written); a table not loaded yet has `loaded: false`.
    """
    from ..commands import describe_tables, query_target

    ref = service.manifest_ref(name, target_warehouse)   # a manifest, or a dw-simulator experiment's
    with service.warehouse_turn(query_target(ref.path, ref.warehouse, ref.env), SNOWFLAKE_QUERY_WAIT):
        try:
            preview = describe_tables(ref.path, ref.warehouse, env=ref.env, lock_timeout=SNOWFLAKE_QUERY_WAIT)
        except LoaderError as exc:
            raise loader_problem(exc, query=True) from None
    target = preview.target
    return {"experiment": name, "tables": [dataclasses.asdict(t) for t in preview.tables],
            "target": {"warehouse": target.warehouse, "dialect": target.dialect.name, "schema": target.schema}}


@router.get("/api/experiments/{name}/tables/{table}/rows", response_model=TableRows,
            responses=problem_doc(400, 404, 409, 422, 500, 502))
def table_rows(service: ServiceDep, name: ExperimentName, table: Annotated[str, PathParam(max_length=255)],
               target_warehouse: Warehouse | None = None,
               limit: Annotated[int, Query(ge=1, le=1000)] = 20) -> dict[str, Any]:
    """The first rows of one of the experiment's tables (by primary key), with the SQL that read them."""
    from ..commands import first_rows, query_target

    ref = service.manifest_ref(name, target_warehouse)
    with service.warehouse_turn(query_target(ref.path, ref.warehouse, ref.env), SNOWFLAKE_QUERY_WAIT):
        try:
            sql, result = first_rows(ref.path, table, ref.warehouse, limit, env=ref.env,
                                     lock_timeout=SNOWFLAKE_QUERY_WAIT)
        except UnknownTable as exc:
            raise ApiProblem(404, "Table not found", str(exc)) from None
        except LoaderError as exc:
            raise loader_problem(exc, query=True) from None
    return {**result_body(result, limit), "table": table, "sql": sql}
