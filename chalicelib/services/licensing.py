"""Licences and the emergency program: the daily scheduler (end warnings and the end switch), the
operator's changes, and what an agency is entitled to today.

"Today" is the calendar day where the agency is (its time zone, domain/time_zones.py): the program
ends at the end of its last day there, and warnings count days there. The scheduler finds agencies
through the end-date index (`ending_between`), never a scan. For each warning or end switch it
first saves the licence (a conditional write: of two concurrent runs only one wins), then notifies
and audits; so a warning already recorded is never sent again."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict

from ..domain import free_access, time_zones
from ..domain.errors import Conflict, DeliveryFailed, DomainError, InvalidInput, NotFound
from ..domain.licensing import (
    PROGRAM_ACCOUNTS,
    AgencyLicense,
    Entitlements,
    LicenseKind,
    ProgramSettings,
    entitlements,
    program_end,
)
from ..domain.models import Agency, AuditEvent
from . import custody
from .deps import LicensingDeps

LOOK_BACK_DAYS = 31  # an end switch missed for longer than this is not caught up
LOOK_AHEAD_DAYS = 30  # the earliest warning
ZONE_SLACK_DAYS = 1  # an agency's day may be a day before or after the UTC day
SYSTEM = "system:licensing"
OPERATOR = "operator"


class QuotaSet(BaseModel):
    """`PUT /operator/quota`: the quota set, for one agency (with what it stores) or a kind of account."""

    model_config = ConfigDict(defer_build=True)
    quota_bytes: int
    agency_id: str | None
    kind: str
    used_bytes: int | None


class TimeZoneSet(BaseModel):
    model_config = ConfigDict(defer_build=True)
    agency_id: str
    time_zone: str | None  # null: its country's
    effective: str  # the zone its program days follow


class ProgramExtended(BaseModel):
    model_config = ConfigDict(defer_build=True)
    end: date
    agency_id: str | None  # null: the program's end for everyone
OPERATOR_LOG = "operator"  # audit partition of global changes


# --- the daily scheduler ------------------------------------------------------------------------

def run_daily(*, deps: LicensingDeps, now: datetime | None = None) -> dict[str, Any]:
    """Send the end warnings due today and apply the end switches due today, each agency's today
    in its own time zone. Safe to repeat. `now` defaults to the clock (time travel passes one)."""
    now = now or deps.clock.now()
    settings = deps.licenses.get_settings()
    utc_day = now.astimezone(timezone.utc).date()
    report: dict[str, Any] = {"checked": 0, "warned": [], "ended": [], "conflicts": 0}
    window = (utc_day - timedelta(days=LOOK_BACK_DAYS + ZONE_SLACK_DAYS),
              utc_day + timedelta(days=LOOK_AHEAD_DAYS + ZONE_SLACK_DAYS))
    for agency_id in list(deps.licenses.ending_between(*window)):
        lic = deps.licenses.get(agency_id)
        if lic is None:
            continue
        report["checked"] += 1
        today = time_zones.local_day(now, time_zone(deps.agencies.get_agency(agency_id), lic))
        try:
            _run_one(free_access.current_notices(lic, settings), settings, today, now, deps, report)
        except Conflict:  # changed meanwhile (an operator, another run): the next run sees it
            report["conflicts"] += 1
    return report


def _run_one(lic: AgencyLicense, settings: ProgramSettings, today: date, at: datetime, deps: LicensingDeps,
             report: dict[str, Any]) -> None:
    if free_access.end_due(lic, settings, today):
        _apply_end(lic, settings, today, at, deps, report)
    elif due := free_access.warnings_due(lic, settings, today):
        _warn(lic, settings, today, due, at, deps, report)


def _warn(lic: AgencyLicense, settings: ProgramSettings, today: date, due: list[int], at: datetime,
          deps: LicensingDeps, report: dict[str, Any]) -> None:
    days = min(due)  # a missed day sends the closest warning only; the ones it replaces are marked
    sent = sorted({*lic.warnings_sent, *due}, reverse=True)
    warned = lic.model_copy(update={"warnings_sent": sent})
    end = warned.notices_for
    assert end is not None
    # Claimed first, with its audit event, on the version read: a concurrent change (an extension)
    # wins and nothing is sent from stale dates. Then sent, and the delivery recorded.
    saved = deps.licenses.save(warned, event=_event(
        deps, warned.agency_id, SYSTEM, "free_access.end_warning", f"agency:{warned.agency_id}",
        details={"days_before": days, "end": end.isoformat(), "local_day": today.isoformat(),
                 "skipped": [d for d in due if d != days]}))
    _deliver(saved.agency_id, *free_access.warning_message(saved, settings, today), deps=deps)
    report["warned"].append({"agency_id": saved.agency_id, "days_before": days, "end": end})


def _apply_end(lic: AgencyLicense, settings: ProgramSettings, today: date, at: datetime, deps: LicensingDeps,
               report: dict[str, Any]) -> None:
    ended = lic.model_copy(update={"ended": True})
    end = ended.notices_for
    assert end is not None
    ent = entitlements(ended, settings, today)
    saved = deps.licenses.save(ended, event=_event(  # claimed, then sent, as for warnings
        deps, ended.agency_id, SYSTEM, "free_access.ended", f"agency:{ended.agency_id}",
        details={"end": end.isoformat(), "local_day": today.isoformat(), "access_mode": ent.access_mode.value,
                 "citizen_officers": ent.citizen_officers, "citizen_communities": ent.citizen_communities}))
    _deliver(saved.agency_id, *free_access.ended_message(ent, end), deps=deps)
    report["ended"].append({"agency_id": saved.agency_id, "end": end, "access_mode": ent.access_mode})


def _deliver(agency_id: str, subject: str, text: str, *, deps: LicensingDeps) -> None:
    """Email the agency's contact and record the delivery ("failed" if it has none or SES refuses;
    the run goes on with the next agency). A notice is sent at most once: it was claimed before."""
    details: dict[str, Any] = {"subject": subject}
    try:
        agency = deps.agencies.get_agency(agency_id)
        if agency is None or not agency.contact_email:
            raise DeliveryFailed(f"Agency {agency_id} has no contact email.")
        deps.email.send_email(agency.contact_email, subject, text)
        outcome = "success"
    except DomainError as exc:
        outcome, details = "failed", {**details, "error": exc.message}
    deps.audit.record(_event(deps, agency_id, SYSTEM, "free_access.notice_sent", f"agency:{agency_id}",
                             outcome=outcome, details=details))


# --- what an agency has -------------------------------------------------------------------------

def time_zone(agency: Agency | None, lic: AgencyLicense | None) -> str:
    """The agency's zone: the one an operator set, else its licence's (or its own) country's."""
    if agency is not None and agency.time_zone:
        return agency.time_zone
    country = lic.country if lic else (agency.country if agency else "ZZ")
    return time_zones.default_zone(country)


def current(agency_id: str, *, deps: LicensingDeps, now: datetime | None = None) -> Entitlements:
    """The agency's entitlements on its own calendar day. An agency without a licence record is a
    first-time agency that is not enrolled: no Citizen feature, full access to whatever data it has."""
    return for_agency(deps.agencies.get_agency(agency_id), agency_id, deps=deps, now=now)


def for_agency(agency: Agency | None, agency_id: str, *, deps: LicensingDeps,
               now: datetime | None = None) -> Entitlements:
    """`current` for a caller that has already loaded the agency."""
    stored = deps.licenses.get(agency_id)
    lic = stored or AgencyLicense(agency_id=agency_id, country=agency.country if agency else "ZZ")
    zone = time_zone(agency, stored)
    today = time_zones.local_day(now or deps.clock.now(), zone)
    return entitlements(lic, deps.licenses.get_settings(), today).model_copy(update={"time_zone": zone})


# --- operator changes ---------------------------------------------------------------------------

def require_agency(agency_id: str, deps: LicensingDeps) -> Agency:
    agency = deps.agencies.get_agency(agency_id)
    if agency is None:
        raise NotFound(f"No agency {agency_id[:40]}.", code="agency_not_found")
    return agency


def set_license(agency_id: str, kind: str | LicenseKind, citizen_addon: bool = False, *,
                country: str | None = None, deps: LicensingDeps, actor: str = OPERATOR) -> AgencyLicense:
    """Create or change an agency's licence (kind, add-on, and country if given)."""
    changes: dict[str, Any] = {"kind": free_access.parse_kind(kind), "citizen_addon": citizen_addon}
    if country is not None:
        changes["country"] = free_access.parse_country(country)
    require_agency(agency_id, deps)
    existing = deps.licenses.get(agency_id)
    if existing is None and country is None:
        raise InvalidInput("A new licence needs the agency's country.", code="country_required")
    changed = existing.model_copy(update=changes) if existing else AgencyLicense(agency_id=agency_id, **changes)
    fields = {"kind", "citizen_addon", "country"}
    event = _event(deps, agency_id, actor, "license.changed", f"agency:{agency_id}",
                   details={"before": existing.model_dump(mode="json", include=fields) if existing else None,
                            "after": changed.model_dump(mode="json", include=fields)})
    if existing is None:
        deps.licenses.create(changed, event=event)
        return changed
    return deps.licenses.save(changed, event=event)


def check_can_enroll(agency_id: str, approved_at: datetime, *, deps: LicensingDeps) -> AgencyLicense:
    """The licence, if `enroll(agency_id, approved_at)` would succeed; the error it would raise if not."""
    lic = license_of(agency_id, deps)
    if lic.enrolled_at is not None and lic.enrolled_at != approved_at:
        raise Conflict(f"Agency {agency_id} was already enrolled on {lic.enrolled_at.date()}.",
                       code="already_enrolled")
    free_access.check_enrollment(lic, deps.licenses.get_settings(), approved_at)
    return lic


def enroll(agency_id: str, approved_at: datetime, *, deps: LicensingDeps, actor: str = OPERATOR) -> AgencyLicense:
    """Record the operator's approval of an agency's request to join the program. Repeating the
    same approval changes nothing; a different date for an enrolled agency is refused."""
    lic = check_can_enroll(agency_id, approved_at, deps=deps)
    if lic.enrolled_at == approved_at:
        return lic
    return deps.licenses.save(lic.model_copy(update={"enrolled_at": approved_at}), event=_event(
        deps, agency_id, actor, "free_access.enrolled", f"agency:{agency_id}",
        details={"approved_at": approved_at.isoformat()}))


def extend_program(new_end: date, agency_id: str | None = None, *, deps: LicensingDeps,
                   actor: str = OPERATOR) -> date:
    """Move the program's end date for everyone (agency_id None) or for one agency, whose own date
    then replaces the global one. Returns the new end date. Warnings start over for the new date."""
    now, settings = deps.clock.now(), deps.licenses.get_settings()
    if agency_id is None:
        free_access.check_extension(new_end, settings.end, now.astimezone(timezone.utc).date())
        deps.licenses.save_settings(settings.model_copy(update={"end": new_end}), event=_event(
            deps, OPERATOR_LOG, actor, "free_access.extended", "program",
            details={"from": settings.end.isoformat(), "to": new_end.isoformat()}))
        return new_end
    agency = require_agency(agency_id, deps)
    lic = license_of(agency_id, deps)
    current_end = program_end(lic, settings)
    if current_end is None:
        raise InvalidInput(f"The emergency program does not apply to agency {agency_id}.", code="not_in_program")
    free_access.check_extension(new_end, current_end, time_zones.local_day(now, time_zone(agency, lic)))
    deps.licenses.save(lic.model_copy(update={"program_end_override": new_end, "warnings_sent": [],
                                              "ended": False, "notices_for": new_end}),
                       event=_event(deps, agency_id, actor, "free_access.extended", f"agency:{agency_id}",
                                    details={"from": current_end.isoformat(), "to": new_end.isoformat()}))
    return new_end


def set_quota(quota_bytes: int, *, agency_id: str | None = None, kind: str | LicenseKind = LicenseKind.NONE,
              deps: LicensingDeps, actor: str = OPERATOR) -> dict[str, Any]:
    """Set the program storage quota of a restricted account kind (first-time or Lite) for
    everyone, or of one such agency: never below what that agency already stores."""
    if agency_id is None:
        return _set_kind_quota(quota_bytes, free_access.parse_quota_kind(kind), deps, actor)
    used = require_agency(agency_id, deps).used_bytes
    free_access.check_quota(quota_bytes, used)
    lic = license_of(agency_id, deps)
    if lic.kind not in PROGRAM_ACCOUNTS or lic.citizen_addon:
        raise InvalidInput("Only a first-time or Lite agency's program account has a storage quota.",
                           code="quota_not_applicable")
    deps.licenses.save(lic.model_copy(update={"quota_bytes": quota_bytes}), event=_event(
        deps, agency_id, actor, "free_access.quota_changed", f"agency:{agency_id}",
        details={"from": lic.quota_bytes, "to": quota_bytes, "used": used}))
    return QuotaSet(quota_bytes=quota_bytes, agency_id=agency_id, kind=lic.kind.value, used_bytes=used).model_dump()


def _set_kind_quota(quota_bytes: int, kind: LicenseKind, deps: LicensingDeps, actor: str) -> dict[str, Any]:
    free_access.check_quota(quota_bytes, 0)
    settings = deps.licenses.get_settings()
    quotas = {**settings.program_quota_bytes, kind: quota_bytes}
    deps.licenses.save_settings(settings.model_copy(update={"program_quota_bytes": quotas}), event=_event(
        deps, OPERATOR_LOG, actor, "free_access.quota_changed", "program",
        details={"kind": kind.value, "from": settings.program_quota_bytes.get(kind), "to": quota_bytes}))
    return QuotaSet(quota_bytes=quota_bytes, agency_id=None, kind=kind.value, used_bytes=None).model_dump()


def set_country_date(country: str, available_from: date, *, deps: LicensingDeps,
                     actor: str = OPERATOR) -> ProgramSettings:
    """Set the day the program opens in a country ("*": every country not listed)."""
    code = free_access.parse_country(country, allow_others=True)
    settings = deps.licenses.get_settings()
    free_access.check_country_date(settings, code, available_from, deps.clock.now().astimezone(timezone.utc).date())
    if code == free_access.OTHER_COUNTRIES:
        changed = settings.model_copy(update={"other_countries_from": available_from})
    else:
        changed = settings.model_copy(update={"country_from": {**settings.country_from, code: available_from}})
    return deps.licenses.save_settings(changed, event=_event(
        deps, OPERATOR_LOG, actor, "free_access.country_date_set", f"country:{code}",
        details={"available_from": available_from.isoformat()}))


def set_time_zone(agency_id: str, zone: str | None, *, deps: LicensingDeps, actor: str = OPERATOR) -> dict[str, Any]:
    """Set the agency's IANA time zone (None: back to its country's). Its program days follow it.
    Returns the zone set and the one in effect."""
    agency = require_agency(agency_id, deps)
    changed = agency.model_copy(update={"time_zone": time_zones.parse_zone(zone) if zone else None})
    result = TimeZoneSet(agency_id=agency_id, time_zone=changed.time_zone,
                         effective=time_zone(changed, deps.licenses.get(agency_id))).model_dump()
    deps.agencies.save_agency(changed, event=_event(
        deps, agency_id, actor, "agency.time_zone_set", f"agency:{agency_id}",
        details={"from": agency.time_zone, "to": changed.time_zone, "effective": result["effective"]}))
    return result


def license_of(agency_id: str, deps: LicensingDeps) -> AgencyLicense:
    lic = deps.licenses.get(agency_id)
    if lic is None:
        raise NotFound(f"Agency {agency_id[:40]} has no licence on record.", code="license_not_found")
    return lic


def _event(deps: LicensingDeps, partition: str, actor: str, action: str, target: str, *,
           details: dict[str, Any], outcome: str = "success") -> AuditEvent:
    """The audit event a licensing change commits with itself (see services/custody.py)."""
    return custody.event(partition, deps=deps, actor=actor, action=action, target=target, outcome=outcome,
                         details=details)
