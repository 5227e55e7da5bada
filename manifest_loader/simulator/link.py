"""The link between a load and a simulator generation run, checked before anything is loaded.

`apply --generation-run N` (and `experiment load`, which passes it) may only name a COMPLETED
run of the manifest's experiment, and the manifest's sources must be that run's files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UsageError
from .metadata import open_simulator
from .selection import run_folder, select_run

if TYPE_CHECKING:
    from ..resolve import ResolvedManifest


@dataclass(frozen=True)
class GenerationLink:
    experiment: str
    generation_run_id: str
    folder: Path
    generated: Mapping[str, int]


def check_link(generation_run: str, experiment: str, resolved: ResolvedManifest,
               env: Mapping[str, str] | None = None) -> GenerationLink:
    """The run exists, is a COMPLETED run of `experiment`, and every source file is one of its files."""
    if not generation_run.strip().isdigit():
        raise UsageError(f"--generation-run '{generation_run}' is not a generation run id (the simulator numbers "
                         "its runs 1, 2, 3, ...)", hint=f"`manifest-loader experiment status {experiment}` lists them")
    run = select_run(open_simulator(env), experiment, int(generation_run))
    folder = run_folder(run)
    root = folder.resolve()
    for table in resolved.tables:
        for source in table.files:
            local = source.local_path
            inside = local.resolve().is_relative_to(root) if local is not None else f"/{folder.name}/" in source.uri
            if not inside:
                raise UsageError(f"table {table.name} reads {source.display}, which is not a file of generation "
                                 f"run {run.id} of '{experiment}' (its files are under {folder})",
                                 hint="point the table's source at the run's folder, e.g. "
                                      "${DW_SIMULATOR_RUN_DIR}/<table>/, which `experiment load` sets to the run "
                                      "it loads")
    return GenerationLink(experiment, str(run.id), folder, dict(run.generated))
