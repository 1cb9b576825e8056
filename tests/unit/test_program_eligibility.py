"""The one filter the program reads content through (domain/program_eligibility.py): examples of
each exclusion, and properties over any mix of items that nothing excluded is ever taken."""
from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain import deidentify
from chalicelib.domain import program_eligibility as elig
from chalicelib.domain.models import Origin
from chalicelib.domain.program import ParticipationState, RemovalRequest, Tier
from chalicelib.domain.program_use_cases import UseCaseState
from tests.program_worlds import T0, active_use_case, item, taking_part

NOW = T0 + timedelta(days=14)


def scope(**changes: object) -> elig.Scope:
    base = {"participation": taking_part("a1"), "version": active_use_case(), "now": NOW}
    return elig.Scope(**(base | changes))  # type: ignore[arg-type]


def test_own_capture_is_taken_and_every_other_origin_is_not() -> None:
    assert elig.exclusion(item("a1", 1), scope()) is None
    for origin in (Origin.CITIZEN_LINK, Origin.COMMUNITY_PORTAL, Origin.SHARED):
        assert elig.exclusion(item("a1", 1, origin=origin), scope()) is elig.Exclusion.NOT_OWN_CAPTURE
    assert elig.exclusion(item("a2", 1), scope()) is elig.Exclusion.NOT_OWN_CAPTURE


def test_each_exclusion_of_the_agency_or_the_use_case() -> None:
    own = item("a1", 1)
    assert elig.exclusion(own, scope(version=None)) is elig.Exclusion.NO_USE_CASE
    retired = active_use_case().model_copy(update={"state": UseCaseState.RETIRED, "retired_at": NOW})
    assert elig.exclusion(own, scope(version=retired)) is elig.Exclusion.NO_USE_CASE
    later = active_use_case(effective_on=NOW.date() + timedelta(days=1))
    assert elig.exclusion(own, scope(version=later)) is elig.Exclusion.NOT_YET_EFFECTIVE
    assert elig.exclusion(own, scope(version=active_use_case(effective_on=NOW.date()))) is None
    leaving = taking_part("a1", state=ParticipationState.WITHDRAWING)
    assert elig.exclusion(own, scope(participation=leaving)) is elig.Exclusion.WITHDRAWAL_OPEN
    gone = taking_part("a1", Tier.NONE, state=ParticipationState.NOT_PARTICIPATING)
    assert elig.exclusion(own, scope(participation=gone)) is elig.Exclusion.NOT_PARTICIPANT
    tier_2_case = active_use_case("stripped_media_copy", tier=Tier.TIER_2)
    assert elig.exclusion(own, scope(participation=taking_part("a1", Tier.TIER_1),
                                     version=tier_2_case)) is elig.Exclusion.TIER_EXCEEDED


def test_each_exclusion_of_an_item() -> None:
    assert elig.exclusion(item("a1", 1, submitted=False), scope()) is elig.Exclusion.NOT_SUBMITTED
    assert elig.exclusion(item("a1", 1, at=T0 - timedelta(days=400)), scope()) is elig.Exclusion.BEFORE_PARTICIPATION
    due = item("a1", 1, retain_until=NOW)
    assert elig.exclusion(due, scope()) is elig.Exclusion.RETENTION_DELETED
    assert elig.exclusion(item("a1", 1), scope(deleted=frozenset({"s1"}))) is elig.Exclusion.RETENTION_DELETED
    by_id = removal(["s1"])
    by_case = removal([], "CASE-1")
    assert elig.exclusion(item("a1", 1), scope(removals=(by_id,))) is elig.Exclusion.REMOVAL_REQUESTED
    assert elig.exclusion(item("a1", 2), scope(removals=(by_case,))) is elig.Exclusion.REMOVAL_REQUESTED
    assert elig.exclusion(item("a1", 2, case_ref="CASE-2"), scope(removals=(by_id, by_case))) is None


def removal(ids: list[str], case_ref: str | None = None) -> RemovalRequest:
    return RemovalRequest(request_id="r1", agency_id="a1", submission_ids=ids, case_ref=case_ref,
                          requested_at=T0, requested_by="key:x", due_on=date(2021, 7, 7))


def test_only_verified_files_are_passed_on() -> None:
    own = item("a1", 1)
    pending = own.files["f1"].model_copy(update={"file_id": "f2", "sha256": None})
    taken = elig.eligible([own.model_copy(update={"files": {**own.files, "f2": pending}})], scope())
    assert list(taken[0].files) == ["f1"]


# --- properties -----------------------------------------------------------------------------------

ORIGINS = st.sampled_from(list(Origin))
ITEM = st.tuples(st.sampled_from(["a1", "a2"]), ORIGINS, st.booleans(), st.booleans(), st.booleans(),
                 st.integers(min_value=-30, max_value=13), st.sampled_from(["CASE-1", "CASE-2"]))


@st.composite
def worlds(draw: st.DrawFn) -> tuple[list, elig.Scope]:
    specs = draw(st.lists(ITEM, max_size=40))
    items = [item(agency, n, origin=origin, submitted=submitted, at=T0 + timedelta(days=day), case_ref=case,
                  retain_until=NOW - timedelta(hours=1) if due else None)
             for n, (agency, origin, submitted, due, _, day, case) in enumerate(specs)]
    removed = [s.submission_id for s, spec in zip(items, specs, strict=True) if spec[4]]
    tier = draw(st.sampled_from([Tier.TIER_1, Tier.TIER_2]))
    state = draw(st.sampled_from(list(ParticipationState)))
    use_case = active_use_case(effective_on=NOW.date() + timedelta(days=draw(st.integers(-20, 3))),
                               tier=draw(st.sampled_from([Tier.TIER_1, Tier.TIER_2])))
    case_removal = draw(st.sampled_from([None, "CASE-2"]))
    removals = (removal(removed), *((removal([], case_removal),) if case_removal else ()))
    return items, scope(participation=taking_part("a1", tier, state=state), version=use_case, removals=removals)


@settings(max_examples=300, deadline=None)
@given(worlds())
def test_no_excluded_item_is_ever_taken_whatever_the_mix(world: tuple[list, elig.Scope]) -> None:
    items, sc = world
    taken = elig.eligible(items, sc)
    by_id = {(s.agency_id, s.submission_id): s for s in items}
    removed = {i for r in sc.removals for i in r.submission_ids}
    for got in taken:
        source = by_id[(got.agency_id, got.submission_id)]
        assert source.origin is Origin.AGENCY_CAPTURE and source.agency_id == "a1"
        assert source.submission_id not in removed and source.case_ref not in {r.case_ref for r in sc.removals}
        assert source.retain_until is None and source.submitted_at is not None
        assert sc.participation.state is ParticipationState.ACTIVE
        assert sc.version is not None and sc.version.effective_on is not None
        assert sc.version.effective_on <= sc.now.date() and sc.participation.tier.includes(sc.version.tier)
    expected = [s for s in items if elig.exclusion(s, sc) is None]
    assert [s.submission_id for s in taken] == [s.submission_id for s in expected]


@settings(max_examples=200, deadline=None)
@given(worlds(), st.sampled_from([deidentify.Technique.AGGREGATE_COUNTS, deidentify.Technique.DEIDENTIFIED_RECORDS]))
def test_tier_1_output_carries_nothing_of_an_excluded_item(world: tuple[list, elig.Scope],
                                                           technique: deidentify.Technique) -> None:
    """Whatever the mix, the output counts only eligible files, and no caption, name, key or case
    ref of any item (eligible or not) appears in it."""
    items, sc = world
    output = deidentify.tier_1_output(technique, elig.eligible(items, sc), "US", k=5)
    counted = sum(int(r.get("count", 1)) for r in output)
    assert counted <= len(elig.eligible(items, sc))
    text = repr(output)
    for s in items:
        for f in s.files.values():
            assert f.caption not in text and f.name not in text and f.key not in text
        assert s.case_ref not in text and s.submission_id not in text
