"""The reliability suite (docs/reliability.md): every test here carries the `reliability` mark.

`python -m pytest -m reliability` runs only this suite, `-m "not reliability"` everything else.
Counts are reduced for CI; RELIABILITY_FULL=1 runs the full counts (see docs/reliability.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "reliability: the reliability and security suite (tests/reliability/)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).resolve().is_relative_to(HERE):
            item.add_marker(pytest.mark.reliability)
