"""The `manifest-loader` command line: parse arguments, call commands, map errors to exit codes.

Exit codes: 0 success (for apply also "no changes"), 1 the load or a connection failed,
2 the manifest or the command line is wrong. No traceback unless --debug.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from . import __version__, allocators
from .registry import warehouses

if TYPE_CHECKING:
    from .commands import ManifestRef

# Before anything imports pyarrow or starts a thread: what a load's memory comes from (allocators.py).
allocators.start_process()

F = TypeVar("F", bound=Callable[..., Any])

WAREHOUSES = click.Choice(list(warehouses()))


# Set in ctx.meta by `apply --json`: its JsonProgress, which ends the stream on every path.
JSON_EVENTS = "manifest_loader.json_events"


def _say(text: str, err: bool = False) -> None:
    """Print a line; a reader that went away (a closed pipe) changes nothing about the outcome."""
    from .output import write_line

    write_line(text, sys.stderr if err else sys.stdout)


def _fail(exc: BaseException, exit_code: int, text: str) -> None:
    """End the command: as the final JSON event under `apply --json`, else as text on stderr."""
    from .progress import JsonProgress, failure_event

    events = click.get_current_context().meta.get(JSON_EVENTS)
    if isinstance(events, JsonProgress):
        events.finish(failure_event(exc, exit_code))
    else:
        _say(text, err=True)
    sys.exit(exit_code)


def _short_lived() -> None:
    """For a command that exits within a second (plan, validate; apply until its load starts, where
    apply._load turns collection on): no cyclic garbage collection.
    What such a command allocates is bounded by its manifest and freed at exit, and the collector's
    passes over the import-time heap cost it about a tenth of its time. Collection resumes when the
    command ends (for callers that go on: tests, the API)."""
    import gc

    if gc.isenabled():
        gc.disable()
        click.get_current_context().call_on_close(gc.enable)


def _no_collection_at_exit() -> None:
    """For a command that leaves nothing a finalizer must close (plan, validate): the interpreter's
    last collection at exit, which walks every object left only to free memory the process's end
    frees anyway (5-15 ms after a 200-table plan), skips what is frozen (`gc.freeze`), so all is
    frozen at exit. Registered once per process; one that goes on (tests) freezes at its own end."""
    import atexit
    import gc

    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)


def _report_errors(func: F) -> F:
    """Turn LoaderError into its message and exit code; anything else is a bug, said plainly."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from .errors import LoaderError

        debug = click.get_current_context().find_root().params.get("debug", False)
        try:
            return func(*args, **kwargs)
        except LoaderError as exc:
            if debug:
                raise
            _fail(exc, exc.exit_code,
                  f"error: {exc}" if exc.exit_code != 2 or not hasattr(exc, "problems") else str(exc))
        except KeyboardInterrupt as exc:
            _fail(exc, 130, "interrupted; nothing was committed")
        except Exception as exc:
            if debug:
                raise
            _fail(exc, 1, f"error: unexpected {type(exc).__name__}: {exc}\n  hint: run again with --debug "
                  "for the traceback, and report it")

    return wrapper  # type: ignore[return-value]


def _manifest_ref(manifest: Path, warehouse: str | None, generation_run: str | None = None) -> ManifestRef:
    """MANIFEST as the commands take it: the file, or a dw-simulator experiment's name."""
    from .commands import manifest_ref

    return manifest_ref(manifest, warehouse, generation_run=generation_run)


def _wants_json_events(args: list[str]) -> bool:
    """Whether a command line asks `apply` for JSON events (`--json`, `--progress json`)."""
    if "apply" not in args:
        return False
    rest = args[args.index("apply") + 1:]
    return "--json" in rest or "--progress=json" in rest or any(
        a == "--progress" and b == "json" for a, b in zip(rest, rest[1:], strict=False))


class _Commands(click.Group):
    """The command group; `apply --json` reports even a wrong command line as its final JSON event."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["argv"] = list(args)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.ClickException as exc:
            if not _wants_json_events(ctx.meta.get("argv", [])):
                raise
            from .progress import JsonProgress, failure_event

            JsonProgress().finish(failure_event(exc, exc.exit_code))
            sys.exit(exc.exit_code)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="manifest-loader")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
def main(debug: bool) -> None:
    """Load Parquet files into Redshift, Snowflake or a local emulator of either, from a YAML manifest."""


manifest_argument = click.argument("manifest", type=click.Path(dir_okay=False, path_type=Path))
warehouse_option = click.option("--target-warehouse", "warehouse", type=WAREHOUSES,
                                help="Override the manifest's target warehouse.")
templates_option = click.option("--templates-dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
                                help="Folder of <dialect>/<op>.sql.j2 templates searched before the built-in ones.")


@main.command()
@click.argument("manifests", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@warehouse_option
@_report_errors
def validate(manifests: tuple[Path, ...], warehouse: str | None) -> None:
    """Check MANIFESTS: schema, Parquet footers, keys, identifiers. Exit 2 with file:line:col on errors."""
    _short_lived()
    _no_collection_at_exit()
    from .commands import validate as run
    from .errors import ManifestError

    problems = []
    for manifest in manifests:
        try:
            given = _manifest_ref(manifest, warehouse)
            resolved = run(given.path, given.warehouse, given.env)
        except ManifestError as exc:
            problems += exc.problems
            continue
        files = sum(len(t.files) for t in resolved.tables)
        click.echo(f"{manifest}: valid ({len(resolved.tables)} tables, {files} files)")
    if problems:
        raise ManifestError(problems)


@main.command()
@manifest_argument
@warehouse_option
@templates_option
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True)
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also save the plan (JSON), made against the target's ledger, for `apply --plan`: it runs "
                   "exactly these steps or refuses, naming what changed.")
@click.option("--offline", is_flag=True,
              help="Do not connect to the target: append/merge files the ledger holds are not marked.")
@_report_errors
def plan(manifest: Path, warehouse: str | None, templates_dir: Path | None, fmt: str, out: Path | None,
         offline: bool) -> None:
    """Print the exact SQL `apply` would run, step by step. Changes nothing (but --out); keeps caches
    of footers, statements and the manifest's parse in the state folder.

    For append and merge tables, the files the target's ledger already holds are marked (when the
    target can be reached; not with --offline): apply loads only the others. --out plans against the
    ledger and saves it with the plan, so `apply --plan` runs exactly these steps.
    """
    _short_lived()
    _no_collection_at_exit()
    from .commands import make_plan
    from .plan_format import FORMATTERS, format_json

    given = _manifest_ref(manifest, warehouse)
    if out is not None and offline:
        from .errors import UsageError

        raise UsageError("plan --out saves the ledger state it was planned against, so it reads the target's "
                         "ledger", hint="drop --offline, or drop --out")
    result, _ = make_plan(given.path, given.warehouse, templates_dir, given.env, read_ledger=not offline,
                          against_ledger=out is not None)
    click.echo(FORMATTERS[fmt](result), nl=False)
    if out is not None:
        out.write_text(format_json(result), encoding="utf-8")


@main.command()
@manifest_argument
@warehouse_option
@templates_option
@click.option("--force", is_flag=True, help="Reload every file, even those the ledger holds.")
@click.option("--generation-run", help="Link this load to a generation run of the simulator.")
@click.option("--progress", "progress_mode", type=click.Choice(["auto", "log", "json", "none"]), default="auto",
              show_default=True, help="Bars on a terminal, log lines in CI, JSON events for machines.")
@click.option("--no-progress", is_flag=True, help="Same as --progress log.")
@click.option("--json", "json_events", is_flag=True, help="Same as --progress json: one JSON event per line.")
@click.option("--lock-timeout", type=float, default=600.0, show_default=True,
              help="Seconds to wait for another apply on the same target before failing.")
@click.option("--plan", "saved_plan", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Apply only if the plan saved by `plan --out` is still exactly what would run.")
@_report_errors
def apply(manifest: Path, warehouse: str | None, templates_dir: Path | None, force: bool,
          generation_run: str | None, progress_mode: str, no_progress: bool, json_events: bool, lock_timeout: float,
          saved_plan: Path | None) -> None:
    """Stage MANIFEST's files and load them in one transaction; a re-apply with nothing new does nothing.

    With --json, stderr is JSON Lines only, ending with exactly one final event (run_succeeded,
    unchanged or run_failed: run id, rows, error, hint, exit code), and stdout stays empty.
    """
    _short_lived()   # until the load starts, where apply._load turns collection back on
    from .commands import apply as run
    from .progress import JsonProgress, make_progress, outcome_event

    progress = make_progress("json" if json_events else "log" if no_progress else progress_mode)
    if isinstance(progress, JsonProgress):
        click.get_current_context().meta[JSON_EVENTS] = progress
    given = _manifest_ref(manifest, warehouse, generation_run)
    result = run(given.path, given.warehouse, templates_dir=templates_dir, force=force, env=given.env,
                 generation_run=given.generation_run,
                 progress=progress, lock_timeout=lock_timeout, saved_plan=saved_plan, one_shot=True)
    if isinstance(progress, JsonProgress):
        progress.finish(outcome_event(result))
        return
    if not result.changed:
        _say(f"No changes: {result.target.dialect.title} already holds every file of "
             f"'{result.plan.manifest_name}' (run {result.run_id[:8]}).")
        return
    _say(f"Loaded '{result.plan.manifest_name}' into {result.target.dialect.title}, schema "
         f"{result.target.schema} (run {result.run_id[:8]}):")
    for table in result.tables:
        _say(f"  {table.table:<24} {table.status:<9} {table.rows:>12} rows  {table.files:>4} file(s)  "
             f"{table.seconds:7.2f}s")
    _say(f"  {'total':<24} {'':<9} {result.rows:>12} rows")


@main.command()
@click.argument("name_or_run", required=False)
@warehouse_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--limit", type=int, default=20, show_default=True)
@_report_errors
def status(name_or_run: str | None, warehouse: str | None, as_json: bool, limit: int) -> None:
    """List load runs (optionally of one manifest, by NAME or file), or show one RUN_ID with per-table detail."""
    from .commands import status as run

    click.echo(run(name_or_run, warehouse, as_json, limit), nl=False)


@main.command()
@click.argument("args", nargs=-1, required=True, metavar="[MANIFEST] SQL")
@warehouse_option
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.option("--show-translation", is_flag=True,
              help="Print (on stderr) the SQL that runs: Redshift SQL translated for the Redshift emulator.")
@_report_errors
def query(args: tuple[str, ...], warehouse: str | None, fmt: str, show_translation: bool) -> None:
    """Run SQL against MANIFEST's target (its schema is the default), or --target-warehouse's, and print the result.

    On the Redshift emulator the SQL is Redshift SQL, translated to PostgreSQL first; the
    Snowflake emulator translates Snowflake SQL itself.
    """
    from .commands import query as run
    from .errors import UsageError
    from .query import format_result

    if len(args) > 2:
        raise UsageError(f"expected [MANIFEST] SQL, got {len(args)} arguments", hint="quote the SQL")
    manifest, sql = (Path(args[0]), args[1]) if len(args) == 2 else (None, args[0])
    given = _manifest_ref(manifest, warehouse) if manifest is not None else None
    result = run(given.path if given else None, sql, given.warehouse if given else warehouse,
                 env=given.env if given else None)
    if show_translation:
        if result.translated_sql is not None:
            click.echo(f"-- translated for {result.target.dialect.title}:\n{result.translated_sql}", err=True)
            for note in result.notes:
                click.echo(f"-- note: {note}", err=True)
            settings = result.target.kind.query_settings
            if settings:
                click.echo("-- planned with: " + "; ".join(f"SET LOCAL {k} = '{v}'" for k, v in settings.items())
                           + f" ({result.target.kind.plan_notes['query_settings']})", err=True)
        elif result.target.is_emulator:
            click.echo(f"-- not translated here: {result.target.dialect.title} translates "
                       f"{result.target.warehouse.capitalize()} SQL itself", err=True)
        else:
            click.echo(f"-- not translated: {result.target.dialect.title} runs the SQL as written", err=True)
    click.echo(format_result(result.columns, result.rows, fmt), nl=False)


@main.command()
@click.option("--manifests-dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
              default=Path("manifests"), show_default=True, help="The folder whose manifests the API serves.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--token", envvar="MANIFEST_LOADER_API_TOKEN", default=None,
              help="A secret every request must carry (Authorization: Bearer …); required off loopback. "
                   "Env: MANIFEST_LOADER_API_TOKEN.")
@click.option("--allowed-host", "allowed_hosts", multiple=True,
              help="Another name clients may use in the Host header (a DNS name of this machine); repeatable.")
@_report_errors
def serve(manifests_dir: Path, host: str, port: int, token: str | None, allowed_hosts: tuple[str, ...]) -> None:
    """Serve the HTTP API (and the web page) for the manifests in --manifests-dir; OpenAPI at /openapi.json.

    Loopback only by default; see docs/api.md (threat model) before binding another address."""
    import socket

    import uvicorn

    from .api import create_app
    from .api.guard import LOOPBACK_HOSTS
    from .errors import UsageError

    if host not in LOOPBACK_HOSTS and not token:
        raise UsageError(f"serving on {host} makes the API reachable from other machines: it needs a token",
                         hint="pass --token (or set MANIFEST_LOADER_API_TOKEN) to a long random secret, "
                              "or serve on 127.0.0.1")
    # Bind first, so a port in use is a one-line error (exit 2), not uvicorn's log and exit 3.
    try:
        listener = socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                         hint="another server uses that port? pass --port") from None
    hosts = [*LOOPBACK_HOSTS, *allowed_hosts, *([] if host in ("0.0.0.0", "::") else [host])]
    app = create_app(manifests_dir, allowed_hosts=hosts, token=token or None)
    server = uvicorn.Server(uvicorn.Config(app, log_level="info"))
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"manifest-loader serving {manifests_dir}/ at http://{shown}:{port}/ "
               f"(API under /api, OpenAPI at /openapi.json); Ctrl+C stops it", err=True)
    server.run(sockets=[listener])


@main.group()
def emulator() -> None:
    """The Redshift emulator (PostgreSQL) and its Redshift compatibility layer."""


optional_manifest = click.argument("manifest", required=False, type=click.Path(dir_okay=False, path_type=Path))


@emulator.command("up")
@optional_manifest
@click.option("--reset", is_flag=True, help="Delete the emulator's data first and start from an empty cluster.")
@_report_errors
def emulator_up(manifest: Path | None, reset: bool) -> None:
    """Start the managed Redshift emulator (a local PostgreSQL under .manifest-loader/postgres) unless it runs.

    Any command that needs it starts it too; it keeps running until `emulator down`. With MANIFEST,
    the emulator of that manifest's state folder.
    """
    from .commands import emulator_up as run

    status, started = run(manifest, reset)
    if not started:
        click.echo(f"Redshift emulator already running at {status.url} (pid {status.pid})", err=True)
    click.echo(_format_emulator(status), nl=False)
    if os.environ.get("DW_SIMULATOR_REDSHIFT_URL"):
        click.echo("note: DW_SIMULATOR_REDSHIFT_URL is set, so commands use that server, not this one", err=True)


@emulator.command("down")
@optional_manifest
@_report_errors
def emulator_down(manifest: Path | None) -> None:
    """Stop the managed Redshift emulator; its data stays (`emulator up --reset` empties it)."""
    from .commands import emulator_down as run

    before, stopped = run(manifest)
    if stopped:
        click.echo(f"Stopped the Redshift emulator (PostgreSQL pid {', '.join(map(str, stopped))}); its data stays "
                   f"in {before.data or before.folder} — `manifest-loader emulator up` starts it again")
    else:
        click.echo(f"The Redshift emulator was not running (nothing to stop in {before.folder})")


@emulator.command("status")
@optional_manifest
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_report_errors
def emulator_status(manifest: Path | None, as_json: bool) -> None:
    """Say whether the managed Redshift emulator runs: URL (password masked), pid, version, data size, uptime."""
    import dataclasses
    import json

    from .commands import emulator_status as run

    status = run(manifest)
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(status), default=str, indent=2))
    else:
        click.echo(_format_emulator(status), nl=False)


def _format_emulator(status: Any) -> str:
    if status.version is None:
        return (f"Redshift emulator: none yet in {status.folder}\n"
                "  start:    manifest-loader emulator up (or any command that connects to it)\n")
    lines = [f"Redshift emulator: {'running' if status.running else 'not running'}", f"  url:      {status.url}"]
    if status.running:
        lines += [f"  pid:      {status.pid}", f"  uptime:   {_duration(status.uptime_s or 0)}"]
    lines += [f"  version:  PostgreSQL {status.version} ({status.binaries})",
              f"  data:     {status.data} ({status.data_bytes / 1e6:.1f} MB)", f"  log:      {status.log}",
              "  stop:     manifest-loader emulator down" if status.running else
              "  start:    manifest-loader emulator up (or any command that connects to it)"]
    return "\n".join(lines) + "\n"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


@emulator.command("init")
@click.argument("manifest", required=False, type=click.Path(dir_okay=False, path_type=Path))
@templates_option
@click.option("--show-sql", is_flag=True, help="Print the layer's SQL instead of installing it.")
@_report_errors
def emulator_init(manifest: Path | None, templates_dir: Path | None, show_sql: bool) -> None:
    """Install the Redshift compatibility layer (schema redshift_compat) into the emulator; apply does it too.

    The emulator is MANIFEST's Redshift target, else DW_SIMULATOR_REDSHIFT_URL, else the managed one
    (started now unless it runs). Idempotent.
    """
    from .commands import emulator_init as run
    from .commands import emulator_sql

    if show_sql:
        click.echo(emulator_sql(templates_dir), nl=False)
        return
    changed, target = run(manifest, templates_dir)
    verb = "installed" if changed else "already up to date"
    click.echo(f"Redshift compatibility layer {verb}: schema redshift_compat at {target.display_url}")


@main.group()
def stage() -> None:
    """Manage staged objects."""


@stage.command("gc")
@manifest_argument
@warehouse_option
@click.option("--delete", is_flag=True, help="Remove the objects (default: only list them).")
@_report_errors
def stage_gc(manifest: Path, warehouse: str | None, delete: bool) -> None:
    """List staged objects of MANIFEST that no known ledger references; --delete removes them.

    The known ledgers are the manifest's target on every warehouse sharing the stage and every
    target the metadata database has a succeeded run of it on; --delete refuses while one cannot be read.
    """
    from .commands import stage_gc as run

    given = _manifest_ref(manifest, warehouse)
    found = run(given.path, given.warehouse, delete=delete, env=given.env)
    for uri in found.objects:
        click.echo(uri)
    for ledger, why in found.unreadable.items():
        click.echo(f"warning: cannot read the ledger of {ledger}: {why}; objects it references are listed too",
                   err=True)
    read = "; ".join(str(ledger) for ledger in found.read) or "none"
    if not found.objects:
        click.echo(f"no unreferenced objects: the ledgers read ({read}) reference every staged object", err=True)
    elif delete:
        click.echo(f"{len(found.objects)} object(s) no ledger references (ledgers read: {read}); "
                   f"removed {found.removed}", err=True)
    else:
        click.echo(f"{len(found.objects)} object(s) no ledger references (ledgers read: {read}); would remove them "
                   "(pass --delete)", err=True)


@main.command()
@click.option("--from-experiment", "from_experiment", metavar="SCHEMA.json|NAME",
              help="A dw-simulator experiment: its schema JSON file, or its name in the simulator's metadata DB.")
@click.option("--from-folder", "from_folder", type=click.Path(file_okay=False, path_type=Path),
              help="A folder of Parquet tables: one folder of *.parquet files (or one file) per table.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the manifest here (default: print it).")
@warehouse_option
@click.option("--layout", type=click.Choice(["schema", "prefixed"]), default="schema", show_default=True,
              help="Tables as <experiment>.<table>, or as <experiment>__<table> in one schema (the simulator's "
                   "query routing).")
@click.option("--source-root", help="What each table's source starts with, e.g. '${DW_SIMULATOR_RUN_DIR}' "
                                    "(default: the latest COMPLETED run's folder under ${DW_SIMULATOR_DATA_ROOT}).")
@click.option("--run-id", type=int, help="The generation run whose files the sources name (default: the latest "
                                         "COMPLETED one).")
@click.option("--name", help="The manifest's name (--from-folder; default: the folder's name).")
@_report_errors
def init(from_experiment: str | None, from_folder: Path | None, output: Path | None, warehouse: str | None,
         layout: str, source_root: str | None, run_id: int | None, name: str | None) -> None:
    """Write a manifest for a dw-simulator experiment or a folder of Parquet tables, ready for review."""
    from .errors import UsageError

    if (from_experiment is None) == (from_folder is None):
        raise UsageError("give exactly one of --from-experiment SCHEMA.json|NAME and --from-folder DIR")
    if from_experiment is not None:
        from .commands import init_from_experiment

        text = init_from_experiment(from_experiment, layout=layout, source_root=source_root, warehouse=warehouse,
                                    run_id=run_id)
    else:
        from .commands import init_from_folder

        text = init_from_folder(from_folder, output, name, warehouse)   # type: ignore[arg-type]
    if output is None:
        click.echo(text, nl=False)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    click.echo(f"wrote {output}; review the lines marked 'review:', then: manifest-loader plan {output}", err=True)


@main.group()
def experiment() -> None:
    """dw-simulator experiments (DW_SIMULATOR_TARGET_DB_URL): list them, load a generation run, show its loads."""


@experiment.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_report_errors
def experiment_list(as_json: bool) -> None:
    """The simulator's experiments, their warehouse and their latest COMPLETED generation run."""
    import json

    from .commands import experiment_list

    experiments = experiment_list()
    if as_json:
        click.echo(json.dumps(experiments, default=str, indent=2))
        return
    if not experiments:
        click.echo("no experiments in the simulator's metadata yet")
        return
    click.echo(f"{'experiment':<24} {'warehouse':<10} {'runs':>4}  {'latest completed':>16}  tables")
    for e in experiments:
        latest = "-" if e["latest_completed_run"] is None else str(e["latest_completed_run"])
        tables = ", ".join(e["tables"]) if not e["error"] else f"(schema problem: {e['error']})"
        click.echo(f"{e['name']:<24} {e['warehouse'] or '-':<10} {e['runs']:>4}  {latest:>16}  {tables}")


@experiment.command("load")
@click.argument("name")
@warehouse_option
@click.option("--run-id", type=int, help="The generation run to load (default: the latest COMPLETED one).")
@click.option("--force", is_flag=True, help="Reload every file, even those the ledger holds.")
@click.option("--layout", type=click.Choice(["schema", "prefixed"]), default="schema", show_default=True,
              help="Tables as <experiment>.<table>, or as <experiment>__<table> in one schema.")
@click.option("--manifests-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("manifests"),
              show_default=True, help="Where a checked-in <name>.yaml for the experiment is looked for.")
@click.option("--no-progress", is_flag=True, help="Log lines instead of bars.")
@click.option("--json", "json_events", is_flag=True, help="One JSON event per line.")
@_report_errors
def experiment_load(name: str, warehouse: str | None, run_id: int | None, force: bool, layout: str,
                    manifests_dir: Path, no_progress: bool, json_events: bool) -> None:
    """Load a generation run of experiment NAME (its checked-in manifest, else the one init would write)."""
    from .commands import experiment_load
    from .progress import make_progress

    progress = make_progress("json" if json_events else "log" if no_progress else "auto")
    done = experiment_load(name, warehouse=warehouse, run_id=run_id, force=force, layout=layout,
                           manifests_dir=manifests_dir, progress=progress, one_shot=True)
    target, result = done.target, done.result
    manifest = f"{target.manifest} (checked in)" if target.checked_in else str(target.manifest)
    click.echo(f"Generation run {target.run.id} of '{name}' via {manifest}")
    if not result.changed:
        click.echo(f"No changes: {result.target.dialect.title} already holds every file of run {target.run.id} "
                   f"(load {result.run_id[:8]}).")
    else:
        click.echo(f"Loaded into {result.target.dialect.title}, schema {result.target.schema} "
                   f"(load {result.run_id[:8]}; warehouse: {target.warehouse_reason}):")
        for table in result.tables:
            click.echo(f"  {table.table:<32} {table.status:<9} {table.rows:>12} rows  {table.files:>4} file(s)  "
                       f"{table.seconds:7.2f}s")
        click.echo(f"  {'total':<32} {'':<9} {result.rows:>12} rows")
    if done.mismatches:
        click.echo(f"warning: loaded rows differ from the run's row_counts.generated: {'; '.join(done.mismatches)}",
                   err=True)
    else:
        click.echo("Rows match the generation run's row_counts.")


@experiment.command("status")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_report_errors
def experiment_status(name: str, as_json: bool) -> None:
    """Generation runs of experiment NAME, each with its loads, their outcome and a row-count check."""
    from .commands import experiment_status_text

    click.echo(experiment_status_text(name, as_json), nl=False)


@experiment.command("warehouse")
@click.argument("name")
@click.argument("warehouse", required=False, type=WAREHOUSES)
@click.option("--clear", is_flag=True, help="Forget the choice: the experiment's own applies again.")
@_report_errors
def experiment_warehouse(name: str, warehouse: str | None, clear: bool) -> None:
    """Show, or set, the warehouse experiment NAME loads into (kept by manifest-loader, not the simulator)."""
    from .commands import experiment_status, set_experiment_warehouse

    if warehouse or clear:
        set_experiment_warehouse(name, None if clear else warehouse)
    status = experiment_status(name)
    click.echo(f"{name}: saved choice {status['saved_warehouse'] or '(none)'}; simulator warehouse_type "
               f"{status['warehouse_type'] or '(none)'}")


@main.command()
def schema() -> None:
    """Print the manifest JSON Schema (Draft 2020-12)."""
    from .commands import schema_text

    click.echo(schema_text(), nl=False)


if __name__ == "__main__":
    main()
