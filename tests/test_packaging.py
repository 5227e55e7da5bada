"""The wheel carries templates/ and schemas/; the CLI starts without heavy imports."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_ships_templates_and_schema(tmp_path: Path) -> None:
    pytest.importorskip("hatchling")
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                             "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    wheel = next(tmp_path.glob("manifest_loader-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "manifest_loader/schemas/manifest.schema.json" in names
    templates = {p.relative_to(ROOT).as_posix() for p in (ROOT / "templates").rglob("*.sql.j2")}
    assert templates and {f"manifest_loader/{t}" for t in templates} <= names


def test_cli_help_imports_no_heavy_libraries() -> None:
    code = ("import sys; from click.testing import CliRunner; from manifest_loader.cli import main; "
            "r = CliRunner().invoke(main, ['--help']); assert r.exit_code == 0, r.output; "
            "print(','.join(m for m in ('pyarrow', 'boto3', 'sqlalchemy', 'fakesnow', 'adbc_driver_postgresql', "
            "'psycopg', 'pgpq', 'jinja2', 'jsonschema') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_version_option() -> None:
    from click.testing import CliRunner

    from manifest_loader import __version__
    from manifest_loader.cli import main

    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output
