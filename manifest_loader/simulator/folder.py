"""`init --from-folder`: a manifest for a folder of Parquet tables, types read from their footers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from .experiment import check_valid, check_warehouse, default_warehouse
from .manifestgen import folder_tables, manifest_from_folder


def init_from_folder(folder: Path, output: Path | None, name: str | None = None, warehouse: str | None = None,
                     env: Mapping[str, str] | None = None) -> str:
    """The manifest text; sources relative to the output file's folder when the data lies under it."""
    base = (output.parent if output is not None else Path.cwd()).absolute()
    tables = folder_tables(folder, base)
    chosen = (check_warehouse(warehouse), "chosen on the command line") if warehouse else \
        default_warehouse(env, "chosen by default")
    load_name = name or re.sub(r"\W", "_", folder.absolute().name) or "tables"
    text = manifest_from_folder(load_name, chosen[0], chosen[1], tables, str(folder))
    check_valid(text, env)
    return text
