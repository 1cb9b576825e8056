"""The program's days are the agency's days: its end, the warnings and days left follow its time zone."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from chalicelib.domain import time_zones
from chalicelib.domain.errors import InvalidInput, NotFound
from chalicelib.domain.licensing import LicenseKind
from chalicelib.services import licensing
from tests.unit.test_license_schedule import World

LA, AUCKLAND = "America/Los_Angeles", "Pacific/Auckland"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


@pytest.fixture
def world() -> World:
    w = World()
    w.add("la", LicenseKind.NONE, enrolled=True, time_zone=LA)
    w.add("nz", LicenseKind.NONE, country="NZ", enrolled=True)
    return w


def test_an_agency_keeps_access_until_the_end_of_dec_31_where_it_is(world):
    before_midnight_in_la = utc(2021, 1, 1, 7, 59)
    assert licensing.current("la", deps=world.deps, now=before_midnight_in_la).citizen_officers
    assert not licensing.current("la", deps=world.deps, now=utc(2021, 1, 1, 8, 0)).citizen_officers


def test_an_agency_east_of_utc_loses_access_when_its_own_new_year_begins(world):
    assert licensing.current("nz", deps=world.deps, now=utc(2020, 12, 31, 10, 59)).citizen_officers
    after = licensing.current("nz", deps=world.deps, now=utc(2020, 12, 31, 11, 0))
    assert not after.citizen_officers and after.on == date(2021, 1, 1) and after.time_zone == AUCKLAND


def test_the_end_switch_comes_on_the_first_run_after_midnight_where_the_agency_is(world):
    first = world.run(date(2021, 1, 1), hour=6)  # 19:00 on Jan 1 in Auckland, 22:00 on Dec 31 in LA
    assert [e["agency_id"] for e in first["ended"]] == ["nz"]
    second = world.run(date(2021, 1, 1), hour=9)
    assert [e["agency_id"] for e in second["ended"]] == ["la"]
    assert world.endings("la")[0][1] == "limited"


def test_warnings_count_the_days_left_where_the_agency_is(world):
    report = world.run(date(2020, 12, 1), hour=6)  # Dec 1 in Auckland, still Nov 30 in LA
    assert [w["agency_id"] for w in report["warned"]] == ["nz"]
    assert [w["agency_id"] for w in world.run(date(2020, 12, 1), hour=9)["warned"]] == ["la"]
    (entry,) = [e for e in world.audit.entries("la") if e.action == "free_access.end_warning"]
    assert entry.details["local_day"] == "2020-12-01"


def test_an_agency_s_zone_defaults_to_its_country_s():
    assert time_zones.default_zone("DE") == "Europe/Berlin"
    assert time_zones.default_zone("US") == "America/New_York"
    assert time_zones.default_zone("CA") == "America/Toronto"
    assert time_zones.default_zone("JP") == "Asia/Tokyo"
    assert time_zones.default_zone("ZZ") == "UTC"


def test_an_operator_sets_an_agency_s_zone_and_it_is_audited(world):
    result = licensing.set_time_zone("nz", "Pacific/Chatham", deps=world.deps, actor="key:op")
    assert result == {"agency_id": "nz", "time_zone": "Pacific/Chatham", "effective": "Pacific/Chatham"}
    entry = list(world.audit.entries("nz"))[-1]
    assert (entry.action, entry.actor, entry.details["from"]) == ("agency.time_zone_set", "key:op", None)
    back = licensing.set_time_zone("nz", None, deps=world.deps)
    assert back["time_zone"] is None and back["effective"] == AUCKLAND


@pytest.mark.parametrize("zone", ["Mars/Olympus", "utc", "America", "../etc/passwd", "x" * 300, ""])
def test_a_zone_the_tz_database_does_not_know_is_refused(world, zone):
    with pytest.raises(InvalidInput) as err:
        time_zones.parse_zone(zone)
    assert err.value.code == "invalid_time_zone"


def test_the_zone_of_an_agency_that_does_not_exist_cannot_be_set(world):
    with pytest.raises(NotFound) as err:
        licensing.set_time_zone("nobody", LA, deps=world.deps)
    assert err.value.code == "agency_not_found"
