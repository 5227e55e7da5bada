"""Which generation run a load reads, and whether that run's files are all there.

A run must belong to the experiment and be COMPLETED; its folder (`output_path`) must hold a
folder of Parquet files per table of the schema, whose footers add up to the rows the run says
it generated. Each refusal is exit 2 and names the runs that do exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from .metadata import GenerationRun, SimulatorDB, data_root


def _runs_listed(runs: list[GenerationRun]) -> str:
    if not runs:
        return "it has no generation runs"
    shown = "; ".join(r.describe() for r in runs[:10])
    more = f"; and {len(runs) - 10} more" if len(runs) > 10 else ""
    return f"its runs are: {shown}{more}"


def select_run(db: SimulatorDB, experiment: str, run_id: int | None) -> GenerationRun:
    """The run to load: `run_id` when given and valid, else the latest COMPLETED run."""
    runs = db.generation_runs(experiment)
    if run_id is None:
        run = next((r for r in runs if r.completed), None)
        if run is None:
            raise UsageError(f"experiment '{experiment}' has no COMPLETED generation run; {_runs_listed(runs)}",
                             hint=f"generate data first: dw-sim experiment generate {experiment}")
        return run
    run = db.generation_run(run_id)
    if run is None:
        raise UsageError(f"generation run {run_id} does not exist; experiment '{experiment}': {_runs_listed(runs)}",
                         hint="pass --run-id of one of them, or leave it out for the latest COMPLETED run")
    if run.experiment_name != experiment:
        raise UsageError(f"generation run {run_id} belongs to experiment '{run.experiment_name}', not "
                         f"'{experiment}'; experiment '{experiment}': {_runs_listed(runs)}",
                         hint="pass --run-id of one of them, or leave it out for the latest COMPLETED run")
    if not run.completed:
        error = f" ({run.error_message.splitlines()[0][:200]})" if run.error_message else ""
        raise UsageError(f"generation run {run_id} of '{experiment}' is {run.status}, not COMPLETED{error}; only "
                         f"a completed run's files are whole; {_runs_listed(runs)}",
                         hint="pass --run-id of a COMPLETED run, or leave it out for the latest one")
    return run


def run_folder(run: GenerationRun) -> Path:
    """The run's folder: its output_path (relative ones are under the data root, as the simulator wrote them)."""
    if not run.output_path:
        raise UsageError(f"generation run {run.id} of '{run.experiment_name}' has no output_path; its files "
                         "cannot be found", hint="generate the data again")
    path = Path(run.output_path).expanduser()
    if not path.is_absolute():
        root = data_root()
        path = (root / path) if root else path.absolute()
    return path


@dataclass(frozen=True)
class RunFiles:
    folder: Path
    rows: dict[str, int]      # rows per table, from the Parquet footers
    files: dict[str, int]     # Parquet files per table


def check_run_files(run: GenerationRun, tables: list[str]) -> RunFiles:
    """Every table has Parquet files in the run's folder, holding the rows the run says it generated."""
    import pyarrow.parquet as pq

    folder = run_folder(run)
    if not folder.is_dir():
        raise UsageError(f"generation run {run.id} of '{run.experiment_name}': its folder {folder} is missing",
                         hint="were the generated files moved or deleted? generate the data again")
    rows: dict[str, int] = {}
    counts: dict[str, int] = {}
    missing = []
    for table in tables:
        files = sorted((folder / table).glob("*.parquet"))
        if not files:
            missing.append(f"{folder / table}/")
            continue
        rows[table] = sum(pq.read_metadata(f).num_rows for f in files)
        counts[table] = len(files)
    if missing:
        raise UsageError(f"generation run {run.id} of '{run.experiment_name}' has no Parquet files for "
                         f"{len(missing)} table(s): {', '.join(missing)}",
                         hint="were the generated files moved or deleted? generate the data again")
    wrong = [f"{t}: run says {run.generated[t]}, files hold {rows[t]}" for t in tables
             if t in run.generated and run.generated[t] != rows[t]]
    if wrong:
        raise UsageError(f"generation run {run.id} of '{run.experiment_name}': the files do not hold the rows the "
                         f"run generated ({'; '.join(wrong)}) in {folder}",
                         hint="a batch file is missing or extra; generate the data again")
    return RunFiles(folder, rows, counts)
