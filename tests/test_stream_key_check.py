"""The key check made while streaming: footer ranges, when the plan streams it, and the bitmap itself.

The end-to-end cases (a repeat within a file, across files, sparse keys left to the query, NULL
merge keys) are in tests/bad_inputs/ and run on both emulators (tests/reliability/test_bad_inputs.py).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from manifest_loader.commands import make_plan
from manifest_loader.errors import ConstraintViolation, LoadFailed
from manifest_loader.footer_cache import Footer, FooterCache
from manifest_loader.plan import MAX_KEY_BITMAP_BITS, Check, Plan
from manifest_loader.sources import describe_source, footer_of
from manifest_loader.stream_checks import BatchChecker


def test_footers_give_the_range_of_every_signed_integer_column(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    table = pa.table({"id": pa.array([5, -3, 9], pa.int64()), "small": pa.array([1, None, 2], pa.int16()),
                      "nulls": pa.array([None, None, None], pa.int32()), "name": ["a", "b", "c"],
                      "big": pa.array([1, 2, 3], pa.uint64())})
    pq.write_table(table, path, row_group_size=1)
    ranges = footer_of(pq.read_metadata(path)).int_ranges
    # Over all three row groups; a NULL-only column has no range; strings and unsigned have none.
    assert ranges == {"id": (-3, 9), "small": (1, 2)}


def test_a_file_without_statistics_gives_no_range(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"id": pa.array([1, 2], pa.int64())}), path, write_statistics=False)
    assert footer_of(pq.read_metadata(path)).int_ranges == {}


def test_the_footer_cache_keeps_the_ranges(tmp_path: Path) -> None:
    path, cache = tmp_path / "t.parquet", FooterCache(tmp_path / "footers")
    pq.write_table(pa.table({"id": pa.array([7, 3], pa.int64())}), path)
    first = describe_source(path.as_uri(), "t.parquet", cache=cache)
    identity = FooterCache.local_identity(path)
    entry = cache.get(identity)
    assert entry is not None and entry.int_ranges == {"id": (3, 7)} == first.int_ranges
    # The second answer is the cache's: make its entry say something the file does not.
    cache.put(identity, Footer(entry.rows, entry.schema, entry.sha256, {"id": (1, 100)}))
    assert describe_source(path.as_uri(), "t.parquet", cache=cache).int_ranges == {"id": (1, 100)}


def _plan(tmp_path: Path, table_yaml: str, columns: dict[str, pa.Array], warehouse: str = "redshift") -> Plan:
    (tmp_path / "data").mkdir(exist_ok=True)
    pq.write_table(pa.table(columns), tmp_path / "data" / "t.parquet")
    manifest = tmp_path / "m.yaml"
    manifest.write_text("version: 1\nname: probe\ntarget: {warehouse: redshift}\ntables:\n  - name: t\n"
                        "    source: data/t.parquet\n" + table_yaml)
    env = {"DW_SIMULATOR_REDSHIFT_URL": "postgresql://u@127.0.0.1:1/db",
           "MANIFEST_LOADER_STATE_DIR": str(tmp_path / "state")}
    return make_plan(manifest, warehouse, env=env)[0]


def _key_checks(plan: Plan) -> tuple[list[Check], list[str]]:
    """(key checks streamed by the copy, kinds of the key checks left as queries)."""
    streamed = [c for s in plan.steps for c in s.stream_checks if c.key_range is not None]
    queried = [s.check.kind for s in plan.steps
               if s.check is not None and s.check.kind in ("primary_key", "merge_keys")]
    return streamed, queried


IDS = {"id": pa.array([10, 11, 12], pa.int64()), "v": pa.array(["a", "b", "c"])}


def test_a_replace_table_with_an_integer_key_is_checked_while_streaming(tmp_path: Path) -> None:
    plan = _plan(tmp_path, "    primary_key: [id]\n", IDS)
    streamed, queried = _key_checks(plan)
    assert [(c.kind, c.columns, c.key_range) for c in streamed] == [("primary_key", ("id",), (10, 12))]
    assert queried == []
    copy = next(s for s in plan.steps if s.action == "copy")
    assert any("primary key id unique (values 10..12" in note for note in copy.notes)


@pytest.mark.parametrize(("table_yaml", "columns", "expected_queries"), [
    pytest.param("    mode: append\n    primary_key: [id]\n", IDS, ["primary_key"], id="append keeps the table's rows"),
    pytest.param("    primary_key: [id, v]\n", IDS, ["primary_key"], id="composite key"),
    pytest.param("    primary_key: [v]\n", IDS, ["primary_key"], id="string key"),
    pytest.param("    primary_key: [id]\n", {"id": pa.array([0, MAX_KEY_BITMAP_BITS], pa.int64())}, ["primary_key"],
                 id="range wider than the bitmap"),
    pytest.param("    primary_key: [id]\n    checks: {primary_key: false}\n", IDS, [], id="check turned off"),
])
def test_other_key_checks_stay_queries(tmp_path: Path, table_yaml: str, columns: dict[str, pa.Array],
                                       expected_queries: list[str]) -> None:
    streamed, queried = _key_checks(_plan(tmp_path, table_yaml, columns))
    assert streamed == [] and queried == expected_queries


def test_a_merge_streams_the_incoming_keys_and_queries_the_merged_table(tmp_path: Path) -> None:
    streamed, queried = _key_checks(_plan(tmp_path, "    mode: merge\n    merge_keys: [id]\n    primary_key: [id]\n",
                                          IDS))
    assert [(c.kind, c.key_range) for c in streamed] == [("merge_keys", (10, 12))]
    assert queried == ["primary_key"]   # existing rows take part in the merged table's key


def test_a_range_exactly_as_wide_as_the_bitmap_is_streamed(tmp_path: Path) -> None:
    columns = {"id": pa.array([1, MAX_KEY_BITMAP_BITS], pa.int64())}
    streamed, _ = _key_checks(_plan(tmp_path, "    primary_key: [id]\n", columns))
    assert [c.key_range for c in streamed] == [(1, MAX_KEY_BITMAP_BITS)]


@pytest.mark.parametrize("warehouse", ["snowflake"])
def test_targets_whose_copy_reads_the_files_themselves_query_the_key(tmp_path: Path, warehouse: str) -> None:
    streamed, queried = _key_checks(_plan(tmp_path, "    primary_key: [id]\n", IDS, warehouse))
    assert streamed == [] and queried == ["primary_key"]


def _checker(low: int, high: int, kind: str = "primary_key") -> BatchChecker:
    return BatchChecker([Check(kind, "t", ("id",), key_range=(low, high))], str, counts_bytes=True)


def _feed(checker: BatchChecker, *batches: list[int | None]) -> int:
    stream = (pa.record_batch({"id": pa.array(b, pa.int64())}) for b in batches)
    return sum(b.num_rows for b in checker.checked(stream, lambda: "data/t.parquet"))


def test_distinct_keys_pass_through_every_batch() -> None:
    assert _feed(_checker(-5, 20), [3, -5, 20], [4, 5], [None], [6, 19, 0]) == 9


def test_a_key_seen_in_an_earlier_batch_stops_the_load() -> None:
    with pytest.raises(ConstraintViolation) as raised:
        _feed(_checker(0, 100), [1, 2, 3], [4, 50, 60], [99, 3, 50])
    assert str(raised.value).splitlines()[0] == (
        "table t: primary key (id) has 2 duplicated values (counted in the first batch that has any), e.g. '3' "
        "(first repeated in data/t.parquet); nothing was loaded")


def test_a_key_repeated_within_one_batch_stops_the_load() -> None:
    with pytest.raises(ConstraintViolation, match=r"merge key \(id\) 1 time, e.g. '8'"):
        _feed(_checker(0, 15, "merge_keys"), [8, 1, 8, 8])


def test_bits_of_neighbouring_keys_do_not_collide() -> None:
    # 0..15 share two bytes of the bitmap: every value is its own bit.
    assert _feed(_checker(0, 15), list(range(0, 16, 2)), list(range(1, 16, 2))) == 16


def test_two_null_keys_are_a_repeat_as_group_by_sees_them() -> None:
    with pytest.raises(ConstraintViolation, match=r"e\.g\. NULL"):
        _feed(_checker(0, 10, "merge_keys"), [1, None], [2], [None])


def test_a_key_outside_the_footers_range_says_the_statistics_are_wrong() -> None:
    with pytest.raises(LoadFailed, match=r"holds key value 11 in column id, outside the range 0\.\.10 .* wrong"):
        _feed(_checker(0, 10), [1, 2], [11])


def test_sliced_batches_are_read_from_their_offset() -> None:
    # Parquet readers hand over slices of larger arrays: the values start at the slice's offset.
    whole = pa.array([7, 1, 2, 3, 7], pa.int32())
    checker = _checker(0, 10)
    stream = [pa.record_batch({"id": whole.slice(1, 3)}), pa.record_batch({"id": whole.slice(4, 1)})]
    assert sum(b.num_rows for b in checker.checked(stream, lambda: "f")) == 4
    with pytest.raises(ConstraintViolation, match="e.g. '7'"):
        list(_checker(0, 10).checked([pa.record_batch({"id": whole.slice(0, 1)}),
                                      pa.record_batch({"id": whole.slice(4, 1)})], lambda: "f"))


def test_keys_in_order_and_keys_scattered_wide_are_both_checked() -> None:
    # Keys in order touch a few bytes of the bitmap (its bits are counted); keys scattered over
    # a wide range touch many (the batch is sorted instead). Both find a repeat in the batch and
    # one of an earlier batch.
    in_order = [list(range(0, 1000)), list(range(1000, 2000))]
    assert _feed(_checker(0, 1999), *in_order) == 2000
    with pytest.raises(ConstraintViolation, match=r"has 1 duplicated value, e\.g\. '1500'"):
        _feed(_checker(0, 1999), in_order[0], [*range(1000, 1600), 1500, *range(1600, 2000)])
    with pytest.raises(ConstraintViolation, match=r"has 2 duplicated values .*e\.g\. '998'"):
        _feed(_checker(0, 1999), in_order[0], [998, 999, *range(1000, 2000)])
    scattered = _checker(0, 1_000_000)
    assert _feed(scattered, [5, 999_999, 500_000], [6, 1_000_000]) == 5
    with pytest.raises(ConstraintViolation, match=r"e\.g\. '5'"):
        _feed(_checker(0, 1_000_000), [5, 999_999], [500_000, 5])


def test_the_bitmap_agrees_with_a_set_of_the_keys_seen() -> None:
    import random

    generator = random.Random(19)
    for case in range(300):
        high = generator.choice([63, 4_095, 200_000])
        width = generator.choice([8, 64, high + 1])   # how far apart a batch's keys fall
        batches, seen, repeat_at = [], set(), None
        for index in range(generator.randint(1, 6)):
            start = generator.randint(0, high - min(width, high) + 1) if width <= high else 0
            batch = [generator.randint(start, min(high, start + width - 1)) for _ in range(generator.randint(1, 40))]
            batches.append(batch)
            if repeat_at is None and (len(set(batch)) < len(batch) or seen & set(batch)):
                repeat_at = index
            seen |= set(batch)
        checker = _checker(0, high)
        stream = (pa.record_batch({"id": pa.array(b, pa.int64())}) for b in batches)
        passed = 0
        try:
            for _ in checker.checked(stream, lambda: "f"):
                passed += 1
        except ConstraintViolation:
            assert passed == repeat_at, (case, batches)
        else:
            assert repeat_at is None, (case, batches)
