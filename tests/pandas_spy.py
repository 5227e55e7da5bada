"""Whether code, run in a fresh interpreter, asks to import pandas: pyarrow's conversions of
Python values do whenever pandas is installed (0.2-0.5 s, once per process), and the loader
avoids them where a command would pay that (arrow_values.py)."""

from __future__ import annotations

import subprocess
import sys

from loadkit import ROOT

_SPY = """import sys
asked = []
class Spy:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "pandas":
            asked.append(name)
sys.meta_path.insert(0, Spy())
"""


def asks_for_pandas(code: str) -> tuple[str, bool]:
    """What the code printed, and whether anything it ran asked for pandas (imports included)."""
    out = subprocess.run([sys.executable, "-c", f"{_SPY}{code}\nprint(bool(asked))\n"], capture_output=True,
                         text=True, check=True, cwd=ROOT).stdout
    *printed, asked = out.strip().splitlines()
    return "\n".join(printed), asked == "True"
