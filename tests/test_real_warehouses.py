"""apply against real Redshift and Snowflake, which a test machine cannot reach.

Only the network is fake (tests/warehouse_fake.py): a DB-API connection under the real
SQLAlchemy dialects (sqlalchemy-redshift with redshift_connector, snowflake-sqlalchemy with
snowflake-connector), whose "server" records each statement as the driver's own binding code
would send it and answers COPY, pg_last_copy_count(), information_schema and check queries from
a script. Everything else is real: the manifest, the plan, the dialect's compilation and
execution (paramstyle, `%` escaping, executemany), staging to a moto S3 bucket (with Redshift's
COPY manifests), the executor, the metadata database. The fake comes in through
`open_connection`'s `creator`.
"""

from __future__ import annotations

import functools
import io
import itertools
import json
import os
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from loadkit import copy_example
from warehouse_fake import Executed, FakeWarehouse, snowflake_literal

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
DDL = re.compile(r"^\s*(CREATE|DROP|ALTER|TRUNCATE)\b", re.IGNORECASE)
DML = re.compile(r"^\s*(DELETE|INSERT|COPY|SELECT count\(\*\) AS violations)\b", re.IGNORECASE)
# text()'s bind syntax, as SQLAlchemy itself parses it.
BIND = sa.sql.elements.TextClause._bind_params_regex
_real_open_connection = open_connection


@dataclass
class Recorder:
    """Put in place of `open_connection`: the real one, with a fake warehouse behind the real dialect."""

    dialect: str
    fail_on_copy: int | None = None
    plan: Plan | None = None
    connections: list[FakeWarehouse] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)

    def __call__(self, target: Target) -> Any:
        assert self.plan is not None
        files = [f for t in self.plan.tables for f in t.files]
        connection = FakeWarehouse(
            self.dialect, target.url or "",
            rows_by_file={f.name: f.source.rows for f in files},
            rows_by_manifest={copy_manifest_uri(t.files): t.rows for t in self.plan.tables if t.files},
            fail_on_copy=self.fail_on_copy)
        self.targets.append(target)
        self.connections.append(connection)
        return _real_open_connection(target, creator=lambda: connection)

    @property
    def connection(self) -> FakeWarehouse:
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


def expected_statements(plan: Plan) -> list[str | Step]:
    """Every statement apply must send, in order: the plan's steps inside their transaction."""
    out: list[str | Step] = []
    for step in plan.steps:
        if step.transactional and "BEGIN" not in out:
            out.append("BEGIN")
        out.append(step)
        if step.action == "copy" and plan.dialect == "redshift":
            out.append("SELECT pg_last_copy_count()")
    return [*out, "COMMIT"]


def is_introspection(statement: Executed) -> bool:
    """The reads apply does besides the plan: drift check (columns) and ledger lookup (tables)."""
    return statement.sql.lstrip().upper().startswith("SELECT") and "information_schema" in statement.sql


def plan_stream(connection: FakeWarehouse) -> list[Executed]:
    return [s for s in connection.statements if not is_introspection(s)]


def bind_names(sql: str, names: tuple[str, ...] | list[str]) -> list[str]:
    """The step's binds in the order they occur in its SQL (a name may occur twice)."""
    return [m.group(1) for m in BIND.finditer(sql) if m.group(1) in names]


def sent_values(executed: Executed, step: Step) -> dict[str, Any] | None:
    """The values the dialect handed the driver, by bind name (format style sends them by position)."""
    if executed.parameters is None or not step.param_names:
        return None
    if isinstance(executed.parameters, dict):
        return dict(executed.parameters)
    names = bind_names(step.sql, step.param_names)
    assert len(names) == len(executed.parameters), (step.sql, executed.parameters)
    values: dict[str, Any] = {}
    for name, value in zip(names, executed.parameters, strict=True):
        assert values.setdefault(name, value) == value
    return values


def on_the_wire(sql: str, dialect: str, names: tuple[str, ...] | list[str], values: dict[str, Any] | None) -> str:
    """The plan's SQL as the server must receive it: as written when nothing is bound, else each bind
    as the driver sends it ($n for redshift_connector, a literal for snowflake-connector)."""
    if not values:
        return sql
    position = itertools.count(1)

    def bind(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            return match.group(0)
        return f"${next(position)}" if dialect == "redshift" else snowflake_literal(values[match.group(1)])

    return BIND.sub(bind, sql)


def assert_runs_exactly_the_plan(connection: FakeWarehouse, plan: Plan, run_id: str) -> None:
    stream = plan_stream(connection)
    expected = expected_statements(plan)
    # A ledger step is one executemany: one statement per row on the wire.
    assert len(stream) == sum(len(item.params) if isinstance(item, Step) and item.action == "ledger" else 1
                              for item in expected)
    executed_steps = iter(stream)
    for item in expected:
        if isinstance(item, str):
            executed = next(executed_steps)
            assert executed.sql == item and executed.parameters is None and executed.args is None
            continue
        rows = [next(executed_steps) for _ in range(len(item.params) if item.action == "ledger" else 1)]
        sent = [sent_values(executed, item) for executed in rows]
        for executed, values in zip(rows, sent, strict=True):
            # SQLAlchemy hands one row to execute(), several to executemany().
            assert executed.many == (item.action == "ledger" and len(item.params) > 1)
            assert executed.sql == on_the_wire(with_secrets(item.sql), plan.dialect, item.param_names, values)
        assert_parameters(sent, item, run_id)
    assert next(executed_steps, None) is None
    assert connection.closed


def assert_parameters(sent: list[dict[str, Any] | None], step: Step, run_id: str) -> None:
    """Named binds exactly as the step declares them; the executor adds run_id (and the S3 version)."""
    if not step.params:
        assert sent == [None]
        return
    if step.action == "ledger":
        assert len(sent) == len(step.params)
        for values, planned in zip(sent, step.params, strict=True):
            assert values is not None and set(values) == set(step.param_names)
            assert {k: values[k] for k in planned if k in values} == {k: planned[k] for k in planned if k in values}
            if "run_id" in step.param_names:
                assert values["run_id"] == run_id
        return
    assert sent == [{name: step.params[0][name] for name in step.param_names}]


def transaction(connection: FakeWarehouse) -> tuple[list[str], list[str], list[str]]:
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
    assert len(ddl) >= 7 and [s for s in before if not s.lstrip().upper().startswith("SELECT")] == ddl
    assert all(DML.match(s) for s in inside if "information_schema" not in s)
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
    assert "[SQL:" not in message and "ProgrammingError" not in message   # the driver's words, not SQLAlchemy's wrapper
    connection = recorder.connection
    before, inside, after = transaction(connection)
    assert "ROLLBACK" in connection.sql and "COMMIT" not in connection.sql
    # Snowflake's DDL committed before BEGIN: the tables this apply created are dropped again, last
    # first; Redshift's DDL was inside the transaction, so nothing follows the ROLLBACK.
    created = [m.group(1) for m in map(re.compile(r"CREATE (?:\w+ )*TABLE (?:IF NOT EXISTS )?([^\s(]+)").match, before)
               if m]
    assert after == [f"DROP TABLE IF EXISTS {name}" for name in reversed(created)]
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
        shown = CliRunner().invoke(main, ["plan", str(manifest), "--target-warehouse", warehouse, "--format", fmt,
                                          "--offline"])
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
    assert AWS_SECRET in failed_copy and transaction(failing.connection)[1][-1] == failed_copy
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
    assert "ROLLBACK" in connection.sql and not any(s.startswith("COPY") for s in connection.sql)
    assert all(s.startswith("DROP TABLE IF EXISTS") for s in transaction(connection)[2])   # what it created


# -- the warehouse on its own -------------------------------------------------------------------------


def warehouse_for(dialect: str, connection: FakeWarehouse, example: Path,
                  monkeypatch: pytest.MonkeyPatch) -> tuple[SqlAlchemyWarehouse, Plan]:
    variable, url = URLS[dialect]
    monkeypatch.setenv(variable, url)
    plan, target = make_plan(example, dialect)
    factory = functools.partial(_real_open_connection, creator=lambda: connection)
    return SqlAlchemyWarehouse(factory, target, Progress()), plan


def copy_step(plan: Plan, table: str) -> Step:
    return next(s for s in plan.steps if s.action == "copy" and s.table == table)


def test_snowflake_copy_into_failure_names_the_file_and_its_first_error(example: Path, real_env: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    connection = FakeWarehouse("snowflake", URLS["snowflake"][1], copy_answer=[
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
    connection = FakeWarehouse("snowflake", URLS["snowflake"][1], copy_answer=[
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
    connection = FakeWarehouse("snowflake", URLS["snowflake"][1])
    warehouse, _ = warehouse_for("snowflake", connection, example, monkeypatch)
    assert warehouse.relation_exists("ECOMMERCE", "_MANIFEST_LOADER_LEDGER") is False
    executed = connection.statements[-1]
    assert executed.parameters == {"schema_name": "ECOMMERCE", "table_name": "_MANIFEST_LOADER_LEDGER"}
    assert executed.sql.endswith("WHERE table_schema = 'ECOMMERCE' AND table_name = '_MANIFEST_LOADER_LEDGER'")


def test_a_colon_word_in_a_literal_is_not_a_parameter(example: Path, real_env: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    sql = "SELECT 'a :b' AS v, :x AS w"
    connection = FakeWarehouse("redshift", URLS["redshift"][1])
    warehouse, _ = warehouse_for("redshift", connection, example, monkeypatch)
    connection.answers["SELECT 'a :b' AS v, $1 AS w"] = (["v", "w"], [("a :b", 1)])
    assert warehouse.execute(sql, {"x": 1}, ("x",)) == [("a :b", 1)]
    executed = connection.statements[-1]
    assert executed.args == (1,) and executed.parameters == (1,)


# -- what the real dialects and drivers do to the SQL -------------------------------------------------


ODD_NAMES = ["pct%", "100%%", "a:b", "x :y", 'say "hi"', "%(run_id)s", "50% off"]


@pytest.fixture
def odd_names(tmp_path: Path, real_env: Path) -> Path:
    """A table and columns whose names hold what paramstyles treat specially: %, %%, :name, quotes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "odd"
    (folder / "data").mkdir(parents=True)
    for part in range(2):   # two files: two ledger rows, so the ledger insert is an executemany
        pq.write_table(pa.table({name: pa.array([i, part], pa.int64()) for i, name in enumerate(ODD_NAMES)}),
                       folder / "data" / f"part-{part}.parquet")
    manifest = folder / "odd.yaml"
    manifest.write_text("version: 1\nname: odd\ntarget:\n  warehouse: redshift\n  schema: odd\n"
                        "  redshift: {iam_role: 'arn:aws:iam::123456789012:role/manifest-loader'}\n"
                        "  snowflake: {storage_integration: s3_int}\n"
                        "tables:\n  - name: 'rate%:x'\n    source: data/\n    mode: append\n", encoding="utf-8")
    return manifest


@pytest.mark.parametrize("warehouse", ["redshift", "snowflake"])
def test_names_the_paramstyles_treat_specially_reach_the_warehouse_as_planned(
        warehouse: str, odd_names: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = use_warehouse(warehouse, monkeypatch, odd_names)
    assert recorder.plan is not None

    result = apply(odd_names, warehouse)

    assert result.changed and result.rows == 4
    connection = recorder.connection
    assert_runs_exactly_the_plan(connection, recorder.plan, result.run_id)
    dialect = recorder.targets[0].dialect
    table = dialect.quote("rate%:x")
    create = next(s for s in connection.sql if s.lstrip().upper().startswith("CREATE TABLE") and table in s)
    for name in ODD_NAMES:
        assert dialect.quote(name) in create, (name, create)
    assert "%%" not in create.replace(dialect.quote("100%%"), "")
    # The ledger's rows went through executemany with their values bound, one statement per row.
    ledger = [s for s in connection.statements if s.many]
    assert ledger and all(s.parameters for s in ledger)


def test_missing_driver_says_what_to_install(example: Path, real_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "redshift_connector", None)   # `import redshift_connector` fails
    monkeypatch.setenv(*URLS["redshift"])
    _, target = make_plan(example, "redshift")
    with pytest.raises(ConnectionFailed) as caught:
        open_connection(target)
    assert "pip install 'manifest-loader[redshift]' (sqlalchemy-redshift, redshift_connector)" in str(caught.value)
    assert "rs-Secret-42" not in str(caught.value)


# -- quoted names (issue 14, findings 4 and 9) -----------------------------------------------------------


ODD_SCHEMA = "s%(table_name)s:table_name"
SECRET_COLUMN = "${secret:AWS_SECRET_ACCESS_KEY}"


@pytest.mark.parametrize("warehouse", ["redshift", "snowflake"])
def test_names_reach_the_driver_as_written(warehouse: str, tmp_path: Path, real_env: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A column named like a secret placeholder stays that name (the key goes only into COPY's credential
    clause), and a schema holding `%(…)s` and `:name` reaches the driver unchanged, with no extra binds."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "odd"
    (folder / "data").mkdir(parents=True)
    pq.write_table(pa.table({"id": pa.array([1, 2], pa.int64()), SECRET_COLUMN: ["a", "b"]}),
                   folder / "data" / "t.parquet")
    manifest = folder / "odd.yaml"
    manifest.write_text(f"version: 1\nname: odd\ntarget: {{warehouse: {warehouse}, schema: '{ODD_SCHEMA}'}}\n"
                        "tables:\n  - name: t\n    source: data/t.parquet\n", encoding="utf-8")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", AWS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    recorder = use_warehouse(warehouse, monkeypatch, manifest)
    assert apply(manifest, warehouse).changed
    quoted_schema = '"' + ODD_SCHEMA + '"'
    statements = recorder.connection.sql   # as the server receives them
    assert any(s.startswith("CREATE SCHEMA") and quoted_schema in s for s in statements)
    mangled = [s for s in statements if '"s%' in s and quoted_schema not in s]   # a value spliced in, % doubled
    assert mangled == []
    create = next(s for s in statements if s.startswith("CREATE TABLE") and "${secret:" in s)
    # The name as written (Redshift folds it to lower case, as it folds every name).
    assert f'"{SECRET_COLUMN}"'.lower() in create.lower() and AWS_SECRET not in create
    copies = [s for s in statements if s.startswith("COPY")]
    assert copies and all(s.count(AWS_SECRET) == 1 for s in copies)     # the key: COPY's credential clause
    assert not any(AWS_SECRET in s for s in statements if not s.startswith("COPY"))
