"""Builders shared by the improvement program's part-2 tests: submissions of every origin, a
participation and an active use-case version, without going through the services."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from chalicelib.domain.models import EvidenceFile, FileStatus, Origin, Submission, SubmissionStatus
from chalicelib.domain.program import Participation, ParticipationState, Tier
from chalicelib.domain.program_use_cases import UseCaseState, UseCaseVersion

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
