"""Run the manifest-loader CLI as if some packages were not installed.

    python -m benchmarks.without pandas -- apply manifest.yaml

The benchmark needs pandas for the pandas and dlt contenders, but a plain
`pip install manifest-loader` has no pandas; pyarrow imports it whenever it is importable
(ADBC's dbapi imports pyarrow.dataset), which costs apply time and memory it would not spend
in a plain install. This shows apply as that install runs it.
"""

from __future__ import annotations

import sys
from importlib.abc import MetaPathFinder
from typing import Any


class _Hidden(MetaPathFinder):
    def __init__(self, names: set[str]):
        self.names = names

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        if fullname.split(".", 1)[0] in self.names:
            raise ModuleNotFoundError(f"No module named {fullname!r} (hidden by benchmarks.without)")
        return None


def main(argv: list[str]) -> None:
    split = argv.index("--")
    sys.meta_path.insert(0, _Hidden(set(argv[:split])))
    from manifest_loader.cli import main as cli

    sys.argv = ["manifest-loader", *argv[split + 1:]]
    cli()


if __name__ == "__main__":
    main(sys.argv[1:])
