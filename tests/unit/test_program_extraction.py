"""Extraction runs (services/program_extraction.py) over the memory world: only eligible content,
closed weeks, lineage apart from content, idempotent, and refusals audited."""
from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib import media_strip
from chalicelib.domain.errors import Conflict, InvalidInput
from chalicelib.domain.models import OPERATOR_AGENCY, Origin, Principal, Role
from chalicelib.domain.program import Tier
from chalicelib.domain.program_use_cases import UseCaseState
from chalicelib.services import program
from chalicelib.services import program_extraction as extraction
from tests.program_worlds import JPEG_WITH_GPS, T0, item, join, store_item, use_case, world

LATER = T0 + timedelta(days=8)  # the week of T0 is closed


def seeded(technique: str = "aggregate_counts", tier: Tier = Tier.TIER_1, tier_2: bool = False):
    deps = world(T0)
    join(deps, "a1", tier_2=tier_2)
    use_case(deps, technique, tier=tier)
    for n in range(6):
        store_item(deps, item("a1", n))
    for n, origin in enumerate((Origin.CITIZEN_LINK, Origin.COMMUNITY_PORTAL, Origin.SHARED), start=10):
        store_item(deps, item("a1", n, origin=origin))
    deps.base.clock.at = LATER
    return deps


def test_a_closed_week_of_own_captures_becomes_one_aggregate_with_its_lineage() -> None:
    deps = seeded()
    report = extraction.extract("uc1", deps=deps)
    assert report["created"] == 1
    (lineage,) = deps.store.lineages.values()
    assert lineage.sources == [f"a1/s{n}" for n in range(6)] and lineage.agency_ids == ["a1"]
    assert (lineage.use_case_id, lineage.use_case_version, lineage.technique) == ("uc1", 1, "aggregate_counts")
    assert deps.store.contents[lineage.artifact_id].records == [
        {"week": "2021-W23", "region": "US", "size_bucket": "<1MB", "media": "image", "count": 6}]
    assert "a1/s10" not in deps.store.sources and "a1/s0" in deps.store.sources


def test_running_twice_adds_nothing() -> None:
    deps = seeded()
    extraction.extract("uc1", deps=deps)
    events = len(list(deps.base.audit.entries("a1")))
    again = extraction.extract("uc1", deps=deps)
    assert again["created"] == 0 and again["existing"] == 1 and len(deps.store.lineages) == 1
    assert len(list(deps.base.audit.entries("a1"))) == events


def test_the_current_week_waits_until_it_is_closed() -> None:
    deps = seeded()
    deps.base.clock.at = T0 + timedelta(days=1)
    assert extraction.extract("uc1", deps=deps)["created"] == 0


def test_tier_2_copies_images_stripped_of_metadata_and_never_citizen_items() -> None:
    deps = seeded("stripped_media_copy", Tier.TIER_2, tier_2=True)
    assert extraction.extract("uc1", deps=deps)["created"] == 6
    copies = [v[0] for v in deps.media.versions.values()]
    assert len(copies) == 6 and all(c == media_strip.strip(JPEG_WITH_GPS) for c in copies)
    assert all(b"GPS" not in c and b"secret" not in c and b"PIXELS" in c for c in copies)
    assert all(s.startswith("a1/s") and int(s[4:]) < 6 for lin in deps.store.lineages.values() for s in lin.sources)


def test_a_tier_1_agency_gives_nothing_to_a_tier_2_use_case() -> None:
    deps = seeded("stripped_media_copy", Tier.TIER_2, tier_2=False)
    report = extraction.extract("uc1", deps=deps)
    assert (report["created"], report["agencies"]) == (0, 0) and deps.media.versions == {}


@pytest.mark.parametrize(("technique", "k", "code"), [
    ("deidentified_records", 5, "technique_not_declared"), ("aggregate_counts", 4, "k_too_small")])
def test_bad_runs_are_refused_and_audited(technique: str, k: int, code: str) -> None:
    deps = seeded()
    with pytest.raises(InvalidInput) as refused:
        extraction.extract("uc1", deps=deps, technique=technique, k=k)
    assert refused.value.code == code and deps.store.lineages == {}
    event = list(deps.base.audit.entries(OPERATOR_AGENCY))[-1]
    assert (event.action, event.outcome, event.details["code"]) == ("program.extraction_refused", "refused", code)


def test_not_yet_effective_and_retired_use_cases_are_refused() -> None:
    deps = seeded()
    use_case(deps, use_case_id="uc2", effective_on=LATER.date() + timedelta(days=1))
    versions = deps.base.program.use_cases
    versions[("uc2", 1)] = versions[("uc2", 1)].model_copy(update={"state": UseCaseState.ANNOUNCED})
    with pytest.raises(Conflict) as early:
        extraction.extract("uc2", deps=deps)
    assert early.value.code == "not_yet_effective"
    versions[("uc1", 1)] = versions[("uc1", 1)].model_copy(update={"state": UseCaseState.RETIRED, "retired_at": LATER})
    with pytest.raises(Conflict) as retired:
        extraction.extract("uc1", deps=deps)
    assert retired.value.code == "use_case_retired" and deps.store.lineages == {}
    assert extraction.extract_all(deps=deps) == {}


MIX = st.lists(st.tuples(st.sampled_from(["a1", "a2"]), st.sampled_from(list(Origin)), st.booleans(),
                         st.integers(0, 6)), min_size=1, max_size=25)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(MIX, st.sampled_from(["aggregate_counts", "deidentified_records", "stripped_media_copy"]))
def test_program_storage_never_holds_anything_of_an_excluded_item(mix, technique) -> None:
    """Whatever the mix of origins, agencies and removals, every artifact's sources (and so every
    copy in the bucket) are own captures that no removal names."""
    deps = world(T0)
    join(deps, "a1", tier_2=True)
    use_case(deps, technique, tier=Tier.TIER_2)
    removed = []
    for n, (agency, origin, remove, day) in enumerate(mix):
        store_item(deps, item(agency, n, origin=origin, at=T0 + timedelta(days=day)))
        removed += [f"s{n}"] if remove and agency == "a1" else []
    if removed:
        program.request_removal(Principal(agency_id="a1", role=Role.AGENCY_ADMIN, key_id="adm"), removed, None,
                                deps=deps.base)
    deps.base.clock.at = T0 + timedelta(days=15)
    extraction.extract("uc1", deps=deps, k=5)
    allowed = {f"a1/s{n}" for n, (agency, origin, _, _) in enumerate(mix)
               if agency == "a1" and origin is Origin.AGENCY_CAPTURE} - {f"a1/{s}" for s in removed}
    held = [s for lin in deps.store.lineages.values() for s in lin.sources]
    assert set(held) <= allowed
    assert len(deps.media.versions) == (len(allowed) if technique == "stripped_media_copy" else 0)


def test_the_daily_run_reads_each_agency_once_whatever_the_number_of_use_cases(monkeypatch) -> None:
    """Participation is read once per agency per run, and removals only for participants: the run
    must not cost use cases x agencies reads."""
    deps = seeded()
    for n in range(2, 5):
        use_case(deps, use_case_id=f"uc{n}")
    deps.base.agencies.create_agency(deps.base.agencies.get_agency("a1").model_copy(
        update={"agency_id": "outsider", "name": "outsider"}))
    reads: list[str] = []
    real = program.participation
    monkeypatch.setattr(program, "participation", lambda agency_id, *, deps: reads.append(agency_id) or real(
        agency_id, deps=deps))
    removals: list[str] = []
    real_removals = deps.base.program.removals
    monkeypatch.setattr(deps.base.program, "removals", lambda agency_id: removals.append(agency_id) or real_removals(
        agency_id))
    runs = extraction.extract_all(deps=deps)
    assert sorted(runs) == ["uc1", "uc2", "uc3", "uc4"] and runs["uc1"]["created"] == 1
    assert sorted(reads) == ["a1", "outsider"] and set(removals) == {"a1"}  # never the outsider's


def test_tier_2_never_reads_a_video_nor_an_image_too_large_to_strip_whole(monkeypatch) -> None:
    """Only JPEG and PNG under the ceiling are downloaded: a phone video of several GB would not fit
    in the function's memory, and would be read again every night for nothing."""
    deps = seeded("stripped_media_copy", Tier.TIER_2, tier_2=True)
    store_item(deps, item("a1", 20, content_type="video/mp4", size=3 * 1024**3), data=b"\x00\x00\x00\x18ftypmp42")
    store_item(deps, item("a1", 21, size=media_strip.MAX_BYTES + 1))
    read: list[str] = []
    real = deps.base.blobs.iter_chunks
    monkeypatch.setattr(deps.base.blobs, "iter_chunks", lambda key, version_id=None: read.append(key) or real(
        key, version_id))
    assert extraction.extract("uc1", deps=deps)["created"] == 6
    assert sorted(read) == sorted(f"a1/s{n}/f{n}" for n in range(6))  # the six photos, never s20 or s21


def test_a_use_case_failing_unexpectedly_does_not_stop_the_others_and_the_run_still_fails(monkeypatch) -> None:
    deps = seeded()
    use_case(deps, use_case_id="uc2")
    real = extraction.extract

    def flaky(use_case_id, *, deps, participants=None, as_of=None):
        if use_case_id == "uc1":
            raise OSError("the disk is full")
        return real(use_case_id, deps=deps, participants=participants, as_of=as_of)
    monkeypatch.setattr(extraction, "extract", flaky)
    with pytest.raises(extraction.ExtractionFailed, match="uc1"):
        extraction.extract_all(deps=deps)
    assert len(deps.store.lineages) == 1  # uc2 ran


def test_a_removal_made_during_the_daily_run_is_honoured_by_the_use_cases_after_it(monkeypatch) -> None:
    """The run reads every participant's removals once, then extracts use case after use case: a
    removal made in between is not in that read, so what it names must be undone after the write."""
    deps = seeded()
    use_case(deps, use_case_id="uc2")
    real = extraction.extract

    def slow_day(use_case_id, *, deps, participants=None, as_of=None):
        if use_case_id == "uc2":  # the admin removes s0 while uc1 is being extracted
            deps.base.clock.advance(minutes=5)
            program.request_removal(Principal(agency_id="a1", role=Role.AGENCY_ADMIN, key_id="adm"), ["s0"], None,
                                    deps=deps.base)
            deps.base.clock.advance(minutes=5)
        return real(use_case_id, deps=deps, participants=participants, as_of=as_of)
    monkeypatch.setattr(extraction, "extract", slow_day)
    extraction.extract_all(deps=deps)
    held = {(lin.use_case_id, s) for lin in deps.store.lineages.values() for s in lin.sources}
    assert ("uc2", "a1/s0") not in held
