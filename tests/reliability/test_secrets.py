"""Recognizable secrets in URLs and the environment never show up anywhere the loader writes.

Passwords go into the warehouse URL (in the userinfo and as ?password=), the metadata database
URL and real-warehouse URLs; an AWS secret key and session token go into the environment. After
plan (every format), apply (progress as log lines and JSON, a success and failures of each
connection, with and without --debug), status and query, none of them appears in any output,
log record, error message or exception text (the whole chain), the metadata database, the
ledger, or any file under the state folder.
"""

from __future__ import annotations

import io
import json
import logging
import traceback
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from relkit import Emulator

from manifest_loader.apply import apply
from manifest_loader.cli import main
from manifest_loader.progress import JsonProgress, LogProgress

PASSWORD = "Pg-SEKRIT-pw-7f3a9c"                     # in the warehouse URL's userinfo
QUERY_PASSWORD = "QueryPw-SEKRIT-55e1"               # in the URL's query string
ODD_PASSWORD = "p@ss:w/rd%SEKRIT#9"                  # needs percent-encoding in a URL
METADATA_PASSWORD = "Meta-SEKRIT-pw-0b7d"            # in DW_SIMULATOR_TARGET_DB_URL
REAL_PASSWORD = "Rs-SEKRIT-pw-31c2"                  # in a real Redshift / Snowflake URL
AT_PASSWORD = "At-SEKRIT@pw-4d2e"                    # written into a URL with its '@' unencoded (a mistake)
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCY-SEKRIT-KEY"
AWS_TOKEN = "FwoGZXIvYXdzEXAMPLE-SEKRIT-TOKEN//////////wEaDM"
SECRETS = (PASSWORD, QUERY_PASSWORD, ODD_PASSWORD, quote(ODD_PASSWORD, safe=""), METADATA_PASSWORD,
           REAL_PASSWORD, AT_PASSWORD, "pw-4d2e", AWS_SECRET, AWS_TOKEN, "SEKRIT")


def _with_password(url: str, password: str) -> str:
    """postgresql://postgres@host:port/db -> postgresql://postgres:<password>@host:port/db (trust auth ignores it)."""
    scheme, rest = url.split("://", 1)
    user, host = rest.split("@", 1)
    return f"{scheme}://{user}:{quote(password, safe='')}@{host}"


class Evidence:
    """Everything the loader said or wrote, searched for every secret at the end."""

    def __init__(self) -> None:
        self.texts: dict[str, str] = {}

    def add(self, where: str, text: str) -> None:
        self.texts[f"{len(self.texts):03d} {where}"] = text

    def add_exception(self, where: str, exc: BaseException) -> None:
        chain, seen = [], set()
        current: BaseException | None = exc
        while current is not None and id(current) not in seen:   # every cause and context, suppressed or not
            seen.add(id(current))
            chain += [str(current), repr(current), "".join(traceback.format_exception(current))]
            current = current.__cause__ or current.__context__
        self.add(where, "\n".join(chain))

    def add_files(self, where: str, folder: Path) -> None:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            self.add(f"{where}: {path.relative_to(folder)}", path.read_bytes().decode("latin-1"))

    def assert_clean(self) -> None:
        leaks = [f"{where}: {secret!r}" for where, text in self.texts.items() for secret in SECRETS
                 if secret in text]
        assert not leaks, "secrets leaked:\n" + "\n".join(leaks)
        assert len(self.texts) >= 20


@pytest.fixture
def evidence() -> Iterator[Evidence]:
    """Also every log record of every logger, at DEBUG for the loader's own."""
    collected = Evidence()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.DEBUG)
    root, loader = logging.getLogger(), logging.getLogger("manifest_loader")
    old_levels = root.level, loader.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    loader.setLevel(logging.DEBUG)
    yield collected
    root.removeHandler(handler)
    root.setLevel(old_levels[0])
    loader.setLevel(old_levels[1])
    collected.add("log records", stream.getvalue())
    collected.assert_clean()


@pytest.fixture
def secret_env(workspace: Path, pg_url: str, pg_database: str, s3_env: str, tmp_path: Path,
               monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The warehouse and metadata URLs with passwords, AWS credentials with a secret and a token."""
    from services import create_database

    metadata = create_database(pg_url)
    urls = {
        "warehouse": _with_password(pg_database, PASSWORD),
        "query": f"{pg_database}?password={QUERY_PASSWORD}",
        "odd": _with_password(pg_database, ODD_PASSWORD),
        "metadata": _with_password(metadata, METADATA_PASSWORD).replace("postgresql://", "postgresql+psycopg://"),
    }
    monkeypatch.setenv("DW_SIMULATOR_REDSHIFT_URL", urls["warehouse"])
    monkeypatch.setenv("DW_SIMULATOR_TARGET_DB_URL", urls["metadata"])
    monkeypatch.setenv("DW_SIMULATOR_STAGE_BUCKET", f"s3://local/secrets-{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", AWS_TOKEN)
    return urls


def _cli(evidence: Evidence, args: list[str], expect: int | None = 0) -> str:
    result = CliRunner().invoke(main, args)
    evidence.add(" ".join(args[:2]), result.output)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        evidence.add_exception(" ".join(args[:2]), result.exception)
    if expect is not None:
        assert result.exit_code == expect, result.output
    return result.output


def test_secrets_appear_nowhere(secret_env: dict[str, str], workspace: Path, tmp_path: Path,
                                evidence: Evidence, pg_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = str(workspace)
    for fmt in ("text", "json", "markdown"):
        _cli(evidence, ["plan", manifest, "--format", fmt])
    # A successful apply, watched as log lines and as JSON events, and read back.
    for progress in (LogProgress, JsonProgress):
        stream = io.StringIO()
        result = apply(workspace, "redshift", force=True, progress=progress(stream))
        evidence.add(f"apply progress {progress.__name__}", stream.getvalue())
        evidence.add("apply result", repr(result) + repr(result.plan) + repr(result.target))
    _cli(evidence, ["apply", manifest, "--progress", "log"])
    _cli(evidence, ["apply", manifest, "--progress", "json", "--force"])
    _cli(evidence, ["status"])
    runs = json.loads(_cli(evidence, ["status", "--json"]))
    _cli(evidence, ["status", runs[0]["id"]])
    _cli(evidence, ["status", runs[0]["id"], "--json"])
    _cli(evidence, ["query", manifest, "select * from _manifest_loader_ledger", "--format", "csv"])

    # The same URL with the password as a query parameter, and one that needs percent-encoding.
    for name in ("query", "odd"):
        monkeypatch.setenv("DW_SIMULATOR_REDSHIFT_URL", secret_env[name])
        _cli(evidence, ["plan", manifest])
        _cli(evidence, ["apply", manifest, "--progress", "json", "--force"])

    # Failures of every connection, with and without --debug, and as exceptions in process.
    failing = {
        "refused": _with_password("postgresql://loader@127.0.0.1:1/dev", PASSWORD),
        "no database": _with_password(pg_database.rsplit("/", 1)[0] + "/no_such_db", PASSWORD),
        "refused, query": f"postgresql://loader@127.0.0.1:1/dev?password={QUERY_PASSWORD}",
        "real redshift": f"redshift+psycopg2://loader:{REAL_PASSWORD}@127.0.0.1:1/dev",
        "unencoded @": f"postgresql://loader:{AT_PASSWORD}@127.0.0.1:1/dev",
    }
    for what, url in failing.items():
        monkeypatch.setenv("DW_SIMULATOR_REDSHIFT_URL", url)
        _cli(evidence, ["plan", manifest, "--format", "json"], expect=None)
        _cli(evidence, ["apply", manifest, "--progress", "json"], expect=1)
        _cli(evidence, ["--debug", "apply", manifest, "--progress", "log"], expect=None)
        with pytest.raises(Exception) as caught:   # noqa: B017 - any failure, as long as it is masked
            apply(workspace, "redshift", progress=JsonProgress(io.StringIO()))
        evidence.add_exception(f"apply exception ({what})", caught.value)
    monkeypatch.setenv("DW_SIMULATOR_REDSHIFT_URL", secret_env["warehouse"])
    monkeypatch.setenv("DW_SIMULATOR_SNOWFLAKE_URL", f"snowflake://loader:{REAL_PASSWORD}@acme-xy12345/db/sch"
                                                     "?warehouse=wh&role=loader")
    _cli(evidence, ["plan", manifest, "--target-warehouse", "snowflake", "--format", "json"])
    monkeypatch.delenv("DW_SIMULATOR_SNOWFLAKE_URL")
    # The metadata database unreachable.
    monkeypatch.setenv("DW_SIMULATOR_TARGET_DB_URL", f"postgresql+psycopg://meta:{METADATA_PASSWORD}@127.0.0.1:1/m")
    _cli(evidence, ["apply", manifest], expect=1)
    _cli(evidence, ["status"], expect=1)
    monkeypatch.setenv("DW_SIMULATOR_TARGET_DB_URL", f"postgresql+psycopg://meta:{AT_PASSWORD}@127.0.0.1:1/m")
    _cli(evidence, ["apply", manifest], expect=1)
    with pytest.raises(Exception) as caught:   # noqa: B017
        apply(workspace, "redshift")
    evidence.add_exception("apply exception (metadata database)", caught.value)
    monkeypatch.setenv("DW_SIMULATOR_TARGET_DB_URL", secret_env["metadata"])
    # An S3 failure, with the secret key and token in the environment.
    monkeypatch.setenv("DW_SIMULATOR_STAGE_BUCKET", "s3://no-such-bucket-secrets/x")
    _cli(evidence, ["apply", manifest, "--force"], expect=1)

    # What the loader stored: the metadata database, the ledger, every file it wrote.
    import psycopg

    metadata_dsn = secret_env["metadata"].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(metadata_dsn) as conn:
        for table in ("load_runs", "load_run_tables"):
            rows = conn.execute(f"select * from {table}").fetchall()
            assert rows, table
            evidence.add(f"metadata {table}", repr(rows))
    emulator = Emulator("redshift", tmp_path / "state", pg_database)
    ledger = emulator.rows("select * from ecommerce._manifest_loader_ledger")
    assert ledger
    evidence.add("ledger", repr(ledger))
    evidence.add("all tables", repr(emulator.snapshot()))
    evidence.add_files("state folder", tmp_path / "state")
    evidence.add_files("workspace", workspace.parent)
