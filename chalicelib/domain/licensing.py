"""Licences and the emergency Citizen program: which Citizen features an agency may use on a given
day, on what terms, and in which access mode.

`entitlements(lic, settings, today)` is the single source of truth: the API, the access check, the
daily scheduler and the replay all ask it. Pure: no I/O and no clock (`today` is a parameter: the
calendar day where the agency is, see time_zones.py). The notices (end warnings) and the checks of
operator changes live in `program.py`; the repository's interface in `ports.py`."""
from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .models import AccessMode

GIB = 1024**3
OFFICERS = "citizen_officers"
COMMUNITIES = "citizen_communities"
FEATURES = (OFFICERS, COMMUNITIES)
EVIDENCE_CAPTURE = "evidence_capture"  # officers' own evidence: part of an evidence licence, never of the program
CONTRACT = "contract"
GLOBAL_END = "global"  # index key of agencies that follow the global end date
MAX_ENDING_RANGE_DAYS = 64  # ending_between() answers at most this many days (one query per day)


class LicenseKind(str, Enum):
    EVIDENCE_BASIC = "evidence_basic"
    EVIDENCE_PRO = "evidence_pro"
    EVIDENCE_LITE = "evidence_lite"
    OSP7_PLUS = "osp7_plus"
    NONE = "none"  # a first-time agency: no licence of its own

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    LicenseKind.EVIDENCE_BASIC: "Evidence Basic", LicenseKind.EVIDENCE_PRO: "Evidence Pro",
    LicenseKind.EVIDENCE_LITE: "Evidence Lite", LicenseKind.OSP7_PLUS: "OSP 7+",
    LicenseKind.NONE: "a first-time agency",
}
FEATURE_LABELS = {OFFICERS: "Citizen for Officers", COMMUNITIES: "Citizen for Communities"}
BASIC_OR_PRO = frozenset({LicenseKind.EVIDENCE_BASIC, LicenseKind.EVIDENCE_PRO})
# The restricted program accounts: their Citizen evidence comes through the program, under a
# storage quota, and they go to limited mode when it ends.
PROGRAM_ACCOUNTS = frozenset({LicenseKind.NONE, LicenseKind.EVIDENCE_LITE})
# The licences whose evidence lives here in full, so officers may add their own captures to it.
# Lite's own evidence is kept elsewhere (here it has only what came through the program), and a
# first-time agency has Citizen features only.
CAPTURE_LICENCES = frozenset({LicenseKind.EVIDENCE_BASIC, LicenseKind.EVIDENCE_PRO, LicenseKind.OSP7_PLUS})


def _launch_countries() -> dict[str, date]:
    return {"US": date(2020, 3, 26), "CA": date(2020, 3, 26)}


def _program_quotas() -> dict[LicenseKind, int]:
    return {LicenseKind.NONE: 10 * GIB, LicenseKind.EVIDENCE_LITE: 10 * GIB}


class ProgramSettings(BaseModel):
    """The program's operator-configurable dates and limits. `version` guards concurrent saves."""

    model_config = ConfigDict(extra="ignore", defer_build=True)  # built on first use

    start: date = date(2020, 3, 26)
    end: date = date(2020, 12, 31)  # the last day of free access, unless an agency has its own
    communities_from: date = date(2020, 3, 30)  # Citizen for Communities for Basic and Pro
    country_from: dict[str, date] = Field(default_factory=_launch_countries)
    other_countries_from: date = date(2020, 4, 2)
    # What a restricted program account may store, per licence kind (PROGRAM_ACCOUNTS only).
    program_quota_bytes: dict[LicenseKind, int] = Field(default_factory=_program_quotas)
    version: int = 0

    @model_validator(mode="before")
    @classmethod
    def _one_quota_for_all(cls, data: Any) -> Any:
        """Settings saved before quotas were per kind had one first-time quota: it applied to both."""
        if isinstance(data, dict) and "first_time_quota_bytes" in data and "program_quota_bytes" not in data:
            old = int(data["first_time_quota_bytes"])
            return {**data, "program_quota_bytes": {kind.value: old for kind in PROGRAM_ACCOUNTS}}
        return data

    def available_from(self, country: str) -> date:
        """The first day the program is open in this country (never before the program starts)."""
        return max(self.start, self.country_from.get(country.upper(), self.other_countries_from))


class AgencyLicense(BaseModel):
    """What an agency holds: its licence, the paid add-on, its enrolment, and the scheduler's notes."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    agency_id: str
    kind: LicenseKind = LicenseKind.NONE
    citizen_addon: bool = False
    country: str = Field(pattern=r"^[A-Z]{2}$")
    enrolled_at: datetime | None = None  # when an operator approved the agency's request
    program_end_override: date | None = None  # replaces the global end date for this agency
    quota_bytes: int | None = None  # replaces its kind's program quota for this agency
    warnings_sent: list[int] = Field(default_factory=list)  # days-before already warned, for notices_for
    ended: bool = False  # the end switch has been applied, for notices_for
    notices_for: date | None = None  # the end date warnings_sent and ended refer to
    version: int = 0


class Entitlements(BaseModel):
    model_config = ConfigDict(defer_build=True)

    agency_id: str
    on: date
    kind: LicenseKind
    citizen_addon: bool
    enrolled: bool
    citizen_officers: bool
    citizen_communities: bool
    access_mode: AccessMode
    citizen_only: bool  # the first-time program account: Citizen evidence only
    evidence_capture: bool = False  # officers may upload their own evidence (CAPTURE_LICENCES)
    storage_quota_bytes: int | None  # what a restricted program account may store; None: no quota
    program_end: date | None
    free_until: date | None
    billing: dict[str, str]  # held feature -> "contract" or "program (free until <date>)"
    reasons: dict[str, str]  # missing feature -> why, in one sentence
    time_zone: str | None = None  # where `on` is the calendar day (set by the service that asks)


class LicenseView(Entitlements):
    """`GET /agency/license`: the agency's entitlements today and the program's days left (null:
    no program end ahead)."""

    model_config = ConfigDict(from_attributes=True)
    agency_id: str = Field(exclude=True)
    days_left: int | None

    @classmethod
    def of(cls, ent: Entitlements) -> LicenseView:
        left = (ent.program_end - ent.on).days if ent.program_end and ent.program_end >= ent.on else None
        return cls.model_validate(ent.model_dump() | {"days_left": left})


def capture_refusal(kind: LicenseKind) -> str:
    """Why an agency of this kind may not capture evidence of its own, in one sentence."""
    holder = ("a first-time agency's account has Citizen features only" if kind is LicenseKind.NONE
              else f"{kind.label} does not include it")
    return (f"Evidence capture by officers is part of an evidence licence (Evidence Basic, Evidence Pro or "
            f"OSP 7+), not of the emergency program; {holder}")


def paid_features(lic: AgencyLicense) -> frozenset[str]:
    """What the agency's own contract gives it, whatever the program does. Evidence Basic's
    Citizen for Officers is not among them: it is free, and ends with the program (see
    `_included_until_end`)."""
    if lic.citizen_addon or lic.kind is LicenseKind.OSP7_PLUS:
        return frozenset(FEATURES)
    if lic.kind is LicenseKind.EVIDENCE_PRO:
        return frozenset({OFFICERS})
    return frozenset()


def _included_until_end(lic: AgencyLicense, feature: str) -> bool:
    """Basic already had Citizen for Officers when the program began: no opening date to wait for,
    but it is free access like the rest of the program and stops at the agency's program end."""
    return lic.kind is LicenseKind.EVIDENCE_BASIC and feature == OFFICERS


def in_program(lic: AgencyLicense) -> bool:
    """Whether the program can grant this agency anything: Basic and Pro by right, Lite and
    first-time agencies once enrolled; never an agency whose contract already has both features."""
    if len(paid_features(lic)) == len(FEATURES):
        return False
    return lic.kind in BASIC_OR_PRO or lic.enrolled_at is not None


def program_end(lic: AgencyLicense, settings: ProgramSettings) -> date | None:
    """The last day of program access for this agency; None when the program does not concern it."""
    if not in_program(lic):
        return None
    return lic.program_end_override or settings.end


def end_index_key(lic: AgencyLicense) -> str | None:
    """Where the end-date index files the agency: its own end date, GLOBAL_END, or nowhere.
    Agencies that follow the global date share one key, so a global extension rewrites nothing."""
    if not in_program(lic):
        return None
    return lic.program_end_override.isoformat() if lic.program_end_override else GLOBAL_END


def _opening_conditions(lic: AgencyLicense, settings: ProgramSettings) -> list[tuple[date, str]]:
    """The dates the program grant waits for, each with the sentence that explains the wait."""
    available = settings.available_from(lic.country)
    conditions = [(settings.start, f"the emergency program starts on {settings.start}")]
    if lic.kind in BASIC_OR_PRO:
        conditions.append((settings.communities_from, f"Citizen for Communities is available to "
                                                      f"{lic.kind.label} from {settings.communities_from}"))
    elif lic.enrolled_at is not None:
        approved = lic.enrolled_at.date()
        conditions.append((approved, f"the agency's enrollment in the emergency program starts on {approved}"))
    conditions.append((available, f"the program is not yet available in {lic.country} (from {available})"))
    return conditions


def _not_enrolled(lic: AgencyLicense, feature: str) -> str:
    holder = "a first-time agency's account" if lic.kind is LicenseKind.NONE else f"{lic.kind.label}"
    return (f"{FEATURE_LABELS[feature]} is not part of {holder}, and the agency is not enrolled "
            f"in the emergency program")


def _program_grant(lic: AgencyLicense, settings: ProgramSettings, today: date, feature: str) -> tuple[bool, str]:
    """(granted by the program today, the billing note or the reason it is not)."""
    end = program_end(lic, settings)
    if end is None:
        return False, _not_enrolled(lic, feature)
    if today > end:
        return False, f"the emergency program ended on {end}"
    if not _included_until_end(lic, feature):
        opens_on, waiting_for = max(_opening_conditions(lic, settings), key=lambda condition: condition[0])
        if today < opens_on:
            return False, waiting_for
    return True, f"program (free until {end})"


def storage_quota(lic: AgencyLicense, settings: ProgramSettings) -> int | None:
    """What a restricted program account may store (its own quota, or its kind's); None for an
    agency with a licence of its own, the add-on, or a Lite agency that never joined."""
    if lic.citizen_addon or lic.kind not in PROGRAM_ACCOUNTS:
        return None
    if lic.kind is LicenseKind.EVIDENCE_LITE and lic.enrolled_at is None:
        return None  # Lite's own licence has no quota here; only what comes through the program
    configured = settings.program_quota_bytes.get(lic.kind)
    return lic.quota_bytes or configured


def entitlements(lic: AgencyLicense, settings: ProgramSettings, today: date) -> Entitlements:
    paid = paid_features(lic)
    billing: dict[str, str] = {}
    reasons: dict[str, str] = {}
    for feature in FEATURES:
        if feature in paid:
            billing[feature] = CONTRACT
            continue
        granted, note = _program_grant(lic, settings, today, feature)
        (billing if granted else reasons)[feature] = note
    end = program_end(lic, settings)
    limited = (lic.kind in PROGRAM_ACCOUNTS and lic.enrolled_at is not None and end is not None
               and today > end and not billing)
    citizen_only = lic.kind is LicenseKind.NONE and not lic.citizen_addon
    return Entitlements(
        agency_id=lic.agency_id, on=today, kind=lic.kind, citizen_addon=lic.citizen_addon,
        enrolled=lic.enrolled_at is not None, citizen_officers=OFFICERS in billing,
        citizen_communities=COMMUNITIES in billing, access_mode=AccessMode.LIMITED if limited else AccessMode.FULL,
        citizen_only=citizen_only, evidence_capture=lic.kind in CAPTURE_LICENCES,
        storage_quota_bytes=storage_quota(lic, settings),
        program_end=end, free_until=end if any(v != CONTRACT for v in billing.values()) else None,
        billing=billing, reasons=reasons,
    )

