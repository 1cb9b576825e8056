"""Licences and the emergency program: the daily scheduler (end warnings and the end switch), the
operator's changes, and what an agency is entitled to today.

The scheduler finds agencies through the end-date index (`ending_between`), never a scan. For each
warning or end switch it first saves the licence (a conditional write: of two concurrent runs only
one wins), then notifies and audits; so a warning already recorded is never sent again."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from ..domain import program
from ..domain.errors import Conflict, DomainError, InvalidInput, NotFound
from ..domain.licensing import (
    AgencyLicense,
    Entitlements,
    LicenseKind,
    LicenseRepository,
    ProgramSettings,
    entitlements,
    program_end,
)
from ..domain.ports import AuditLog, Clock

Notify = Callable[[str, str, str], None]  # (agency id, subject, text)
LOOK_BACK_DAYS = 31  # an end switch missed for longer than this is not caught up
LOOK_AHEAD_DAYS = 30  # the earliest warning
SYSTEM = "system:licensing"
OPERATOR_LOG = "operator"  # audit partition of global changes


# --- the daily scheduler ------------------------------------------------------------------------

def run_daily(today: date, *, licenses: LicenseRepository, audit: AuditLog, notify: Notify,
              clock: Clock | None = None) -> dict[str, Any]:
    """Send the end warnings due today and apply the end switches due today. Safe to repeat."""
    settings = licenses.get_settings()
    at = clock.now() if clock else datetime.combine(today, time(0), tzinfo=timezone.utc)
    report: dict[str, Any] = {"checked": 0, "warned": [], "ended": [], "conflicts": 0}
    window = (today - timedelta(days=LOOK_BACK_DAYS), today + timedelta(days=LOOK_AHEAD_DAYS))
    for agency_id in list(licenses.ending_between(*window)):
        lic = licenses.get(agency_id)
        if lic is None:
            continue
        report["checked"] += 1
        try:
            _run_one(program.current_notices(lic, settings), settings, today, at, licenses, audit, notify, report)
        except Conflict:  # changed meanwhile (an operator, another run): tomorrow's run sees it
            report["conflicts"] += 1
    return report


def _run_one(lic: AgencyLicense, settings: ProgramSettings, today: date, at: datetime,
             licenses: LicenseRepository, audit: AuditLog, notify: Notify, report: dict[str, Any]) -> None:
    if program.end_due(lic, settings, today):
        _apply_end(lic, settings, today, at, licenses, audit, notify, report)
    elif due := program.warnings_due(lic, settings, today):
        _warn(lic, settings, today, due, at, licenses, audit, notify, report)


def _warn(lic: AgencyLicense, settings: ProgramSettings, today: date, due: list[int], at: datetime,
          licenses: LicenseRepository, audit: AuditLog, notify: Notify, report: dict[str, Any]) -> None:
    days = min(due)  # a missed day sends the closest warning only; the ones it replaces are marked
    sent = sorted({*lic.warnings_sent, *due}, reverse=True)
    saved = licenses.save(lic.model_copy(update={"warnings_sent": sent}))
    end = saved.notices_for
    assert end is not None
    outcome = _deliver(notify, saved.agency_id, *program.warning_message(saved, settings, today))
    audit.append(saved.agency_id, at=at, actor=SYSTEM, action="program.end_warning",
                 target=f"agency:{saved.agency_id}", outcome=outcome,
                 details={"days_before": days, "end": end.isoformat(), "skipped": [d for d in due if d != days]})
    report["warned"].append({"agency_id": saved.agency_id, "days_before": days, "end": end})


def _apply_end(lic: AgencyLicense, settings: ProgramSettings, today: date, at: datetime,
               licenses: LicenseRepository, audit: AuditLog, notify: Notify, report: dict[str, Any]) -> None:
    saved = licenses.save(lic.model_copy(update={"ended": True}))
    end = saved.notices_for
    assert end is not None
    ent = entitlements(saved, settings, today)
    outcome = _deliver(notify, saved.agency_id, *program.ended_message(ent, end))
    audit.append(saved.agency_id, at=at, actor=SYSTEM, action="program.ended", target=f"agency:{saved.agency_id}",
                 outcome=outcome, details={"end": end.isoformat(), "access_mode": ent.access_mode.value,
                                           "citizen_officers": ent.citizen_officers,
                                           "citizen_communities": ent.citizen_communities})
    report["ended"].append({"agency_id": saved.agency_id, "end": end, "access_mode": ent.access_mode})


def _deliver(notify: Notify, agency_id: str, subject: str, text: str) -> str:
    try:
        notify(agency_id, subject, text)
    except DomainError:  # recorded as failed in the audit; the run goes on with the next agency
        return "failed"
    return "success"


# --- what an agency has -------------------------------------------------------------------------

def current(agency_id: str, today: date, *, licenses: LicenseRepository) -> Entitlements:
    """The agency's entitlements today. An agency without a licence record is a first-time agency
    that is not enrolled: no Citizen feature, full access to whatever data it has."""
    lic = licenses.get(agency_id) or AgencyLicense(agency_id=agency_id, country="ZZ")
    return entitlements(lic, licenses.get_settings(), today)


# --- operator changes ---------------------------------------------------------------------------

def set_license(agency_id: str, kind: str | LicenseKind, citizen_addon: bool = False, *,
                country: str | None = None, licenses: LicenseRepository, clock: Clock, audit: AuditLog,
                actor: str = "operator") -> AgencyLicense:
    """Create or change an agency's licence (kind, add-on, and country if given)."""
    changes: dict[str, Any] = {"kind": program.parse_kind(kind), "citizen_addon": citizen_addon}
    if country is not None:
        changes["country"] = program.parse_country(country)
    existing = licenses.get(agency_id)
    if existing is None:
        if country is None:
            raise InvalidInput("A new licence needs the agency's country.", code="country_required")
        saved = AgencyLicense(agency_id=agency_id, **changes)
        licenses.create(saved)
    else:
        saved = licenses.save(existing.model_copy(update=changes))
    before = existing.model_dump(mode="json", include={"kind", "citizen_addon", "country"}) if existing else None
    _audit(audit, agency_id, clock, actor, "license.changed", f"agency:{agency_id}",
           {"before": before, "after": saved.model_dump(mode="json", include={"kind", "citizen_addon", "country"})})
    return saved


def enroll(agency_id: str, approved_at: datetime, *, licenses: LicenseRepository, clock: Clock, audit: AuditLog,
           actor: str = "operator") -> AgencyLicense:
    """Record the operator's approval of an agency's request to join the program. Repeating the
    same approval changes nothing; a different date for an enrolled agency is refused."""
    lic = _license(agency_id, licenses)
    if lic.enrolled_at == approved_at:
        return lic
    if lic.enrolled_at is not None:
        raise Conflict(f"Agency {agency_id} was already enrolled on {lic.enrolled_at.date()}.",
                       code="already_enrolled")
    program.check_enrollment(lic, licenses.get_settings(), approved_at)
    saved = licenses.save(lic.model_copy(update={"enrolled_at": approved_at}))
    _audit(audit, agency_id, clock, actor, "program.enrolled", f"agency:{agency_id}",
           {"approved_at": approved_at.isoformat()})
    return saved


def extend_program(new_end: date, agency_id: str | None = None, *, licenses: LicenseRepository, clock: Clock,
                   audit: AuditLog, actor: str = "operator") -> date:
    """Move the program's end date for everyone (agency_id None) or for one agency, whose own date
    then replaces the global one. Returns the new end date. Warnings start over for the new date."""
    today = clock.now().date()
    settings = licenses.get_settings()
    if agency_id is None:
        program.check_extension(new_end, settings.end, today)
        licenses.save_settings(settings.model_copy(update={"end": new_end}))
        _audit(audit, OPERATOR_LOG, clock, actor, "program.extended", "program",
               {"from": settings.end.isoformat(), "to": new_end.isoformat()})
        return new_end
    lic = _license(agency_id, licenses)
    current_end = program_end(lic, settings)
    if current_end is None:
        raise InvalidInput(f"The emergency program does not apply to agency {agency_id}.", code="not_in_program")
    program.check_extension(new_end, current_end, today)
    licenses.save(lic.model_copy(update={"program_end_override": new_end, "warnings_sent": [], "ended": False,
                                         "notices_for": new_end}))
    _audit(audit, agency_id, clock, actor, "program.extended", f"agency:{agency_id}",
           {"from": current_end.isoformat(), "to": new_end.isoformat()})
    return new_end


def set_quota(quota_bytes: int, *, agency_id: str | None = None, used_bytes: int = 0,
              licenses: LicenseRepository, clock: Clock, audit: AuditLog, actor: str = "operator") -> int:
    """Set the first-time storage quota for everyone (agency_id None) or one first-time agency,
    never below what that agency already stores (`used_bytes`, measured by the caller)."""
    program.check_quota(quota_bytes, used_bytes)
    if agency_id is None:
        settings = licenses.get_settings()
        licenses.save_settings(settings.model_copy(update={"first_time_quota_bytes": quota_bytes}))
        _audit(audit, OPERATOR_LOG, clock, actor, "program.quota_changed", "program",
               {"from": settings.first_time_quota_bytes, "to": quota_bytes})
        return quota_bytes
    lic = _license(agency_id, licenses)
    if lic.kind is not LicenseKind.NONE or lic.citizen_addon:
        raise InvalidInput("Only a first-time agency's program account has a storage quota.",
                           code="quota_not_applicable")
    licenses.save(lic.model_copy(update={"quota_bytes": quota_bytes}))
    _audit(audit, agency_id, clock, actor, "program.quota_changed", f"agency:{agency_id}",
           {"from": lic.quota_bytes, "to": quota_bytes, "used": used_bytes})
    return quota_bytes


def set_country_date(country: str, available_from: date, *, licenses: LicenseRepository, clock: Clock,
                     audit: AuditLog, actor: str = "operator") -> ProgramSettings:
    """Set the day the program opens in a country ("*": every country not listed)."""
    code = program.parse_country(country, allow_others=True)
    settings = licenses.get_settings()
    program.check_country_date(settings, code, available_from, clock.now().date())
    if code == program.OTHER_COUNTRIES:
        changed = settings.model_copy(update={"other_countries_from": available_from})
    else:
        changed = settings.model_copy(update={"country_from": {**settings.country_from, code: available_from}})
    saved = licenses.save_settings(changed)
    _audit(audit, OPERATOR_LOG, clock, actor, "program.country_date_set", f"country:{code}",
           {"available_from": available_from.isoformat()})
    return saved


def _license(agency_id: str, licenses: LicenseRepository) -> AgencyLicense:
    lic = licenses.get(agency_id)
    if lic is None:
        raise NotFound(f"Agency {agency_id} has no licence on record.", code="license_not_found")
    return lic


def _audit(audit: AuditLog, partition: str, clock: Clock, actor: str, action: str, target: str,
           details: dict[str, Any]) -> None:
    audit.append(partition, at=clock.now(), actor=actor, action=action, target=target, details=details)
