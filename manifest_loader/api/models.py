"""The API's request and response models: they are the OpenAPI document."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field

Warehouse = Literal["redshift", "snowflake"]
# A manifest's file name without .yaml: dot-separated words, so never '..', a leading dot or a separator.
NAME_PATTERN = r"^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$"

ExperimentName = Annotated[str, PathParam(pattern=NAME_PATTERN, max_length=200,
                                           description="A manifest in the folder (its file name without .yaml), "
                                                       "or a dw-simulator experiment")]
Layout = Literal["schema", "prefixed"]

class PositionedError(BaseModel):
    file: str
    line: int
    col: int
    path: str
    message: str
    text: str = Field(description="The line the CLI prints: file:line:col: path: message")


class ProblemDetails(BaseModel):
    """RFC 7807 problem details; `detail` is the CLI's message, `errors` its positioned problems."""

    model_config = ConfigDict(extra="allow")
    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    hint: str | None = None
    errors: list[PositionedError] | None = None


class TableSummary(BaseModel):
    name: str
    mode: str
    source: str


class TargetSummary(BaseModel):
    warehouse: str
    schema_: str = Field(alias="schema")

    model_config = ConfigDict(populate_by_name=True)


class RunSummary(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    manifest_name: str
    manifest_file: str
    warehouse: str
    dialect: str
    target_url: str
    schema_name: str
    status: str
    started_at: datetime
    finished_at: datetime | None = None
    rows: int
    bytes: int
    error: str | None = None
    generation_run_id: str | None = None
    plan_fingerprint: str
    manifest_sha256: str


class ExperimentSummary(BaseModel):
    name: str = Field(description="The file name without .yaml: what the other endpoints take")
    file: str
    valid: bool
    manifest_name: str | None = None
    description: str | None = None
    target: TargetSummary | None = None
    tables: list[TableSummary] = []
    errors: list[PositionedError] = []
    error: str | None = None
    last_run: RunSummary | None = None


class SimulatorExperiment(BaseModel):
    """An experiment in the dw-simulator's metadata database (DW_SIMULATOR_TARGET_DB_URL)."""

    model_config = ConfigDict(extra="allow")
    name: str
    description: str | None = None
    created_at: str | None = None
    warehouse_type: str | None = Field(None, description="The simulator's own choice (it may say sqlite)")
    warehouse: str | None = Field(None, description="Where a load goes without target_warehouse")
    warehouse_reason: str | None = None
    tables: list[str] = []
    error: str | None = Field(None, description="Why its schema cannot become a manifest")
    runs: int = 0
    latest_completed_run: int | None = None


class SimulatorSummary(BaseModel):
    metadata_db: str = Field(description="The simulator's metadata database, password masked")
    experiments: list[SimulatorExperiment]


class ExperimentList(BaseModel):
    manifests_dir: str
    experiments: list[ExperimentSummary]
    simulator: SimulatorSummary | None = Field(None, description="The dw-simulator's experiments, when its metadata "
                                                                 "database is configured")


class GenerationLoad(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    status: str
    warehouse: str
    rows: int
    rows_match: bool | None = Field(None, description="Whether the load holds the rows the run generated")
    mismatches: list[str] = []


class GenerationRunSummary(BaseModel):
    """A dw-simulator generation run and the loads of its files."""

    model_config = ConfigDict(extra="allow")
    id: int
    status: str
    experiment: str | None = None
    generated: dict[str, int] = {}
    loads: list[GenerationLoad] = []


class GenerationRunList(BaseModel):
    experiment: str
    warehouse_type: str | None = None
    saved_warehouse: str | None = None
    generation_runs: list[GenerationRunSummary]


class WarehouseChoice(BaseModel):
    model_config = ConfigDict(extra="forbid")
    warehouse: Warehouse | None = Field(description="The warehouse this experiment loads into; null forgets the "
                                                    "choice (the experiment's own applies again)")


class RunList(BaseModel):
    runs: list[RunSummary]
    generation_runs: list[GenerationRunSummary] = Field(
        [], description="With the dw-simulator's metadata configured: per generation run, its loads and outcome")


class TableProgress(BaseModel):
    model_config = ConfigDict(extra="allow")
    status: str
    rows: int = 0
    bytes: int = 0
    expected_rows: int | None = None
    files: int | None = None
    seconds: float | None = None


class RunProgress(BaseModel):
    live: bool = Field(description="True while this server's thread runs the load; else from the metadata DB")
    phase: str
    rows: int
    bytes: int
    staged_bytes: int = 0
    stage_bytes: int = 0
    tables: dict[str, TableProgress]
    messages: list[str] = []


class RunTable(BaseModel):
    model_config = ConfigDict(extra="allow")
    table_name: str
    mode: str
    status: str
    files: int
    rows: int
    bytes: int
    seconds: float | None = None


class RunDetail(RunSummary):
    tables: list[RunTable]
    tables_total: int
    progress: RunProgress


class LoadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target_warehouse: Warehouse | None = Field(None, description="Override the manifest's target warehouse")
    force: bool = Field(False, description="Reload every file, even those the ledger holds")
    generation_run: str | None = Field(None, max_length=255, description="Link the load to a generation run")
    run_id: int | None = Field(None, ge=1, description="For a dw-simulator experiment: the generation run to load "
                                                      "(default: its latest COMPLETED run)")
    layout: Layout = Field("schema", description="For a dw-simulator experiment without a checked-in manifest: "
                                                 "<experiment>.<table>, or <experiment>__<table> in one schema")


class LoadAccepted(BaseModel):
    run_id: str
    status: str
    experiment: str
    target_warehouse: str
    status_url: str
    generation_run_id: int | None = Field(None, description="The dw-simulator generation run being loaded")


class ValidateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    manifest: str = Field(description="The manifest's YAML text")
    target_warehouse: Warehouse | None = None
    filename: str | None = Field(None, max_length=255, description="Name shown in error positions")


class ValidateResult(BaseModel):
    valid: bool
    manifest_name: str
    tables: int
    files: int
    table_names: list[str]


class QueryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sql: str = Field(min_length=1, max_length=100_000)
    experiment: str | None = Field(None, max_length=200, pattern=NAME_PATTERN,
                                   description="Run against this manifest's target and schema; without it, "
                                               "target_warehouse's URL and its public schema")
    target_warehouse: Warehouse | None = None
    max_rows: int = Field(1000, ge=1, le=100_000)


class QueryTarget(BaseModel):
    warehouse: str
    dialect: str
    schema_: str = Field(alias="schema")

    model_config = ConfigDict(populate_by_name=True)


class QueryResultModel(BaseModel):
    columns: list[str]
    column_kinds: list[str] = Field(description="Per column, from its values: number, boolean, text, temporal, "
                                                "binary, json or null (no value to tell)")
    rows: list[list[Any]] = Field(description="Exact values: decimals and integers beyond 2**53 as strings")
    row_count: int
    truncated: bool
    translated_sql: str | None = Field(description="The PostgreSQL that ran on the Redshift emulator; null when "
                                                   "the SQL ran as given")
    notes: list[str]
    target: QueryTarget


class TableColumn(BaseModel):
    name: str = Field(description="As the warehouse stores it")
    type: str = Field(description="As the warehouse reports it (information_schema)")
    nullable: bool


class TableDescription(BaseModel):
    name: str = Field(description="As the manifest names it")
    stored_name: str
    loaded: bool
    row_count: int | None
    columns: list[TableColumn]


class TableList(BaseModel):
    experiment: str
    target: QueryTarget
    tables: list[TableDescription]


class TableRows(QueryResultModel):
    table: str
    sql: str = Field(description="The statement that read the rows, to run or change in the query panel")

