"""Tier 1 output: records and aggregates only, never media bytes. A record keeps no direct
identifier (no case ref, name, caption, file name, key, phone, email, exact time or GPS: it is
built from an allow-list, so nothing else can leak in); its quasi-identifiers are generalised (time
to ISO week, place to region, size to a bucket); any group of fewer than k records is suppressed.
Pure: the caller passes eligible items only (domain/program_eligibility.py)."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from enum import Enum

from .errors import InvalidInput
from .models import Submission
from .program import Tier

MIN_K = 5
QUASI_IDENTIFIERS = ("week", "region", "size_bucket", "media")
SIZE_BUCKETS = ((1_000_000, "<1MB"), (10_000_000, "1-10MB"), (100_000_000, "10-100MB"))


class Technique(str, Enum):
    """The techniques a use case may declare (`UseCaseContent.technique`), with the tier each needs."""

    AGGREGATE_COUNTS = "aggregate_counts"  # Tier 1: counts per generalised group, small groups suppressed
    DEIDENTIFIED_RECORDS = "deidentified_records"  # Tier 1: generalised records, small groups suppressed
    STRIPPED_MEDIA_COPY = "stripped_media_copy"  # Tier 2: media copied with location/device metadata removed

    @property
    def tier(self) -> Tier:
        return Tier.TIER_2 if self is Technique.STRIPPED_MEDIA_COPY else Tier.TIER_1


def check_k(k: int) -> int:
    if k < MIN_K:
        raise InvalidInput(f"k cannot be under {MIN_K}.", code="k_too_small", details={"min": MIN_K})
    return k


def iso_week(moment: datetime) -> str:
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def size_bucket(size: int) -> str:
    return next((label for limit, label in SIZE_BUCKETS if size < limit), ">=100MB")


def media_kind(content_type: str) -> str:
    major = content_type.split("/", 1)[0].lower()
    return major if major in {"image", "video", "audio"} else "other"


def records(items: Iterable[Submission], region: str) -> list[dict[str, str]]:
    """One generalised record per verified file: only the quasi-identifiers, nothing direct."""
    found = []
    for item in items:
        assert item.submitted_at is not None  # eligible items are submitted
        for file in item.files.values():
            found.append({"week": iso_week(item.submitted_at), "region": region, "size_bucket": size_bucket(file.size),
                          "media": media_kind(file.detected_type or file.content_type)})
    return found


def _group(record: dict[str, str]) -> tuple[str, ...]:
    return tuple(record[q] for q in QUASI_IDENTIFIERS)


def suppress(found: list[dict[str, str]], k: int) -> list[dict[str, str]]:
    """Generalised records whose group has at least k members; the rest dropped."""
    sizes = Counter(_group(r) for r in found)
    return sorted((r for r in found if sizes[_group(r)] >= check_k(k)), key=_group)


def aggregate(found: list[dict[str, str]], k: int) -> list[dict[str, object]]:
    """Counts per group, groups under k dropped."""
    sizes = Counter(_group(r) for r in found)
    return [{**dict(zip(QUASI_IDENTIFIERS, group, strict=True)), "count": n}
            for group, n in sorted(sizes.items()) if n >= check_k(k)]


def tier_1_output(technique: Technique, items: Iterable[Submission], region: str, k: int) -> list[dict[str, object]]:
    found = records(items, region)
    if technique is Technique.AGGREGATE_COUNTS:
        return aggregate(found, k)
    return [dict(r) for r in suppress(found, k)]
