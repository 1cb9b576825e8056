"""Tier 1 de-identification (domain/deidentify.py), checked by an independent k-anonymity checker
written here from the rule, not from the producing code."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain import deidentify
from chalicelib.domain.errors import InvalidInput
from tests.program_worlds import T0, item

ALLOWED_FIELDS = {"week", "region", "size_bucket", "media", "count"}
WEEK = re.compile(r"^\d{4}-W\d{2}$")


def k_anonymous(output: list[dict[str, object]], k: int) -> bool:
    """Independent check: every released row is generalised (only allowed fields, week format, a
    bucket label, no number but counts) and stands for at least k records."""
    groups: dict[tuple[object, ...], int] = {}
    for row in output:
        if set(row) - ALLOWED_FIELDS or not WEEK.match(str(row["week"])):
            return False
        if row["size_bucket"] not in {"<1MB", "1-10MB", "10-100MB", ">=100MB"}:
            return False
        key = (row["week"], row["region"], row["size_bucket"], row["media"])
        groups[key] = groups.get(key, 0) + int(row.get("count", 1))  # type: ignore[call-overload]
    return all(n >= k for n in groups.values())


def test_generalisation() -> None:
    assert deidentify.iso_week(T0) == "2021-W23"
    assert [deidentify.size_bucket(n) for n in (0, 999_999, 1_000_000, 10**8)] == ["<1MB", "<1MB", "1-10MB",
                                                                                     ">=100MB"]
    assert deidentify.media_kind("video/mp4") == "video" and deidentify.media_kind("application/pdf") == "other"


def test_small_groups_are_suppressed_and_k_below_5_is_refused() -> None:
    items = [item("a1", n) for n in range(5)] + [item("a1", 9, size=50_000_000)]
    out = deidentify.tier_1_output(deidentify.Technique.AGGREGATE_COUNTS, items, "US", k=5)
    assert out == [{"week": "2021-W23", "region": "US", "size_bucket": "<1MB", "media": "image", "count": 5}]
    records = deidentify.tier_1_output(deidentify.Technique.DEIDENTIFIED_RECORDS, items, "US", k=5)
    assert len(records) == 5 and all(r["size_bucket"] == "<1MB" for r in records)
    assert deidentify.tier_1_output(deidentify.Technique.AGGREGATE_COUNTS, items, "US", k=6) == []
    with pytest.raises(InvalidInput) as refused:
        deidentify.tier_1_output(deidentify.Technique.AGGREGATE_COUNTS, items, "US", k=4)
    assert refused.value.code == "k_too_small"


def test_the_checker_can_fail() -> None:
    assert not k_anonymous([{"week": "2021-W23", "region": "US", "size_bucket": "<1MB", "media": "image",
                             "count": 4}], 5)
    assert not k_anonymous([{"week": "2021-06-07T09:00", "region": "US", "size_bucket": "<1MB", "media": "image",
                             "count": 9}], 5)
    assert not k_anonymous([{"week": "2021-W23", "region": "US", "size_bucket": "<1MB", "media": "image",
                             "caption": "x", "count": 9}], 5)


SPEC = st.tuples(st.integers(0, 20), st.sampled_from([10, 2_000_000, 20_000_000, 200_000_000]),
                 st.sampled_from(["image/jpeg", "video/mp4", "audio/mpeg", "application/pdf"]))


@settings(max_examples=200, deadline=None)
@given(st.lists(SPEC, max_size=60), st.integers(5, 9),
       st.sampled_from([deidentify.Technique.AGGREGATE_COUNTS, deidentify.Technique.DEIDENTIFIED_RECORDS]))
def test_every_tier_1_output_is_k_anonymous(specs: list[tuple[int, int, str]], k: int,
                                            technique: deidentify.Technique) -> None:
    items = [item("a1", n, at=T0 + timedelta(days=day), size=size, content_type=kind)
             for n, (day, size, kind) in enumerate(specs)]
    assert k_anonymous(deidentify.tier_1_output(technique, items, "US", k), k)
