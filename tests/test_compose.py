"""Static checks of docker-compose.yml, Dockerfile and .dockerignore.

No Docker engine is needed: the compose file is parsed with PyYAML and checked against what the
loader actually reads, validated against the Compose Specification's JSON Schema (vendored by
check-jsonschema, so offline), and handed to `docker compose config` only where a compose CLI
exists. Nothing here starts a container.
"""

from __future__ import annotations

import copy
import fnmatch
import importlib
import json
import os
import re
import shlex
import shutil
import subprocess
import tomllib
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import click
import pytest
import yaml

from manifest_loader.target import STAGE_ENV, STATE_ENV, URL_ENV

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

LOOPBACK = "127.0.0.1"
SERVICES = {"postgres", "s3", "s3-init", "loader"}
# Variables the compose file may set with these prefixes: exactly the ones the loader reads.
LOADER_VARIABLES = {*URL_ENV.values(), STAGE_ENV, STATE_ENV}
LOADER_PREFIXES = ("DW_SIMULATOR_", "MANIFEST_LOADER_")


def _unavailable(reason: str) -> None:
    """Skip on a developer's machine; fail in CI, where a skip would hide lost coverage."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"required for this test in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@cache
def _compose_text() -> str:
    return COMPOSE_FILE.read_text(encoding="utf-8")


def compose() -> dict[str, Any]:
    """A fresh copy of the parsed compose file (tests may mutate it)."""
    return copy.deepcopy(_parsed_compose())


@cache
def _parsed_compose() -> dict[str, Any]:
    data = yaml.safe_load(_compose_text())
    assert isinstance(data, dict), "docker-compose.yml is not a mapping"
    return data


def service(name: str) -> dict[str, Any]:
    return compose()["services"][name]


_INTERPOLATION = re.compile(r"\$(?:\$|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<colon>:?)-(?P<default>[^}]*))?\})")


def interpolate(value: str, env: dict[str, str] | None = None) -> str:
    """Compose's `${VAR}`, `${VAR:-default}`, `${VAR-default}` and `$$`, enough for this file."""
    env = {} if env is None else env

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, default = match.group("name"), match.group("default")
        value = env.get(name)
        if default is not None and (value is None or (value == "" and match.group("colon"))):
            return default
        return value or ""

    return _INTERPOLATION.sub(substitute, value)


def environment(svc: dict[str, Any]) -> dict[str, str]:
    """A service's environment, from either the mapping or the list form, interpolated with defaults."""
    raw = svc.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) if "=" in item else (item, "") for item in raw)
    return {str(k): interpolate(str(v)) for k, v in raw.items()}


def command_args(svc: dict[str, Any]) -> list[str]:
    cmd = svc.get("command") or []
    return shlex.split(cmd) if isinstance(cmd, str) else [str(arg) for arg in cmd]


def published_ports(svc: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(host_ip, published, target) of every port a service publishes; host_ip '' means all interfaces."""
    found = []
    for port in svc.get("ports") or []:
        if isinstance(port, dict):  # long syntax
            found.append((str(port.get("host_ip", "")), str(port.get("published", "")), str(port["target"])))
            continue
        spec = str(port).split("/", 1)[0]
        match = re.fullmatch(r"(?:(?P<ip>\[[^\]]+\]|[^:]+):)?(?:(?P<published>[^:]*):)?(?P<target>[^:]+)", spec)
        assert match, f"cannot parse port {port!r}"
        # "5432" alone still publishes, on a random port of every interface.
        found.append((match.group("ip") or "", match.group("published") or "", match.group("target")))
    return found


def volume_mounts(svc: dict[str, Any]) -> list[dict[str, Any]]:
    """A service's volumes in long form: type, source, target, read_only."""
    mounts = []
    for volume in svc.get("volumes") or []:
        if isinstance(volume, dict):
            mounts.append(volume)
            continue
        parts = str(volume).split(":")
        source, target = (parts[0], parts[1]) if len(parts) > 1 else (None, parts[0])
        mode = parts[2] if len(parts) > 2 else ""
        kind = "bind" if source and source.startswith((".", "/", "~")) else "volume"
        mounts.append({"type": kind, "source": source, "target": target, "read_only": "ro" in mode.split(",")})
    return mounts


# --- Dockerfile -------------------------------------------------------------------------------


@cache
def dockerfile_instructions() -> tuple[tuple[str, str], ...]:
    """(INSTRUCTION, arguments) pairs: comments and blank lines dropped, continuations joined."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, args = (pending + stripped).partition(" ")
        instructions.append((keyword.upper(), args.strip()))
        pending = ""
    assert not pending, "the Dockerfile ends inside a line continuation"
    return tuple(instructions)


def dockerfile_values(keyword: str) -> list[str]:
    return [args for name, args in dockerfile_instructions() if name == keyword]


def exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), f"not exec form: {args}"
    return value


def image_workdir() -> PurePosixPath:
    workdirs = dockerfile_values("WORKDIR")
    assert workdirs, "the Dockerfile sets no WORKDIR"
    return PurePosixPath(workdirs[-1])


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for args in dockerfile_values("ENV"):
        for item in shlex.split(args):
            assert "=" in item, f"use the ENV key=value form: {args}"
            key, value = item.split("=", 1)
            env[key] = value
    return env


def copy_sources() -> list[str]:
    sources = []
    for args in dockerfile_values("COPY"):
        words = [w for w in shlex.split(args) if not w.startswith("--")]
        sources += words[:-1]
    return sources


def dockerignored(path: str) -> bool:
    """Whether .dockerignore keeps `path` (relative to the context) out; last matching rule wins."""
    excluded = False
    for raw in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        rule = raw.strip()
        if not rule or rule.startswith("#"):
            continue
        negate = rule.startswith("!")
        pattern = rule.lstrip("!").strip("/")
        candidates = [pattern, pattern.removeprefix("**/")]
        parts = PurePosixPath(path.strip("/")).parts
        prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
        # A rule excludes a path when it matches the path or any folder above it.
        if any(fnmatch.fnmatchcase(prefix, p) for prefix in prefixes for p in candidates):
            excluded = not negate
    return excluded


# --- (a) structure ----------------------------------------------------------------------------


def test_compose_has_the_expected_services() -> None:
    assert set(compose()["services"]) == SERVICES


def test_postgres_emulates_redshift_on_loopback_5439() -> None:
    postgres = service("postgres")
    assert postgres["image"] == "postgres:15"
    assert (LOOPBACK, "5439", "5432") in published_ports(postgres)
    env = environment(postgres)
    assert env["POSTGRES_DB"] == "dev"
    assert env["POSTGRES_USER"] == "postgres"
    assert "timezone=UTC" in command_args(postgres)
    assert "pg_isready" in postgres["healthcheck"]["test"]


def test_every_published_port_is_bound_to_loopback() -> None:
    for name, svc in compose()["services"].items():
        assert svc.get("network_mode") != "host", f"{name}: host networking would bypass the loopback binding"
        for host_ip, published, target in published_ports(svc):
            assert host_ip == LOOPBACK, (f"{name} publishes {published or '(random)'}->{target} on "
                                         f"{host_ip or 'every interface'}; bind it to {LOOPBACK}")


def test_services_waited_on_for_health_have_a_healthcheck() -> None:
    services = compose()["services"]
    for name, svc in services.items():
        depends_on = svc.get("depends_on") or {}
        if isinstance(depends_on, list):
            continue  # short form: no conditions
        for other, spec in depends_on.items():
            assert other in services, f"{name} depends on unknown service {other}"
            if spec.get("condition") == "service_healthy":
                assert "healthcheck" in services[other], f"{name} waits for {other} to be healthy, which it never is"


def test_loader_waits_for_postgres_and_the_bucket() -> None:
    depends_on = service("loader")["depends_on"]
    assert depends_on["postgres"]["condition"] == "service_healthy"
    assert depends_on["s3-init"]["condition"] == "service_completed_successfully"
    assert service("s3-init")["depends_on"]["s3"]["condition"] == "service_healthy"


def test_loader_environment_uses_the_variables_the_loader_reads() -> None:
    env = environment(service("loader"))
    assert URL_ENV["redshift"] in env
    assert STAGE_ENV in env
    unknown = {k for k in env if k.startswith(LOADER_PREFIXES)} - LOADER_VARIABLES
    assert not unknown, f"the loader reads none of {sorted(unknown)}; it reads {sorted(LOADER_VARIABLES)}"


def test_loader_environment_points_at_the_compose_services() -> None:
    services = compose()["services"]
    env = environment(services["loader"])

    url = urlsplit(env[URL_ENV["redshift"]])
    assert url.scheme == "postgresql"
    assert url.hostname == "postgres" and url.port == 5432  # the container port, not the published one
    assert url.path == "/" + environment(services["postgres"])["POSTGRES_DB"]
    assert url.password == environment(services["postgres"])["POSTGRES_PASSWORD"]

    endpoint = urlsplit(env["AWS_ENDPOINT_URL"])
    assert endpoint.hostname == "s3" and endpoint.port == 5000

    init_buckets = set(re.findall(r"s3://([a-z0-9.-]+)", " ".join(command_args(services["s3-init"]))))
    stage = urlsplit(env[STAGE_ENV])
    assert stage.scheme == "s3" and init_buckets == {stage.hostname}, "s3-init must create the stage bucket"


def test_loader_environment_resolves_to_the_redshift_emulator_and_s3_stage() -> None:
    from manifest_loader.manifest import load_manifest
    from manifest_loader.target import resolve_target

    env = environment(service("loader"))
    manifest_path = _host_path_of_manifest()
    target = resolve_target(load_manifest(manifest_path, env=env), "redshift", env=env)
    assert target.is_emulator, f"{target.url_source} should select the PostgreSQL emulator"
    assert target.url == env[URL_ENV["redshift"]]
    assert target.stage == env[STAGE_ENV]


def _host_path_of_manifest() -> Path:
    """The host file behind the manifest the loader's default command names, through its bind mounts."""
    loader = service("loader")
    args = command_args(loader)
    manifests = [a for a in args if a.endswith((".yaml", ".yml"))]
    assert len(manifests) == 1, f"the loader's command should name one manifest: {args}"
    workdir = PurePosixPath(loader.get("working_dir") or image_workdir())
    in_container = workdir / manifests[0]
    for mount in volume_mounts(loader):
        if mount["type"] != "bind":
            continue
        target = PurePosixPath(mount["target"])
        if in_container.is_relative_to(target):
            return (ROOT / mount["source"] / in_container.relative_to(target)).resolve()
    raise AssertionError(f"{in_container} is not under any bind mount of the loader")


def test_loader_default_command_names_an_existing_manifest() -> None:
    path = _host_path_of_manifest()
    assert path.is_file(), f"{path} does not exist"
    assert path.is_relative_to(ROOT / "manifests")


def test_loader_default_command_parses_with_the_cli() -> None:
    from manifest_loader.cli import main

    args = command_args(service("loader"))
    root = click.Context(main, info_name="manifest-loader")
    sub = main.get_command(root, args[0])
    assert sub is not None, f"manifest-loader has no command {args[0]!r}"
    with sub.make_context(args[0], args[1:], parent=root) as ctx:  # raises on unknown options or choices
        assert ctx.params["warehouse"] == "redshift", "the environment configures Redshift only"


def test_loader_mounts_manifests_read_only_and_keeps_state_in_a_named_volume() -> None:
    data = compose()
    mounts = volume_mounts(data["services"]["loader"])
    workdir = image_workdir()
    manifests = [m for m in mounts if m["type"] == "bind" and PurePosixPath(m["target"]) == workdir / "manifests"]
    assert manifests and manifests[0]["read_only"], "mount ./manifests read-only at <workdir>/manifests"

    state_dir = PurePosixPath(image_env().get(STATE_ENV) or workdir / ".manifest-loader")
    state = [m for m in mounts if PurePosixPath(m["target"]) == state_dir]
    assert state and state[0]["type"] == "volume", f"keep {state_dir} in a named volume"
    assert state[0]["source"] in (data.get("volumes") or {}), "declare the state volume at the top level"


def test_named_volumes_are_declared() -> None:
    data = compose()
    declared = set(data.get("volumes") or {})
    for name, svc in data["services"].items():
        for mount in volume_mounts(svc):
            if mount["type"] == "volume" and mount.get("source"):
                assert mount["source"] in declared, f"{name} uses undeclared volume {mount['source']}"


# --- (b) the Compose Specification's JSON Schema ------------------------------------------------


def compose_spec_validator() -> Any:
    try:
        importlib.import_module("check_jsonschema")
    except ImportError:
        _unavailable("check-jsonschema is not installed (pip install -e '.[test]'); it vendors the compose schema")
    from importlib.resources import files

    from jsonschema.validators import validator_for

    schema_file = files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json")
    if not schema_file.is_file():
        _unavailable("this check-jsonschema predates its vendored compose-spec schema (0.32); upgrade it")
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def test_compose_file_matches_the_compose_spec_schema() -> None:
    errors = sorted(compose_spec_validator().iter_errors(compose()), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"$.{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)


def test_compose_spec_schema_rejects_a_misspelt_key() -> None:
    """Guards the test above against a schema that accepts anything."""
    broken = compose()
    broken["services"]["postgres"]["healthchek"] = broken["services"]["postgres"].pop("healthcheck")
    assert list(compose_spec_validator().iter_errors(broken))


# --- (c) a real compose CLI, where there is one ---------------------------------------------------


def compose_cli() -> list[str] | None:
    """`docker compose` (v2 plugin), else Debian's standalone `docker-compose` (v1), else None."""
    docker = shutil.which("docker")
    if docker:
        try:
            version = subprocess.run([docker, "compose", "version"], capture_output=True, timeout=30)
        except subprocess.TimeoutExpired:
            version = None
        if version is not None and version.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_docker_compose_config_accepts_the_file() -> None:
    cli = compose_cli()
    if cli is None:
        pytest.skip("no compose CLI: neither `docker compose` nor `docker-compose` works on this machine")
    env = {k: v for k, v in os.environ.items() if k not in ("POSTGRES_PASSWORD", "COMPOSE_FILE", "COMPOSE_PROFILES")}
    result = subprocess.run([*cli, "-f", str(COMPOSE_FILE), "--profile", "tools", "config", "-q"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{' '.join(cli)} config rejected the file:\n{result.stderr}{result.stdout}"


# --- Dockerfile and .dockerignore ------------------------------------------------------------------


def test_dockerfile_starts_from_python_311_slim() -> None:
    keyword, args = dockerfile_instructions()[0]
    assert keyword == "FROM", f"the first instruction is {keyword}, not FROM"
    assert args.split()[0] == "python:3.11-slim"


def test_dockerfile_entrypoint_is_the_console_script() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    entrypoints, cmds = dockerfile_values("ENTRYPOINT"), dockerfile_values("CMD")
    assert entrypoints, "the Dockerfile has no ENTRYPOINT"
    assert exec_form(entrypoints[-1]) == ["manifest-loader"]
    assert "manifest-loader" in scripts
    assert cmds and exec_form(cmds[-1]) == ["--help"]
    assert image_workdir() == PurePosixPath("/work")


def test_dockerfile_runs_as_a_non_root_user() -> None:
    users = dockerfile_values("USER")
    assert users, "the image would run as root"
    assert users[-1].split(":")[0] not in ("root", "0")


def test_dockerfile_installs_dependencies_before_copying_the_code() -> None:
    """Cache order: a code edit must not invalidate the dependency layer."""
    instructions = [(k, a) for k, a in dockerfile_instructions() if k in ("COPY", "RUN")]
    first_code_copy = next(i for i, (k, a) in enumerate(instructions) if k == "COPY" and "manifest_loader" in a)
    earlier = instructions[:first_code_copy]
    assert any(k == "COPY" and "pyproject.toml" in a for k, a in earlier)
    assert any(k == "RUN" and "pip install" in a for k, a in earlier)


def test_dockerignore_keeps_out_local_state_and_tests_but_not_what_the_image_copies() -> None:
    for path in (".git", ".manifest-loader", ".manifest-loader/metadata.sqlite", "tests", "tests/golden",
                 ".benchmarks", ".pytest_cache", ".ruff_cache", "manifest_loader/__pycache__/cli.cpython-311.pyc"):
        assert dockerignored(path), f".dockerignore lets {path} into the build context"
    sources = copy_sources()
    assert {"pyproject.toml", "README.md"} <= {s.rstrip("/") for s in sources}
    for source in sources:
        assert not dockerignored(source), f"the Dockerfile copies {source}, which .dockerignore excludes"
