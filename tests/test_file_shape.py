"""Plan notes for files the real warehouse's parallel COPY would load badly (one huge file,
thousands of tiny ones), with each warehouse's own size guidance; emulators get their warehouse's."""

from __future__ import annotations

from manifest_loader.dialects import get_dialect
from manifest_loader.file_shape import MANY_FILES, file_shape_notes

MB, GB = 1_000_000, 1_000_000_000


def test_one_huge_file_is_split_for_redshift_and_snowflake() -> None:
    redshift = file_shape_notes(get_dialect("redshift"), [5 * GB])
    assert len(redshift) == 1
    assert "one file larger than 1.0 GB (largest 5.0 GB)" in redshift[0]
    assert "at least 5 files of 1.0 MB-1.0 GB" in redshift[0] and "multiple of the cluster's slices" in redshift[0]
    snowflake = file_shape_notes(get_dialect("snowflake"), [5 * GB])
    assert "at least 20 files of 100.0 MB-250.0 MB" in snowflake[0]


def test_thousands_of_tiny_files_are_combined() -> None:
    notes = file_shape_notes(get_dialect("redshift"), [10_000] * 5000)
    assert len(notes) == 1 and "5000 files averaging 10.0 KB" in notes[0] and "about 50 files" in notes[0]
    assert file_shape_notes(get_dialect("redshift"), [10_000] * (MANY_FILES - 1)) == []   # a few small files: fine


def test_well_shaped_files_get_no_note() -> None:
    assert file_shape_notes(get_dialect("redshift"), [120 * MB] * 16) == []
    assert file_shape_notes(get_dialect("snowflake"), [180 * MB] * 40) == []
    assert file_shape_notes(get_dialect("snowflake"), []) == []


def test_emulators_get_the_advice_of_the_warehouse_they_stand_in_for() -> None:
    assert file_shape_notes(get_dialect("postgres"), [5 * GB]) == file_shape_notes(get_dialect("redshift"), [5 * GB])
    assert file_shape_notes(get_dialect("fakesnow"), [300 * MB]) == file_shape_notes(get_dialect("snowflake"),
                                                                                       [300 * MB])
