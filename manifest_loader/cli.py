"""The `manifest-loader` command line: parse arguments, call commands, map errors to exit codes.

Exit codes: 0 success (for apply also "no changes"), 1 the load or a connection failed,
2 the manifest or the command line is wrong. No traceback unless --debug.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from . import __version__

F = TypeVar("F", bound=Callable[..., Any])

WAREHOUSES = click.Choice(["redshift", "snowflake"])


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
            click.echo(f"error: {exc}" if exc.exit_code != 2 or not hasattr(exc, "problems") else str(exc),
                       err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted; nothing was committed", err=True)
            sys.exit(130)
        except Exception as exc:
            if debug:
                raise
            click.echo(f"error: unexpected {type(exc).__name__}: {exc}\n  hint: run again with --debug "
                       "for the traceback, and report it", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
@manifest_argument
@warehouse_option
@_report_errors
def validate(manifest: Path, warehouse: str | None) -> None:
    """Check MANIFEST: schema, Parquet footers, keys, identifiers. Exit 2 with file:line:col on errors."""
    from .commands import validate as run

    resolved = run(manifest, warehouse)
    tables = len(resolved.tables)
    files = sum(len(t.files) for t in resolved.tables)
    click.echo(f"{manifest}: valid ({tables} tables, {files} files)")


@main.command()
@manifest_argument
@warehouse_option
@templates_option
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True)
@_report_errors
def plan(manifest: Path, warehouse: str | None, templates_dir: Path | None, fmt: str) -> None:
    """Print the exact SQL `apply` would run, step by step. Writes nothing."""
    from .commands import make_plan
    from .plan_format import FORMATTERS

    result, _ = make_plan(manifest, warehouse, templates_dir)
    click.echo(FORMATTERS[fmt](result), nl=False)


@main.command()
def schema() -> None:
    """Print the manifest JSON Schema (Draft 2020-12)."""
    from .commands import schema_text

    click.echo(schema_text(), nl=False)


if __name__ == "__main__":
    main()
