"""Reproducible load benchmarks: `python -m benchmarks.load --rows 1000000` (see docs/benchmarks.md).

Not part of the installed package. Every contender runs in its own process, timed from the
outside (wall time, peak RSS); every loaded table is read back and checked by content.
"""
