"""Property tests (hypothesis): `${VAR}` interpolation, type inference and casting, and names.

The pure properties run hundreds of examples. The round trips through the emulators (an apply
per example) run RELIABILITY_EXAMPLES examples each (8 in CI; 50 with RELIABILITY_FULL=1):

* every Arrow type the loader accepts, with generated values, loads into each emulator and
  reads back (with the emulator's own driver) as the same values;
* any table and column name the loader accepts is created, loaded and selected back under
  exactly that name, through `manifest-loader query` as a user would.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import os
import re
import struct
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from hypothesis import HealthCheck, Phase, assume, example, given, settings
from hypothesis import strategies as st
from relkit import Emulator, env_int, isolated_emulator

from manifest_loader.apply import apply
from manifest_loader.casting import cast_column
from manifest_loader.dialects import get_dialect
from manifest_loader.interpolate import InterpolationError, interpolate_text
from manifest_loader.manifest import load_manifest
from manifest_loader.query import run_query
from manifest_loader.resolve import _reserved
from manifest_loader.types import infer_from_arrow

EXAMPLES = env_int("RELIABILITY_EXAMPLES", 8, 50)
# An apply per example: no shrinking (minutes), the failing example is reported as found.
SLOW = settings(max_examples=EXAMPLES, deadline=None, database=None,
                derandomize=os.environ.get("RELIABILITY_FULL") != "1",
                phases=(Phase.explicit, Phase.reuse, Phase.generate),
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.filter_too_much])
DIALECT = {"redshift": get_dialect("postgres"), "snowflake": get_dialect("fakesnow")}

# No example database: nothing is written next to the checkout.
FAST = settings(deadline=None, database=None)

# -- ${VAR} interpolation ------------------------------------------------------------------------

names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True)
texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)


@FAST
@given(texts.filter(lambda t: "${" not in t))
def test_text_without_a_reference_is_unchanged(text: str) -> None:
    assert interpolate_text(text, {}) == (text, [])


@FAST
@given(names, texts, texts.filter(lambda t: "${" not in t and "$" not in t[-1:]), texts.filter(lambda t: "${" not in t))
def test_a_reference_takes_the_value_verbatim(name: str, value: str, before: str, after: str) -> None:
    """The value is data: `${OTHER}`, `{{ 7*7 }}` or `$${` inside it stay exactly as they are."""
    result, used = interpolate_text(f"{before}${{{name}}}{after}", {name: value})
    assert result == before + value + after and used == [name]


@FAST
@given(names, texts.filter(lambda t: "}" not in t and "${" not in t), st.none() | texts)
def test_the_default_applies_only_when_the_variable_is_unset(name: str, default: str, value: str | None) -> None:
    env = {} if value is None else {name: value}
    assert interpolate_text(f"${{{name}:-{default}}}", env)[0] == (default if value is None else value)


@FAST
@given(texts)
@example("$${")
@example("$$${x}")
@example("${")
def test_escaping_round_trips_any_text(text: str) -> None:
    """Writing `$${` for every `${` gives back exactly the text, with no variable looked up."""
    assert interpolate_text(text.replace("${", "$${"), {}) == (text, [])


@FAST
@given(texts.filter(lambda t: "}" not in t and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(:-.*)?", t, flags=re.S)))
def test_a_reference_that_is_not_a_name_is_an_error(body: str) -> None:
    with pytest.raises(InterpolationError):
        interpolate_text(f"${{{body}}}", {})


@settings(FAST, max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=40))
def test_a_variable_in_a_manifest_is_never_parsed_or_evaluated(tmp_path: Path, value: str) -> None:
    """Whatever a variable holds (YAML, Jinja, another reference) becomes the string value itself."""
    path = tmp_path / "m.yaml"
    path.write_text("version: 1\nname: p\ndescription: '${ML_PROPERTY_VALUE}'\ntarget: {warehouse: redshift}\n"
                    "tables:\n  - {name: t, source: d.parquet}\n", encoding="utf-8")
    assert load_manifest(path, env={"ML_PROPERTY_VALUE": value}).description == value


# -- type inference and casting ------------------------------------------------------------------

def _finite32() -> st.SearchStrategy[float]:
    return st.floats(width=32, allow_nan=True, allow_infinity=True)


@st.composite
def decimal_columns(draw: st.DrawFn) -> tuple[pa.DataType, list[Any]]:
    precision = draw(st.integers(1, 38))
    scale = draw(st.integers(0, precision))
    values = draw(st.lists(st.none() | st.decimals(allow_nan=False, allow_infinity=False, places=scale,
                                                   min_value=-(10 ** (precision - scale)) + 1,
                                                   max_value=10 ** (precision - scale) - 1), max_size=6))
    return pa.decimal128(precision, scale), values


def _nullable(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[list[Any]]:
    return st.lists(st.none() | strategy, min_size=1, max_size=6)


UTC = dt.UTC
strings = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=30)
datetimes = st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31))
# Arrow type -> strategy for its values: every type infer_from_arrow accepts (the Parquet side).
ACCEPTED: dict[str, tuple[pa.DataType, st.SearchStrategy[Any]]] = {
    "bool": (pa.bool_(), st.booleans()),
    "int8": (pa.int8(), st.integers(-2**7, 2**7 - 1)),
    "int16": (pa.int16(), st.integers(-2**15, 2**15 - 1)),
    "int32": (pa.int32(), st.integers(-2**31, 2**31 - 1)),
    "int64": (pa.int64(), st.integers(-2**63, 2**63 - 1)),
    "uint8": (pa.uint8(), st.integers(0, 2**8 - 1)),
    "uint16": (pa.uint16(), st.integers(0, 2**16 - 1)),
    "uint32": (pa.uint32(), st.integers(0, 2**32 - 1)),
    "uint64": (pa.uint64(), st.integers(0, 2**64 - 1)),
    "float32": (pa.float32(), _finite32()),
    "float64": (pa.float64(), st.floats()),
    "string": (pa.string(), strings),
    "large_string": (pa.large_string(), strings),
    "binary": (pa.binary(), st.binary(max_size=20)),
    "date32": (pa.date32(), st.dates()),
    "time_us": (pa.time64("us"), st.times()),
    "time_ms": (pa.time32("ms"), st.times().map(lambda t: t.replace(microsecond=t.microsecond // 1000 * 1000))),
    "timestamp_s": (pa.timestamp("s"), datetimes.map(lambda d: d.replace(microsecond=0))),
    "timestamp_ms": (pa.timestamp("ms"), datetimes.map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))),
    "timestamp_us": (pa.timestamp("us"), datetimes),
    "timestamp_ns": (pa.timestamp("ns"), st.datetimes(min_value=dt.datetime(1678, 1, 1),
                                                     max_value=dt.datetime(2261, 12, 31))),
    "timestamptz": (pa.timestamp("us", tz="UTC"), st.datetimes(min_value=dt.datetime(1900, 1, 1),
                                                                max_value=dt.datetime(2200, 1, 1),
                                                                timezones=st.just(UTC))),
    "list": (pa.list_(pa.int64()), st.lists(st.integers(-2**53, 2**53), max_size=4)),
    "struct": (pa.struct([("a", pa.int64()), ("b", pa.string())]),
               st.fixed_dictionaries({"a": st.none() | st.integers(-2**53, 2**53), "b": st.none() | strings})),
}


def _arrow(name: str, values: list[Any]) -> pa.Array:
    arrow_type, _ = ACCEPTED[name]
    return pa.array(values, arrow_type)


def _normal(value: Any, kind: str) -> Any:
    """One comparable form of a value, whichever side (Arrow, PostgreSQL, DuckDB) it comes from."""
    if value is None:
        return None
    if kind == "float32" and isinstance(value, float):
        value = struct.unpack("f", struct.pack("f", value))[0] if math.isfinite(value) else value
    if isinstance(value, float):
        return "nan" if math.isnan(value) else value
    if isinstance(value, Decimal):
        return int(value) if kind.startswith(("int", "uint")) else value.normalize()
    if isinstance(value, memoryview | bytearray):
        return bytes(value)
    if kind in ("list", "struct"):
        parsed = json.loads(value) if isinstance(value, str) else value
        return _drop_null_members(parsed)
    if kind == "timestamptz" and isinstance(value, dt.datetime):
        return value.astimezone(UTC)
    return value


def _drop_null_members(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_null_members(v) for k, v in value.items() if v is not None}
    return value


@FAST
@given(st.sampled_from(sorted(ACCEPTED)).flatmap(lambda k: st.tuples(st.just(k), _nullable(ACCEPTED[k][1]))))
def test_every_accepted_type_casts_to_its_portable_type_without_change(column: tuple[str, list[Any]]) -> None:
    kind, values = column
    array = _arrow(kind, values)
    portable = infer_from_arrow(array.type)
    assert portable is not None
    cast = cast_column(array, portable.arrow_type())
    assert cast.type == portable.arrow_type()
    assert [_normal(v, kind) for v in cast.to_pylist()] == [_normal(v, kind) for v in array.to_pylist()]


@FAST
@given(decimal_columns())
def test_decimals_cast_without_change(column: tuple[pa.DataType, list[Any]]) -> None:
    arrow_type, values = column
    array = pa.array(values, arrow_type)
    cast = cast_column(array, infer_from_arrow(arrow_type).arrow_type())   # type: ignore[union-attr]
    assert cast.to_pylist() == array.to_pylist()


@FAST
@given(st.lists(st.integers(-2**62, 2**62), min_size=1, max_size=5))
def test_sub_microsecond_timestamps_are_refused_never_cut(nanoseconds: list[int]) -> None:
    array = pa.array(nanoseconds, pa.timestamp("ns"))
    target = infer_from_arrow(array.type).arrow_type()   # type: ignore[union-attr]
    if all(n % 1000 == 0 for n in nanoseconds):
        assert cast_column(array, target).cast(pa.int64()).to_pylist() == [n // 1000 for n in nanoseconds]
    else:
        with pytest.raises(pa.ArrowInvalid):
            cast_column(array, target)


# -- round trips through the emulators -----------------------------------------------------------

_counter = itertools.count()


@pytest.fixture(params=["redshift", "snowflake"])
def emulator(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    return isolated_emulator(request, tmp_path, monkeypatch)


def _load(folder: Path, warehouse: str, table: str, schema: str, data: pa.Table) -> Path:
    """Write data as the table's one file and a manifest for it; apply; return the manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(data, folder / "data.parquet")
    manifest = folder / "m.yaml"
    manifest.write_text(yaml.safe_dump({"version": 1, "name": "props", "target": {"warehouse": "redshift",
                                        "schema": schema}, "tables": [{"name": table, "source": "data.parquet"}]},
                                       allow_unicode=True), encoding="utf-8")
    apply(manifest, warehouse)
    return manifest


ROW_COUNTS = st.integers(1, 4)


@st.composite
def tables(draw: st.DrawFn) -> tuple[pa.Table, dict[str, str]]:
    """One table with a column of every accepted type (and one decimal), rows drawn together."""
    rows = draw(ROW_COUNTS)
    columns: dict[str, pa.Array] = {}
    kinds: dict[str, str] = {}
    for kind, (arrow_type, strategy) in ACCEPTED.items():
        columns[f"c_{kind}"] = pa.array(draw(st.lists(st.none() | strategy, min_size=rows, max_size=rows)), arrow_type)
        kinds[f"c_{kind}"] = kind
    decimal_type, _ = draw(decimal_columns())
    digits = decimal_type.precision - decimal_type.scale
    decimals = st.decimals(allow_nan=False, allow_infinity=False, places=decimal_type.scale,
                           min_value=-(10 ** digits) + 1, max_value=10 ** digits - 1)
    columns["c_decimal"] = pa.array(draw(st.lists(st.none() | decimals, min_size=rows, max_size=rows)), decimal_type)
    kinds["c_decimal"] = "decimal"
    columns["c_row"] = pa.array(range(rows), pa.int32())
    kinds["c_row"] = "int32"
    return pa.table(columns), kinds


@SLOW
@given(data=tables())
def test_every_accepted_type_round_trips_through_the_emulator(emulator: Emulator, tmp_path: Path,
                                                              data: tuple[pa.Table, dict[str, str]]) -> None:
    table, kinds = data
    schema = f"types{next(_counter)}"
    _load(tmp_path / schema, emulator.warehouse, "t", schema, table)
    names = ", ".join(table.column_names)
    rows = emulator.rows(f"SELECT {names} FROM {schema}.t ORDER BY c_row")
    expected = table.to_pylist()
    assert len(rows) == len(expected)
    for got, want in zip(rows, expected, strict=True):
        for name, value in zip(table.column_names, got, strict=True):
            kind = kinds[name]
            assert _normal(value, kind) == _normal(want[name], kind), (emulator.warehouse, name, value, want[name])


def _accepted(name: str, dialect: Any) -> bool:
    return dialect.identifier_problem(name) is None and _reserved(name) is None


identifiers = st.text(st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=24)


@SLOW
@given(table_name=identifiers, column_name=identifiers)
@example(table_name='a"b', column_name='x"); DROP TABLE t; --')
@example(table_name="Order Date", column_name="Select")
@example(table_name="{{ 7*7 }}", column_name="%(s)s")
@example(table_name="a.b", column_name="$1")
@example(table_name="e\u0301\u202e", column_name=":name")
@example(table_name="ß", column_name="Straße café")
@example(table_name="Øz'", column_name="it's")          # fakesnow pasted names into its status literal
@example(table_name="$ab", column_name="$x y")          # and read "$ab" inside quotes as a session variable
def test_any_accepted_name_round_trips_through_create_load_and_select(
        emulator: Emulator, tmp_path: Path, table_name: str, column_name: str) -> None:
    dialect = DIALECT[emulator.warehouse]
    assume(_accepted(table_name, dialect) and _accepted(column_name, dialect))
    schema = f"names{next(_counter)}"
    values = [3, 1, 2]
    manifest = _load(tmp_path / schema, emulator.warehouse, table_name, schema,
                     pa.table({column_name: pa.array(values, pa.int64())}))
    # Created under exactly that name (as the warehouse stores it), found in the catalog:
    stored = emulator.rows(f"SELECT table_name, column_name FROM information_schema.columns "
                           f"WHERE lower(table_schema) = '{schema}' AND lower(table_name) NOT IN "
                           "('_manifest_loader_ledger', '_manifest_loader_keys', '_manifest_loader_changed')")
    assert stored == [(dialect.stored_name(table_name), dialect.stored_name(column_name))]
    # and selected back the way a user would, with the dialect's quoting:
    columns, rows = run_query(manifest, f"SELECT {dialect.quote(column_name)} FROM {dialect.quote(table_name)} "
                                        f"ORDER BY 1", emulator.warehouse)
    assert [int(r[0]) for r in rows] == sorted(values)
    assert [c.lower() for c in columns] == [dialect.stored_name(column_name).lower()]
