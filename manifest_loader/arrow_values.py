"""Arrow arrays from Python values without `pa.array()`, which imports pandas whenever it is
installed (0.2-0.5 s, once per process) to ask whether the values are a DataFrame.

Strings, integers and NULLs are built from buffers: the values the loader binds to its own
statements on the Redshift emulator (adbc_session.py), and the JSON text of nested columns
(casting.py). Anything else goes through `pa.array()`.
"""

from __future__ import annotations

from array import array
from itertools import accumulate
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa


def array_of(values: list[Any]) -> pa.Array:
    """The values as one Arrow array: string, int64, or the null type when every value is None."""
    import pyarrow as pa

    present = [v for v in values if v is not None]
    kinds = {type(v) for v in present}
    if not present:
        return pa.nulls(len(values))
    validity = None
    if len(present) < len(values):
        bits = bytearray((len(values) + 7) // 8)
        for i, value in enumerate(values):
            if value is not None:
                bits[i // 8] |= 1 << (i % 8)
        validity = pa.py_buffer(bytes(bits))
    if kinds == {str}:
        encoded = [b"" if v is None else v.encode() for v in values]
        ends = list(accumulate((len(e) for e in encoded), initial=0))
        if ends[-1] < 2**31:
            offsets = array("i", ends).tobytes()
            return pa.Array.from_buffers(pa.string(), len(values), [validity, pa.py_buffer(offsets),
                                                                    pa.py_buffer(b"".join(encoded))])
    if kinds == {int} and all(-(2**63) <= v < 2**63 for v in present):
        data = array("q", [0 if v is None else v for v in values]).tobytes()
        return pa.Array.from_buffers(pa.int64(), len(values), [validity, pa.py_buffer(data)])
    return pa.array(values)
