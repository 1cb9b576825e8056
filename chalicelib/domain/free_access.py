"""The end of the emergency program for one agency: which warnings are due, when the end switch
applies, what the notices say; and the checks on operator changes. Pure: `today` is a parameter."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from .errors import InvalidInput
from .licensing import (
    FEATURE_LABELS,
    FEATURES,
    PROGRAM_ACCOUNTS,
    AgencyLicense,
    Entitlements,
    LicenseKind,
    ProgramSettings,
    entitlements,
    program_end,
)
from .models import AccessMode

warning_days = (30, 7, 1)  # days before the end date
OTHER_COUNTRIES = "*"
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")


def current_notices(lic: AgencyLicense, settings: ProgramSettings) -> AgencyLicense:
    """The licence with its notes reset if they were kept for another end date: after any
    extension (global or for the agency) warnings start over and the end switch is re-armed."""
    end = program_end(lic, settings)
    if lic.notices_for == end:
        return lic
    return lic.model_copy(update={"warnings_sent": [], "ended": False, "notices_for": end})


def warnings_due(lic: AgencyLicense, settings: ProgramSettings, today: date) -> list[int]:
    """Which of warning_days are due today or overdue and not yet sent for the current end date,
    largest first. The scheduler sends only the last one (the closest to the end)."""
    lic = current_notices(lic, settings)
    end = lic.notices_for
    if end is None or lic.ended or today > end:
        return []
    left = (end - today).days
    return [days for days in warning_days if left <= days and days not in lic.warnings_sent]


def end_due(lic: AgencyLicense, settings: ProgramSettings, today: date) -> bool:
    """Whether the end switch should be applied today: the end date has passed and it was not."""
    lic = current_notices(lic, settings)
    return lic.notices_for is not None and not lic.ended and today > lic.notices_for


def _features(ent: Entitlements) -> list[str]:
    return [f for f in FEATURES if f in ent.billing]


def _names(features: list[str]) -> str:
    return " and ".join(FEATURE_LABELS[f] for f in features) or "no Citizen feature"


def _afterwards(after: Entitlements) -> str:
    if after.access_mode is AccessMode.LIMITED:
        return ("your agency can still read, download and export all of its data, which stays under "
                "your retention policy; to keep collecting evidence, move to a licence that includes Citizen.")
    kept = _features(after)
    if not kept:
        return ("your agency keeps its evidence licence and full access to its data, which stays under your "
                "retention policy; to keep collecting evidence from the public, add Citizen to your licence.")
    return f"you keep {_names(kept)} under your contract; your data stays under your retention policy."


def warning_message(lic: AgencyLicense, settings: ProgramSettings, today: date) -> tuple[str, str]:
    """(subject, text) of the warning sent `today` before the agency's program end."""
    end = program_end(lic, settings)
    assert end is not None, "only agencies in the program are warned"
    left = (end - today).days
    when = "today" if left == 0 else ("tomorrow" if left == 1 else f"in {left} days")
    now = entitlements(lic, settings, today)
    after = entitlements(lic, settings, end + timedelta(days=1))
    losing = [f for f in _features(now) if f not in after.billing] or [
        f for f in FEATURES if f not in after.billing]
    text = (f"Free access to {_names(losing)} under the emergency program ends on {end} ({when}). "
            f"After that, {_afterwards(after)}")
    return f"Emergency program access ends on {end}", text


def ended_message(ent: Entitlements, end: date) -> tuple[str, str]:
    """(subject, text) of the notice sent when the end switch is applied."""
    text = f"The emergency program ended for your agency on {end}. From now on, {_afterwards(ent)}"
    return "Emergency program access has ended", text


# --- checks on operator changes ----------------------------------------------------------------

def parse_kind(value: str | LicenseKind) -> LicenseKind:
    try:
        return LicenseKind(value)
    except ValueError:
        known = ", ".join(k.value for k in LicenseKind)
        raise InvalidInput(f"Unknown licence {value!r}; use one of {known}.", code="unknown_license") from None


def parse_quota_kind(value: str | LicenseKind) -> LicenseKind:
    kind = parse_kind(value)
    if kind not in PROGRAM_ACCOUNTS:
        raise InvalidInput(f"{kind.label} has no program storage quota; only first-time and Lite accounts do.",
                           code="quota_not_applicable")
    return kind


def parse_country(value: str, *, allow_others: bool = False) -> str:
    if allow_others and value == OTHER_COUNTRIES:
        return value
    if not _COUNTRY.match(value):
        raise InvalidInput(f"{value!r} is not a two-letter ISO country code.", code="invalid_country")
    return value.upper()


def check_extension(new_end: date, current_end: date | None, today: date) -> None:
    if new_end < today:
        raise InvalidInput(f"The new end date {new_end} is in the past.", code="end_date_in_past")
    if current_end is not None and new_end <= current_end:
        raise InvalidInput(f"The new end date {new_end} is not after the current end date {current_end}.",
                           code="end_date_not_later")


def check_quota(quota_bytes: int, used_bytes: int) -> None:
    if quota_bytes <= 0:
        raise InvalidInput("The storage quota must be a positive number of bytes.", code="invalid_quota")
    if quota_bytes < used_bytes:
        raise InvalidInput(f"The quota ({quota_bytes} bytes) is below what the agency already stores "
                           f"({used_bytes} bytes).", code="quota_below_usage")


def check_enrollment(lic: AgencyLicense, settings: ProgramSettings, approved_at: datetime) -> None:
    end = program_end(lic.model_copy(update={"enrolled_at": approved_at}), settings)
    if end is not None and approved_at.date() > end:
        raise InvalidInput(f"The emergency program ended on {end}; it cannot be joined on {approved_at.date()}.",
                           code="program_ended")


def check_country_date(settings: ProgramSettings, country: str, available_from: date, today: date) -> None:
    """A country where the program is already open is never closed again (agencies use it)."""
    current = settings.other_countries_from if country == OTHER_COUNTRIES else settings.available_from(country)
    if current <= today < available_from:
        raise InvalidInput(f"The program is already available in {country} since {current}; "
                           f"it cannot be moved to {available_from}.", code="country_already_available")
