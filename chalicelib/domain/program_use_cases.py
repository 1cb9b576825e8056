"""Use cases of the improvement program (its transparency registry). Every edit is a new version;
a version goes draft -> announced -> active -> retired. A version applies no earlier than the notice
period after its announcement, and only once activated; a material edit waits for its own notice
while the version before it keeps applying. Pure: time comes in as `now`."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from enum import Enum

from pydantic import Field

from .errors import Conflict
from .models import Record
from .program import ProgramRules, Tier

MATERIAL_FIELDS = ("data_types", "purpose", "technique", "tier", "retention")


class UseCaseState(str, Enum):
    DRAFT = "draft"
    ANNOUNCED = "announced"
    ACTIVE = "active"
    RETIRED = "retired"


class UseCaseContent(Record):
    """What a use case declares; the fields in MATERIAL_FIELDS need a new notice when they change."""

    title: str
    purpose: str
    data_types: list[str] = Field(default_factory=list)
    technique: str
    retention: str
    practices: str = ""
    tier: Tier = Tier.TIER_1


class UseCaseVersion(UseCaseContent):
    use_case_id: str
    version: int
    state: UseCaseState = UseCaseState.DRAFT
    created_at: datetime
    created_by: str
    announced_at: datetime | None = None
    effective_on: date | None = None
    activated_at: datetime | None = None
    retired_at: datetime | None = None


def is_material(before: UseCaseContent, after: UseCaseContent) -> bool:
    return any(getattr(before, f) != getattr(after, f) for f in MATERIAL_FIELDS)


def edit(versions: list[UseCaseVersion], content: UseCaseContent, *, now: datetime, by: str) -> UseCaseVersion:
    """The next version. A material edit starts as a draft (announce it again); any other edit keeps
    the latest version's state and dates, so it applies when that version does."""
    latest = versions[-1]
    if latest.state is UseCaseState.RETIRED:
        raise Conflict("A retired use case cannot be edited.", code="use_case_retired")
    fields = {name: getattr(content, name) for name in UseCaseContent.model_fields}
    if is_material(latest, content) or latest.state is UseCaseState.DRAFT:
        return UseCaseVersion(**fields, use_case_id=latest.use_case_id, version=latest.version + 1,
                              created_at=now, created_by=by)
    return latest.model_copy(update={**fields, "version": latest.version + 1, "created_at": now, "created_by": by})


def announce(version: UseCaseVersion, settings: ProgramRules, *, now: datetime) -> UseCaseVersion:
    if version.state is not UseCaseState.DRAFT:
        raise Conflict(f"Only a draft can be announced (this version is {version.state.value}).",
                       code="not_a_draft")
    return version.model_copy(update={"state": UseCaseState.ANNOUNCED, "announced_at": now,
                                      "effective_on": now.date() + timedelta(days=settings.notice_days)})


def activate(version: UseCaseVersion, *, now: datetime) -> UseCaseVersion:
    if version.state is not UseCaseState.ANNOUNCED or version.effective_on is None:
        raise Conflict(f"Only an announced version can be activated (this one is {version.state.value}).",
                       code="not_announced")
    if now.date() < version.effective_on:
        raise Conflict(f"This version cannot apply before {version.effective_on.isoformat()}.",
                       code="notice_period_running", details={"effective_on": version.effective_on.isoformat()})
    return version.model_copy(update={"state": UseCaseState.ACTIVE, "activated_at": now})


def retire(versions: list[UseCaseVersion], *, now: datetime) -> list[UseCaseVersion]:
    """Every version not yet retired, retired now: nothing of the use case applies any more."""
    open_ = [v for v in versions if v.state is not UseCaseState.RETIRED]
    if not open_:
        raise Conflict("The use case is already retired.", code="use_case_retired")
    return [v.model_copy(update={"state": UseCaseState.RETIRED, "retired_at": now}) for v in open_]


def by_use_case(versions: Iterable[UseCaseVersion]) -> dict[str, list[UseCaseVersion]]:
    """Versions grouped by their use case, each group in the order read."""
    grouped: dict[str, list[UseCaseVersion]] = {}
    for version in versions:
        grouped.setdefault(version.use_case_id, []).append(version)
    return grouped


def applying(versions: list[UseCaseVersion]) -> UseCaseVersion | None:
    """The version in force: the newest active one (an older active version is superseded by it)."""
    active = [v for v in versions if v.state is UseCaseState.ACTIVE]
    return max(active, key=lambda v: v.version) if active else None


def upcoming(versions: list[UseCaseVersion]) -> UseCaseVersion | None:
    """The newest announced version beyond the one in force: what will apply from its effective date."""
    now_applying = applying(versions)
    floor = now_applying.version if now_applying else 0
    pending = [v for v in versions if v.state is UseCaseState.ANNOUNCED and v.version > floor]
    return max(pending, key=lambda v: v.version) if pending else None


def public_versions(versions: list[UseCaseVersion]) -> list[UseCaseVersion]:
    """What agencies and the public see: every version ever announced (drafts are the operator's)."""
    return [v for v in versions if v.announced_at is not None]
