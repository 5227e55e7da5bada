"""apply against real Redshift and Snowflake, which a test machine cannot reach.

The one fake in the suite stands in for the SQLAlchemy connection (`RecordingConnection`): it
records every statement and its parameters and answers COPY, pg_last_copy_count(),
information_schema and check queries from a script. Everything else is real: the manifest,
the plan, staging to a moto S3 bucket (with Redshift's COPY manifests), the executor, the
metadata database. The connection comes in through the module's seam, `open_connection`.
"""

from __future__ import annotations

import io
import json
import os
import re
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from loadkit import copy_example

from manifest_loader.apply import apply
from manifest_loader.cli import main
from manifest_loader.commands import make_plan
from manifest_loader.errors import ConnectionFailed, LoadFailed
from manifest_loader.plan import Plan, Step, copy_manifest_uri
from manifest_loader.progress import LogProgress, Progress
from manifest_loader.runs import RunStore, metadata_url
from manifest_loader.target import Target
from manifest_loader.warehouses import sqlalchemy_warehouse
from manifest_loader.warehouses.sqlalchemy_warehouse import SqlAlchemyWarehouse, open_connection

URLS = {
    "redshift": ("DW_SIMULATOR_REDSHIFT_URL",
                 "redshift+redshift_connector://loader:rs-Secret-42@cluster.example.com:5439/dev"),
    "snowflake": ("DW_SIMULATOR_SNOWFLAKE_URL", "snowflake://loader:sf-Secret-42@acme-xy12345/analytics"),
}
PASSWORDS = ("rs-Secret-42", "sf-Secret-42")
AWS_KEY_ID = "AKIAREALWAREHOUSE42"
AWS_SECRET = "aws-Secret-42/Zq+real"
STAGE = "s3://local/dw-simulator/staging"
SNOWFLAKE_COPY_COLUMNS = ["file", "status", "rows_parsed", "rows_loaded", "error_limit", "errors_seen",
                          "first_error", "first_error_line", "first_error_character", "first_error_column_name"]
DDL = re.compile(r"^\s*(CREATE|DROP|ALTER|TRUNCATE)\b", re.IGNORECASE)
DML = re.compile(r"^\s*(DELETE|INSERT|COPY|SELECT count\(\*\) AS violations)\b", re.IGNORECASE)


# -- the recording connection ---------------------------------------------------------------------


class DriverError(Exception):
    """What a driver raises; SQLAlchemy wraps it (as `.orig`) in a DBAPIError that repeats the SQL."""


@dataclass
class Executed:
    sql: str
    params: Any          # None, one dict, or a list of dicts (executemany)
    binds: frozenset[str]


class ScriptedResult:
    """The part of sqlalchemy.engine.CursorResult the warehouse reads."""

    def __init__(self, columns: list[str] | None = None, rows: list[tuple[Any, ...]] | None = None):
        self.columns, self.rows = columns, rows or []

    @property
    def returns_rows(self) -> bool:
        return self.columns is not None

    def keys(self) -> list[str]:
        return list(self.columns or [])

    def fetchall(self) -> list[tuple[Any, ...]]:
        return list(self.rows)


@dataclass
class RecordingConnection:
    """Stands in for a SQLAlchemy Connection to a real warehouse: records, and answers from a script.

    `rows_by_file` (staged file name -> rows) and `rows_by_manifest` (COPY manifest URI -> rows)
    say what each COPY loads; `fail_on_copy` makes the n-th COPY raise like a driver would,
    with a message that repeats the statement and the URL (secrets and password included).
    """

    dialect: str
    url: str
    rows_by_file: Mapping[str, int] = field(default_factory=dict)
    rows_by_manifest: Mapping[str, int] = field(default_factory=dict)
    fail_on_copy: int | None = None
    copy_answer: list[tuple[Any, ...]] | None = None      # what COPY INTO answers, when set
    answers: dict[str, ScriptedResult] = field(default_factory=dict)   # any other statement -> its result
    statements: list[Executed] = field(default_factory=list)
    closed: bool = False
    copies: int = 0
    last_copy_count: int = 0

    @property
    def sql(self) -> list[str]:
        return [s.sql for s in self.statements]

    def execute(self, statement: Any, parameters: Any = None) -> ScriptedResult:
        assert isinstance(statement, sa.TextClause), "statements must be bound through sqlalchemy.text()"
        assert not self.closed
        binds = frozenset(statement.compile().params)
        self.statements.append(Executed(statement.text, _copy_params(parameters), binds))
        sql = statement.text
        head = sql.lstrip().upper()
        if sql in self.answers:
            return self.answers[sql]
        if head.startswith("COPY"):
            return self._copy(statement)
        if "pg_last_copy_count()" in sql:
            assert self.dialect == "redshift"
            return ScriptedResult(["pg_last_copy_count"], [(self.last_copy_count,)])
        if "information_schema" in sql:
            return ScriptedResult(["found"], [])   # an empty warehouse: no schema, no tables yet
        if head.startswith("SELECT COUNT(*) AS VIOLATIONS"):
            return ScriptedResult(["violations", "sample_value"], [(0, None)])
        assert not head.startswith("SELECT"), f"unscripted query:\n{sql}"
        return ScriptedResult()

    def _copy(self, statement: Any) -> ScriptedResult:
        self.copies += 1
        sql = statement.text
        if self.copies == self.fail_on_copy:
            raise sa.exc.ProgrammingError(sql, None, DriverError(
                f"S3ServiceException: Access Denied on {self.url} while running {' '.join(sql.split())}"))
        if self.dialect == "redshift":
            manifest = re.search(r"FROM '([^']+)'", sql)
            assert manifest, sql
            self.last_copy_count = self.rows_by_manifest[manifest.group(1)]
            return ScriptedResult()
        if self.copy_answer is not None:
            return ScriptedResult(SNOWFLAKE_COPY_COLUMNS[:len(self.copy_answer[0])], self.copy_answer)
        folder = re.search(r"FROM '([^']+)'", sql)
        files = re.search(r"FILES = \(([^)]*)\)", sql)
        assert folder and files, sql
        names = re.findall(r"'([^']+)'", files.group(1))
        return ScriptedResult(SNOWFLAKE_COPY_COLUMNS, [
            (folder.group(1) + name, "LOADED", self.rows_by_file[name], self.rows_by_file[name], 1, 0,
             None, None, None, None) for name in names])

    def close(self) -> None:
        self.closed = True


def _copy_params(parameters: Any) -> Any:
    if parameters is None:
        return None
    if isinstance(parameters, Mapping):
        return dict(parameters)
    return [dict(p) for p in parameters]


@dataclass
class Recorder:
    """The factory put in place of `open_connection`; keeps every connection it handed out."""

    dialect: str
    fail_on_copy: int | None = None
    plan: Plan | None = None
    connections: list[RecordingConnection] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)

    def __call__(self, target: Target) -> RecordingConnection:
        assert self.plan is not None
        files = [f for t in self.plan.tables for f in t.files]
        connection = RecordingConnection(
            self.dialect, target.url or "",
            rows_by_file={f.name: f.source.rows for f in files},
            rows_by_manifest={copy_manifest_uri(t.files): t.rows for t in self.plan.tables if t.files},
            fail_on_copy=self.fail_on_copy)
        self.targets.append(target)
        self.connections.append(connection)
        return connection

    @property
    def connection(self) -> RecordingConnection:
        assert len(self.connections) == 1
        return self.connections[0]


# -- fixtures ---------------------------------------------------------------------------------------


@pytest.fixture
def real_env(tmp_path: Path, s3_env: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """moto S3 as the stage, the state under tmp_path, no URL yet; returns the state folder."""
    state = tmp_path / "state"
    monkeypatch.setenv("MANIFEST_LOADER_STATE_DIR", str(state))
    monkeypatch.setenv("DW_SIMULATOR_STAGE_BUCKET", STAGE)
    for name in ("DW_SIMULATOR_REDSHIFT_URL", "DW_SIMULATOR_SNOWFLAKE_URL", "DW_SIMULATOR_TARGET_DB_URL"):
        monkeypatch.delenv(name, raising=False)
    return state


def use_warehouse(warehouse: str, monkeypatch: pytest.MonkeyPatch, manifest: Path,
                  fail_on_copy: int | None = None) -> Recorder:
    """Point the target at the real warehouse's URL and put the recording connection in place."""
    variable, url = URLS[warehouse]
    monkeypatch.setenv(variable, url)
    recorder = Recorder(warehouse, fail_on_copy)
    recorder.plan = make_plan(manifest, warehouse)[0]
    monkeypatch.setattr(sqlalchemy_warehouse, "open_connection", recorder)
    return recorder


@pytest.fixture
def example(tmp_path: Path) -> Path:
    return copy_example(tmp_path)


@pytest.fixture
def keyless_example(tmp_path: Path, real_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The example without iam_role / storage_integration: COPY needs the AWS keys of the environment."""
    manifest = copy_example(tmp_path)
    text = manifest.read_text(encoding="utf-8")
    for block in ("  redshift:\n    iam_role: arn:aws:iam::123456789012:role/manifest-loader\n",
                  "  snowflake:\n    storage_integration: s3_int\n"):
        assert block in text
        text = text.replace(block, "")
    manifest.write_text(text, encoding="utf-8")
    # moto takes any credentials, so the stage works with these recognisable ones.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", AWS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    yield manifest


# -- what the plan says must run --------------------------------------------------------------------


def with_secrets(sql: str) -> str:
    return re.sub(r"\$\{secret:([A-Z0-9_]+)\}", lambda m: os.environ[m.group(1)], sql)


def expected_statements(plan: Plan) -> list[str]:
    """Every statement apply must send, in order: the plan's steps inside their transaction."""
    out: list[str] = []
    for step in plan.steps:
        if step.transactional and "BEGIN" not in out:
            out.append("BEGIN")
        out.append(with_secrets(step.sql))
        if step.action == "copy" and plan.dialect == "redshift":
            out.append("SELECT pg_last_copy_count()")
    return [*out, "COMMIT"]


def is_introspection(statement: Executed) -> bool:
    """The reads apply does besides the plan: drift check (columns) and ledger lookup (tables)."""
    return statement.sql.lstrip().upper().startswith("SELECT") and "information_schema" in statement.sql


def plan_stream(connection: RecordingConnection) -> list[Executed]:
    return [s for s in connection.statements if not is_introspection(s)]


def assert_runs_exactly_the_plan(connection: RecordingConnection, plan: Plan, run_id: str) -> None:
    stream = plan_stream(connection)
    assert [s.sql for s in stream] == expected_statements(plan)
    steps = iter(plan.steps)
    for executed in stream:
        if executed.sql in ("BEGIN", "COMMIT", "SELECT pg_last_copy_count()"):
            assert executed.params is None and not executed.binds
            continue
        step = next(steps)
        assert_parameters(executed, step, run_id)
    assert next(steps, None) is None
    assert connection.closed


def assert_parameters(executed: Executed, step: Step, run_id: str) -> None:
    """Named binds exactly as the step declares them; the executor adds run_id (and the S3 version)."""
    assert executed.binds == frozenset(step.param_names), step.sql
    if not step.params:
        assert executed.params is None
        return
    if step.action == "ledger":
        assert isinstance(executed.params, list) and len(executed.params) == len(step.params)
        for sent, planned in zip(executed.params, step.params, strict=True):
            assert set(sent) == set(step.param_names)
            assert {k: sent[k] for k in planned if k in sent} == {k: planned[k] for k in planned if k in sent}
            if "run_id" in step.param_names:
                assert sent["run_id"] == run_id
        return
    assert executed.params == {name: step.params[0][name] for name in step.param_names}


def transaction(connection: RecordingConnection) -> tuple[list[str], list[str], list[str]]:
    """Statements before BEGIN, between BEGIN and COMMIT/ROLLBACK, and after."""
    sql = connection.sql
    begin = sql.index("BEGIN")
    end = next(i for i in range(begin, len(sql)) if sql[i] in ("COMMIT", "ROLLBACK"))
    return sql[:begin], sql[begin + 1:end], sql[end + 1:]


def s3_object(uri: str) -> dict[str, Any]:
    import boto3

    bucket, key = uri[len("s3://"):].split("/", 1)
    return boto3.client("s3").get_object(Bucket=bucket, Key=key)


def metadata_rows(state: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every row of load_runs and of load_run_tables, as the metadata SQLite database holds them."""
    path = metadata_url(state)[len("sqlite:///"):]
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        runs = [dict(r) for r in db.execute("SELECT * FROM load_runs")]
        tables = [dict(r) for r in db.execute("SELECT * FROM load_run_tables")]
    return runs, tables


# -- apply, statement by statement --------------------------------------------------------------------


def test_redshift_apply_runs_the_plan_in_one_transaction(example: Path, real_env: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = use_warehouse("redshift", monkeypatch, example)
    plan = recorder.plan
    assert plan is not None and plan.dialect == "redshift"

    result = apply(example, "redshift")

    assert result.changed and result.rows == 2274
    connection = recorder.connection
    assert recorder.targets[0].url == URLS["redshift"][1]
    assert_runs_exactly_the_plan(connection, plan, result.run_id)
    before, inside, after = transaction(connection)
    assert before and all("information_schema" in s for s in before)   # only the drift check and ledger lookup
    assert after == [] and connection.sql.count("BEGIN") == 1 and connection.sql.count("COMMIT") == 1
    # Redshift's DDL is transactional: schema, tables and data commit together.
    assert all(step.transactional for step in plan.steps)
    ddl = [s for s in inside if DDL.match(s)]
    assert len(ddl) == len([s for s in plan.steps if DDL.match(s.sql)]) >= 6
    copies = [s for s in inside if s.startswith("COPY")]
    assert len(copies) == 4 and all("IAM_ROLE 'arn:aws:iam::123456789012:role/manifest-loader'" in s for s in copies)
    # Each COPY's row count is read right after it, in the same session.
    sql = connection.sql
    for i, statement in enumerate(sql):
        if statement.startswith("COPY"):
            assert sql[i + 1] == "SELECT pg_last_copy_count()"

    # The COPY manifests are on S3 and list exactly the staged objects, with their sizes.
    for table in plan.tables:
        key = copy_manifest_uri(table.files)
        assert any(f"FROM '{key}'" in s for s in copies)
        manifest = json.loads(s3_object(key)["Body"].read())
        assert manifest == {"entries": [{"url": f.staged_uri, "mandatory": True,
                                         "meta": {"content_length": f.source.size}} for f in table.files]}
        for f in table.files:
            staged = s3_object(f.staged_uri)
            assert staged["ContentLength"] == f.source.size == os.path.getsize(f.source.local_path or "")
    assert [r["status"] for r in RunStore(metadata_url(real_env)).list()] == ["succeeded"]


def test_snowflake_apply_keeps_ddl_out_of_the_transaction(example: Path, real_env: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = use_warehouse("snowflake", monkeypatch, example)
    plan = recorder.plan
    assert plan is not None and plan.dialect == "snowflake"

    result = apply(example, "snowflake")

    assert result.changed and result.rows == 2274
    connection = recorder.connection
    assert_runs_exactly_the_plan(connection, plan, result.run_id)
    before, inside, after = transaction(connection)
    assert connection.sql.count("BEGIN") == 1 and connection.sql.count("COMMIT") == 1 and after == []
    assert not [s for s in inside if DDL.match(s)], "DDL inside BEGIN … COMMIT commits the transaction early"
    # The plan puts every DDL statement before the transaction and every data change inside it.
    assert all(bool(DDL.match(s.sql)) != s.transactional for s in plan.steps)
    assert all(bool(DML.match(s.sql)) == s.transactional for s in plan.steps)
    ddl = [s.sql for s in plan.steps if not s.transactional]
    dml = [with_secrets(s.sql) for s in plan.steps if s.transactional]
    assert len(ddl) >= 7 and [s for s in before if not s.lstrip().upper().startswith("SELECT")] == ddl
    assert [s for s in inside if "information_schema" not in s] == dml
    assert not [s for s in before if DML.match(s)]
    copies = [s for s in inside if s.startswith("COPY INTO")]
    assert len(copies) == 4 and all("STORAGE_INTEGRATION = s3_int" in s for s in copies)
    # The files COPY INTO names are on the stage, under the folder it reads.
    for table in plan.tables:
        for f in table.files:
            assert s3_object(f.staged_uri)["ContentLength"] == f.source.size
            assert any(f"FROM '{f.staged_uri.rsplit('/', 1)[0]}/'" in s and f"'{f.name}'" in s for s in copies)


@pytest.mark.parametrize("warehouse", ["redshift", "snowflake"])
def test_failure_mid_load_rolls_back_and_is_recorded(warehouse: str, example: Path, real_env: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = use_warehouse(warehouse, monkeypatch, example, fail_on_copy=2)

    with pytest.raises(LoadFailed) as caught:
        apply(example, warehouse)

    message = str(caught.value)
    assert "Access Denied" in message and "statement: COPY" in message
    assert not any(p in message for p in PASSWORDS)
    assert "[SQL:" not in message and "DriverError" not in message   # the driver's words, not SQLAlchemy's wrapper
    connection = recorder.connection
    _, inside, after = transaction(connection)
    assert connection.sql[-1] == "ROLLBACK" and "COMMIT" not in connection.sql and after == []
    assert len([s for s in inside if s.startswith("COPY")]) == 2
    assert connection.closed
    runs = RunStore(metadata_url(real_env)).list()
    assert [r["status"] for r in runs] == ["failed"]
    assert "Access Denied" in runs[0]["error"] and not any(p in runs[0]["error"] for p in PASSWORDS)


# -- secrets --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("warehouse", ["redshift", "snowflake"])
def test_aws_keys_reach_only_the_driver(warehouse: str, keyless_example: Path, real_env: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = keyless_example
    recorder = use_warehouse(warehouse, monkeypatch, manifest)
    secrets = (AWS_SECRET, *PASSWORDS)

    for fmt in ("text", "json", "markdown"):
        shown = CliRunner().invoke(main, ["plan", str(manifest), "--target-warehouse", warehouse, "--format", fmt])
        assert shown.exit_code == 0, shown.output
        assert "***" in shown.output and not any(s in shown.output for s in secrets)
        assert AWS_KEY_ID not in shown.output

    log = io.StringIO()
    result = apply(manifest, warehouse, progress=LogProgress(log))
    assert recorder.plan is not None
    assert result.changed
    copies = [s for s in recorder.connection.sql if s.startswith("COPY")]
    assert len(copies) == 4
    assert all(AWS_SECRET in s and AWS_KEY_ID in s and "${secret:" not in s for s in copies)
    assert_runs_exactly_the_plan(recorder.connection, recorder.plan, result.run_id)
    assert "loaded customers" in log.getvalue()

    # A driver error that repeats the statement (keys included) and the URL (password included).
    failing = use_warehouse(warehouse, monkeypatch, manifest, fail_on_copy=2)
    with pytest.raises(LoadFailed) as caught:
        apply(manifest, warehouse, progress=LogProgress(log))
    failed_copy = [s for s in failing.connection.sql if s.startswith("COPY")][-1]
    assert AWS_SECRET in failed_copy and failing.connection.sql[-1] == "ROLLBACK"
    message = str(caught.value)
    assert "***" in message
    for text in (message, repr(caught.value), log.getvalue()):
        assert not any(s in text for s in secrets) and AWS_KEY_ID not in text
    assert caught.value.__context__ is None and caught.value.__cause__ is None

    runs, tables = metadata_rows(real_env)
    assert sorted(r["status"] for r in runs) == ["failed", "succeeded"] and len(tables) == 4
    dumped = json.dumps(runs + tables, default=str)
    assert not any(s in dumped for s in secrets) and AWS_KEY_ID not in dumped


def test_missing_aws_key_names_the_variable_and_the_manifest_setting(keyless_example: Path, real_env: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = use_warehouse("snowflake", monkeypatch, keyless_example)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(LoadFailed) as caught:
        apply(keyless_example, "snowflake")
    assert "AWS_SECRET_ACCESS_KEY is not set" in str(caught.value)
    assert "storage_integration" in str(caught.value)
    connection = recorder.connection
    assert connection.sql[-1] == "ROLLBACK" and not any(s.startswith("COPY") for s in connection.sql)


# -- the warehouse on its own -------------------------------------------------------------------------


def warehouse_for(dialect: str, connection: RecordingConnection, example: Path,
                  monkeypatch: pytest.MonkeyPatch) -> tuple[SqlAlchemyWarehouse, Plan]:
    variable, url = URLS[dialect]
    monkeypatch.setenv(variable, url)
    plan, target = make_plan(example, dialect)
    return SqlAlchemyWarehouse(lambda _: connection, target, Progress()), plan


def copy_step(plan: Plan, table: str) -> Step:
    return next(s for s in plan.steps if s.action == "copy" and s.table == table)


def test_snowflake_copy_into_failure_names_the_file_and_its_first_error(example: Path, real_env: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    connection = RecordingConnection("snowflake", URLS["snowflake"][1], copy_answer=[
        ("s3://local/x/a.parquet", "LOADED", 120, 120, 1, 0, None, None, None, None),
        ("s3://local/x/b.parquet", "LOAD_FAILED", 80, 0, 1, 1, "Numeric value 'abc' is not recognized", 3, 7,
         '"CUSTOMERS"["CUSTOMER_ID":1]'),
    ])
    warehouse, plan = warehouse_for("snowflake", connection, example, monkeypatch)
    with pytest.raises(LoadFailed) as caught:
        warehouse.copy(copy_step(plan, "customers"), lambda rows: None)
    assert "LOAD_FAILED for s3://local/x/b.parquet: Numeric value 'abc' is not recognized" in str(caught.value)


def test_snowflake_copy_into_sums_rows_and_reports_zero_files_as_zero(example: Path, real_env: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    connection = RecordingConnection("snowflake", URLS["snowflake"][1], copy_answer=[
        ("s3://local/x/a.parquet", "LOADED", 120, 120, 1, 0, None, None, None, None),
        ("s3://local/x/b.parquet", "LOADED", 80, 80, 1, 0, None, None, None, None),
    ])
    warehouse, plan = warehouse_for("snowflake", connection, example, monkeypatch)
    seen: list[int] = []
    assert warehouse.copy(copy_step(plan, "customers"), seen.append) == 200
    assert seen[-1] == 200
    connection.copy_answer = [("Copy executed with 0 files processed.",)]
    assert warehouse.copy(copy_step(plan, "customers"), seen.append) == 0


def test_relation_exists_binds_the_stored_names(example: Path, real_env: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    connection = RecordingConnection("snowflake", URLS["snowflake"][1])
    warehouse, _ = warehouse_for("snowflake", connection, example, monkeypatch)
    assert warehouse.relation_exists("ECOMMERCE", "_MANIFEST_LOADER_LEDGER") is False
    executed = connection.statements[-1]
    assert executed.binds == {"schema_name", "table_name"}
    assert executed.params == {"schema_name": "ECOMMERCE", "table_name": "_MANIFEST_LOADER_LEDGER"}


def test_a_colon_word_in_a_literal_is_not_a_parameter(example: Path, real_env: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    sql = "SELECT 'a :b' AS v, :x AS w"
    connection = RecordingConnection("redshift", URLS["redshift"][1])
    warehouse, _ = warehouse_for("redshift", connection, example, monkeypatch)
    connection.answers[sql.replace(" :b", " \\:b")] = ScriptedResult(["v", "w"], [("a :b", 1)])
    assert warehouse.execute(sql, {"x": 1}, ("x",)) == [("a :b", 1)]
    executed = connection.statements[-1]
    assert executed.binds == {"x"} and executed.params == {"x": 1}
    # text() turns the escaped colon back into the literal the SQL had.
    assert sa.text(executed.sql).compile().string == "SELECT 'a :b' AS v, :x AS w"


def test_missing_driver_says_what_to_install(example: Path, real_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        import sqlalchemy_redshift  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("sqlalchemy-redshift is installed here")
    monkeypatch.setenv(*URLS["redshift"])
    _, target = make_plan(example, "redshift")
    with pytest.raises(ConnectionFailed) as caught:
        open_connection(target)
    assert "pip install sqlalchemy-redshift redshift_connector" in str(caught.value)
    assert "rs-Secret-42" not in str(caught.value)
