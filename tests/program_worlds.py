"""Builders shared by the improvement program's part-2 tests: submissions of every origin, a
participation and an active use-case version, without going through the services."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from chalicelib.adapters.memory_program import MemoryProgram
from chalicelib.adapters.memory_program_store import LocalSigner, MemoryProgramMedia, MemoryProgramStore
from chalicelib.domain.models import Agency, EvidenceFile, FileStatus, Origin, Submission, SubmissionStatus
from chalicelib.domain.program import Acceptance, Contract, Participation, ParticipationState, Tier
from chalicelib.domain.program_use_cases import UseCaseState, UseCaseVersion
from chalicelib.services import custody
from chalicelib.services.program_extraction import ProgramDeps

T0 = datetime(2021, 6, 7, 9, 0, tzinfo=timezone.utc)  # a Monday


def item(agency_id: str, n: int, *, origin: Origin = Origin.AGENCY_CAPTURE, at: datetime = T0, size: int = 2_000,
         case_ref: str = "CASE-1", submitted: bool = True, retain_until: datetime | None = None,
         content_type: str = "image/jpeg") -> Submission:
    file = EvidenceFile(file_id=f"f{n}", name=f"IMG_{n}.jpg", size=size, content_type=content_type,
                        caption=f"caption {n} at 12 Main St", key=f"{agency_id}/s{n}/f{n}",
                        status=FileStatus.VERIFIED, declared_at=at, sha256=f"{n:064x}", version_id="v1",
                        detected_type=content_type)
    return Submission(submission_id=f"s{n}", agency_id=agency_id, origin=origin, link_id=f"l{n}", case_ref=case_ref,
                      status=SubmissionStatus.SUBMITTED if submitted else SubmissionStatus.OPEN, created_at=at,
                      submitted_at=at if submitted else None, files={file.file_id: file}, retain_until=retain_until)


def taking_part(agency_id: str, tier: Tier = Tier.TIER_2, *, since: date = date(2021, 4, 1),
                state: ParticipationState = ParticipationState.ACTIVE) -> Participation:
    return Participation(agency_id=agency_id, tier=tier, state=state, since=since, basis="contract:c1")


def active_use_case(technique: str = "aggregate_counts", *, tier: Tier = Tier.TIER_1,
                    effective_on: date = date(2021, 5, 1), use_case_id: str = "uc1") -> UseCaseVersion:
    announced = datetime.combine(effective_on - timedelta(days=30), datetime.min.time(), tzinfo=timezone.utc)
    return UseCaseVersion(use_case_id=use_case_id, version=1, title="Detect blur", purpose="quality",
                          data_types=["image"], technique=technique, retention="1 year", tier=tier,
                          state=UseCaseState.ACTIVE, created_at=announced, created_by="op", announced_at=announced,
                          effective_on=effective_on, activated_at=announced + timedelta(days=30))


# --- a whole program world in memory ---------------------------------------------------------------

def world(at: datetime = T0) -> ProgramDeps:
    from tests.fakes import FixedClock, make_deps

    base = make_deps(FixedClock(at))
    assert isinstance(base.program, MemoryProgram)
    return ProgramDeps(base=base, store=MemoryProgramStore(base.program), media=MemoryProgramMedia(),
                       signer=signer())


_SIGNER: list[LocalSigner] = []


def signer() -> LocalSigner:
    """One key for the session: generating one per test is the slow part."""
    if not _SIGNER:
        _SIGNER.append(LocalSigner())
    return _SIGNER[0]


def join(deps: ProgramDeps, agency_id: str, *, executed: date = date(2021, 4, 1), tier_2: bool = False) -> None:
    """An agency taking part from `executed` (a US contract with the terms), at Tier 2 if asked."""
    base = deps.base
    base.agencies.create_agency(Agency(agency_id=agency_id, name=agency_id, created_at=T0 - timedelta(days=900)))
    event = custody.event(agency_id, deps=base, actor="op", action="program.contract_recorded", target="c")
    base.program.add_contract(Contract(contract_id=f"c-{agency_id}", agency_id=agency_id, country="US",
                                       executed_on=executed, includes_program_terms=True,
                                       recorded_at=base.clock.now(), recorded_by="op"), event=event)
    if tier_2:
        event = custody.event(agency_id, deps=base, actor="op", action="program.tier2_accepted", target="t")
        base.program.add_acceptance(Acceptance(acceptance_id=f"acc-{agency_id}", agency_id=agency_id,
                                               tier=Tier.TIER_2, terms_version="t2", terms_sha256="0" * 64,
                                               accepted_by="key:admin", accepted_at=base.clock.now()), event=event)


def use_case(deps: ProgramDeps, technique: str = "aggregate_counts", *, tier: Tier = Tier.TIER_1,
             use_case_id: str = "uc1", effective_on: date = date(2021, 5, 1)) -> None:
    version = active_use_case(technique, tier=tier, effective_on=effective_on, use_case_id=use_case_id)
    event = custody.event("operator", deps=deps.base, actor="op", action="program.use_case_created", target="u")
    deps.base.program.add_use_case_version(version, event=event)


def store_item(deps: ProgramDeps, submission: Submission, data: bytes = b"") -> Submission:
    """A submission as the agency holds it, with its file's bytes in the evidence bucket."""
    blobs = deps.base.blobs
    for file in submission.files.values():
        file.version_id = blobs.put(file.key, data or JPEG_WITH_GPS, file.content_type)  # type: ignore[attr-defined]
    deps.base.submissions.open_submission(submission)
    return submission


JPEG_WITH_GPS = (b"\xff\xd8" + b"\xff\xe1\x00\x11Exif\x00\x00GPS-12345" + b"\xff\xfe\x00\x08secret"
                 + b"\xff\xdb\x00\x04\x01\x02" + b"\xff\xda\x00\x04\x00\x00" + b"PIXELS\xff\xd9")
