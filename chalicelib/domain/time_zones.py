"""Agencies' time zones: the program's dates ("through the end of 2020") are days where the agency
is. An agency's zone is an IANA name, set by an operator or taken from its country.

Pure: the zone data is read from the pinned `tzdata` package (a slim Lambda image has no system
zone files), never from the clock or the environment."""
from __future__ import annotations

from datetime import date, datetime
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo, available_timezones

from .errors import InvalidInput

FALLBACK = "UTC"
# Countries that span several zones: the zone most of their people live in. For any other country,
# the first zone the tz database lists for it (zone.tab); an operator sets the exact one.
PREFERRED = {"CA": "America/Toronto", "AU": "Australia/Sydney", "BR": "America/Sao_Paulo",
             "RU": "Europe/Moscow", "UA": "Europe/Kyiv", "US": "America/New_York"}


@cache
def _first_zone_by_country() -> dict[str, str]:
    table = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text(encoding="utf-8")
    zones: dict[str, str] = {}
    for line in table.splitlines():
        if line and not line.startswith("#"):
            country, _, name = line.split("\t")[:3]
            zones.setdefault(country, name)
    return zones


def default_zone(country: str) -> str:
    """The zone an agency in this country gets unless an operator sets another."""
    code = country.upper()
    return PREFERRED.get(code) or _first_zone_by_country().get(code, FALLBACK)


def parse_zone(name: str) -> str:
    """An IANA zone name as given, if the tz database knows it; InvalidInput otherwise."""
    if name not in _known_zones():
        raise InvalidInput(f"{name[:60]!r} is not an IANA time zone (e.g. America/Chicago).",
                           code="invalid_time_zone")
    return name


@cache
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def zone_of(time_zone: str | None, country: str) -> str:
    """The agency's own zone if it has one, else its country's."""
    return time_zone or default_zone(country)


def local_day(now: datetime, zone: str) -> date:
    """The calendar day it is at `now` where the agency is."""
    return now.astimezone(ZoneInfo(zone)).date()
