"""The daily scheduler (end warnings, the end switch) and the operator's changes, over the in-memory
licence repository with a fixed clock."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from chalicelib.adapters.memory_licenses import MemoryLicenses
from chalicelib.domain.errors import Conflict, InvalidInput, NotFound
from chalicelib.domain.free_access import warnings_due
from chalicelib.domain.licensing import GIB, AgencyLicense, LicenseKind
from chalicelib.domain.models import AccessMode, Agency
from chalicelib.services import licensing
from tests.fakes import FixedClock, make_deps

OPENING = datetime(2020, 3, 26, 9, tzinfo=timezone.utc)
END = date(2020, 12, 31)


class World:
    """The licensing service over the unit tests' fakes. Each agency's contact is <id>@agencies.example."""

    def __init__(self) -> None:
        self.clock = FixedClock(OPENING)
        self.deps = make_deps(self.clock)
        self.licenses: MemoryLicenses = self.deps.licenses
        self.audit = self.deps.audit

    @property
    def ops(self) -> dict[str, object]:
        return {"deps": self.deps}

    @property
    def sent(self) -> list[tuple[str, str, str]]:
        return [(to.split("@")[0], subject, text) for to, subject, text in self.deps.email.sent]

    def bare(self, agency_id: str, *, country: str = "US", time_zone: str | None = None) -> None:
        """An agency with no licence record yet."""
        self.deps.agencies.create_agency(Agency(agency_id=agency_id, name=agency_id, country=country,
                                                time_zone=time_zone, created_at=OPENING,
                                                contact_email=f"{agency_id}@agencies.example"))

    def add(self, agency_id: str, kind: LicenseKind, *, country: str = "US", enrolled: bool = False,
            addon: bool = False, time_zone: str | None = None) -> None:
        self.bare(agency_id, country=country, time_zone=time_zone)
        licensing.set_license(agency_id, kind, addon, country=country, **self.ops)
        if enrolled:
            licensing.enroll(agency_id, OPENING, **self.ops)

    def run(self, day: date, hour: int = 6) -> dict[str, object]:
        self.clock.at = datetime(day.year, day.month, day.day, hour, tzinfo=timezone.utc)
        return licensing.run_daily(deps=self.deps)

    def run_days(self, first: date, last: date) -> None:
        day = first
        while day <= last:
            self.run(day)
            day += timedelta(days=1)

    def set_usage(self, agency_id: str, used_bytes: int) -> None:
        agency = self.deps.agencies.agencies[agency_id]  # the fake's state: usage is counted, never saved
        self.deps.agencies.agencies[agency_id] = agency.model_copy(update={"used_bytes": used_bytes})

    def set_contact(self, agency_id: str, email: str | None) -> None:
        agency = self.deps.agencies.get_agency(agency_id)
        self.deps.agencies.save_agency(agency.model_copy(update={"contact_email": email}))

    def warnings(self, agency_id: str) -> list[tuple[str, int, str]]:
        return [(e.at.date().isoformat(), e.details["days_before"], e.details["end"])
                for e in self.audit.entries(agency_id) if e.action == "free_access.end_warning"]

    def endings(self, agency_id: str) -> list[tuple[str, str]]:
        return [(e.at.date().isoformat(), e.details["access_mode"])
                for e in self.audit.entries(agency_id) if e.action == "free_access.ended"]


@pytest.fixture
def world() -> World:
    w = World()
    w.add("lite", LicenseKind.EVIDENCE_LITE, enrolled=True)
    return w


# --- warnings -------------------------------------------------------------------------------------

def test_the_warnings_go_out_30_7_and_1_days_before_the_end_each_exactly_once(world):
    world.run_days(date(2020, 11, 1), date(2020, 12, 31))
    assert world.warnings("lite") == [("2020-12-01", 30, "2020-12-31"), ("2020-12-24", 7, "2020-12-31"),
                                      ("2020-12-30", 1, "2020-12-31")]
    assert len(world.sent) == 3
    assert world.licenses.get("lite").warnings_sent == [30, 7, 1]


def test_a_warning_names_the_end_date_and_what_remains_afterwards(world):
    world.run(date(2020, 12, 1))
    (agency_id, subject, text), = world.sent
    assert agency_id == "lite" and "2020-12-31" in subject
    assert "Citizen for Officers and Citizen for Communities" in text and "in 30 days" in text
    assert "read, download and export" in text


def test_running_twice_on_the_same_day_sends_and_audits_nothing_more(world):
    world.run(date(2020, 12, 1))
    again = world.run(date(2020, 12, 1))
    assert again["warned"] == [] and len(world.sent) == 1 and len(world.warnings("lite")) == 1


def test_after_missed_days_only_the_closest_due_warning_is_sent_and_the_skipped_ones_never_follow(world):
    world.run(date(2020, 12, 26))  # the 30- and 7-day warnings were both missed
    world.run_days(date(2020, 12, 27), date(2020, 12, 31))
    assert world.warnings("lite") == [("2020-12-26", 7, "2020-12-31"), ("2020-12-30", 1, "2020-12-31")]
    warning = next(e for e in world.audit.entries("lite") if e.action == "free_access.end_warning")
    assert warning.details["skipped"] == [30]


def test_warnings_due_lists_the_unsent_warnings_whose_day_has_come():
    lic = AgencyLicense(agency_id="a", kind=LicenseKind.EVIDENCE_BASIC, country="US")
    settings = MemoryLicenses().get_settings()
    assert warnings_due(lic, settings, date(2020, 11, 30)) == []
    assert warnings_due(lic, settings, date(2020, 12, 25)) == [30, 7]
    sent = lic.model_copy(update={"warnings_sent": [30], "notices_for": END})
    assert warnings_due(sent, settings, date(2020, 12, 25)) == [7]
    assert warnings_due(sent, settings, date(2021, 1, 1)) == []


def test_agencies_the_program_never_ends_for_are_never_warned(world):
    world.add("osp7", LicenseKind.OSP7_PLUS, enrolled=True)
    world.add("addon", LicenseKind.EVIDENCE_LITE, addon=True, enrolled=True)
    world.add("lite-alone", LicenseKind.EVIDENCE_LITE)
    world.run_days(date(2020, 11, 25), date(2021, 1, 5))
    assert {agency_id for agency_id, _, _ in world.sent} == {"lite"}


def test_a_failed_notice_is_audited_as_failed_and_not_sent_again(world):
    world.set_contact("lite", None)
    world.run(date(2020, 12, 1))
    world.set_contact("lite", "lite@agencies.example")
    world.run(date(2020, 12, 2))
    assert len([e for e in world.audit.entries("lite") if e.action == "free_access.end_warning"]) == 1
    (entry,) = [e for e in world.audit.entries("lite") if e.action == "free_access.notice_sent"]
    assert entry.outcome == "failed" and "no contact email" in entry.details["error"] and world.sent == []


# --- the end switch --------------------------------------------------------------------------------

def test_on_the_last_day_access_continues_and_the_switch_comes_the_day_after(world):
    world.add("basic", LicenseKind.EVIDENCE_BASIC)
    assert world.run(END)["ended"] == []
    report = world.run(date(2021, 1, 1))
    assert {(e["agency_id"], e["access_mode"]) for e in report["ended"]} == {
        ("lite", AccessMode.LIMITED), ("basic", AccessMode.FULL)}
    assert world.endings("lite") == [("2021-01-01", "limited")]
    assert world.endings("basic") == [("2021-01-01", "full")]
    assert world.licenses.get("lite").ended


def test_the_end_switch_is_applied_once_however_often_the_scheduler_runs(world):
    world.run_days(date(2021, 1, 1), date(2021, 1, 10))
    world.run(date(2021, 1, 10))
    assert world.endings("lite") == [("2021-01-01", "limited")]


def test_a_missed_end_day_is_caught_up_without_late_warnings(world):
    report = world.run(date(2021, 1, 20))
    assert [e["agency_id"] for e in report["ended"]] == ["lite"] and world.warnings("lite") == []


def test_the_end_notice_of_a_limited_agency_says_its_data_stays_readable_and_exportable(world):
    world.run(date(2021, 1, 1))
    (_, subject, text), = world.sent
    assert "ended" in subject and "read, download and export" in text and "retention policy" in text


def test_the_scheduler_queries_the_end_date_index_around_today_and_never_scans(world):
    world.run(date(2020, 12, 1))  # a day of slack either side: an agency's day may not be the UTC day
    assert world.licenses.ranges_queried == [(date(2020, 10, 30), date(2021, 1, 1))]


def test_a_concurrent_change_makes_the_scheduler_skip_the_agency_until_the_next_run(world):
    original_save = world.licenses.save

    def save_loses_the_race(lic, event=None):
        raise Conflict("changed meanwhile", code="concurrent_change")

    world.licenses.save = save_loses_the_race
    report = world.run(date(2020, 12, 1))
    assert report["conflicts"] == 1 and world.sent == []
    world.licenses.save = original_save
    assert world.run(date(2020, 12, 2))["warned"] == [{"agency_id": "lite", "days_before": 30, "end": END}]


# --- extensions ------------------------------------------------------------------------------------

def test_a_global_extension_before_the_run_stops_the_warnings_and_restarts_them_for_the_new_date(world):
    world.run(date(2020, 12, 1))
    world.clock.at = datetime(2020, 12, 10, tzinfo=timezone.utc)
    licensing.extend_program(date(2021, 1, 31), **world.ops)
    world.run_days(date(2020, 12, 10), date(2021, 2, 1))
    assert world.warnings("lite") == [("2020-12-01", 30, "2020-12-31"), ("2021-01-01", 30, "2021-01-31"),
                                      ("2021-01-24", 7, "2021-01-31"), ("2021-01-30", 1, "2021-01-31")]
    assert world.endings("lite") == [("2021-02-01", "limited")]


def test_an_agency_extension_resets_its_warnings_and_moves_its_end(world):
    world.run(date(2020, 12, 24))
    world.clock.at = datetime(2020, 12, 28, tzinfo=timezone.utc)
    assert licensing.extend_program(date(2021, 3, 31), "lite", **world.ops) == date(2021, 3, 31)
    lic = world.licenses.get("lite")
    assert (lic.program_end_override, lic.warnings_sent, lic.ended) == (date(2021, 3, 31), [], False)
    world.run_days(date(2020, 12, 28), date(2021, 1, 5))
    assert world.endings("lite") == [] and len(world.warnings("lite")) == 1
    assert [e.action for e in world.audit.entries("lite")][-3:] == [
        "free_access.end_warning", "free_access.notice_sent", "free_access.extended"]


def test_an_extension_after_the_end_gives_access_back_and_re_arms_the_switch(world):
    world.run(date(2021, 1, 1))
    world.clock.at = datetime(2021, 1, 5, tzinfo=timezone.utc)
    licensing.extend_program(date(2021, 3, 31), **world.ops)
    assert licensing.current("lite", deps=world.deps).access_mode is AccessMode.FULL
    world.run_days(date(2021, 1, 5), date(2021, 4, 1))
    assert world.endings("lite") == [("2021-01-01", "limited"), ("2021-04-01", "limited")]
    assert [w[1] for w in world.warnings("lite")] == [30, 7, 1]


# --- operator changes ------------------------------------------------------------------------------

def test_an_unknown_licence_kind_is_refused(world):
    with pytest.raises(InvalidInput) as err:
        licensing.set_license("x", "evidence_gold", country="US", **world.ops)
    assert err.value.code == "unknown_license"


def test_a_new_licence_needs_a_valid_country(world):
    world.bare("x")
    with pytest.raises(InvalidInput) as err:
        licensing.set_license("x", "evidence_pro", **world.ops)
    assert err.value.code == "country_required"
    with pytest.raises(InvalidInput) as err:
        licensing.set_license("x", "evidence_pro", country="Germany", **world.ops)
    assert err.value.code == "invalid_country"


def test_a_licence_for_an_agency_that_does_not_exist_is_refused(world):
    with pytest.raises(NotFound) as err:
        licensing.set_license("nobody", "evidence_pro", country="US", **world.ops)
    assert err.value.code == "agency_not_found" and world.licenses.get("nobody") is None


def test_a_licence_change_is_audited_with_before_and_after(world):
    licensing.set_license("lite", "evidence_basic", **world.ops)
    entry = list(world.audit.entries("lite"))[-1]
    assert entry.action == "license.changed"
    assert (entry.details["before"]["kind"], entry.details["after"]["kind"]) == ("evidence_lite", "evidence_basic")


def test_an_extension_into_the_past_or_not_later_than_the_current_end_is_refused(world):
    world.clock.at = datetime(2020, 12, 1, 12, tzinfo=timezone.utc)
    for new_end, code in ((date(2020, 11, 30), "end_date_in_past"), (END, "end_date_not_later"),
                          (date(2020, 12, 15), "end_date_not_later")):
        with pytest.raises(InvalidInput) as err:
            licensing.extend_program(new_end, **world.ops)
        assert err.value.code == code
        with pytest.raises(InvalidInput) as err:
            licensing.extend_program(new_end, "lite", **world.ops)
        assert err.value.code == code
    assert world.licenses.get_settings().end == END


def test_a_global_extension_is_audited_in_the_operator_log(world):
    licensing.extend_program(date(2021, 6, 30), **world.ops)
    (entry,) = world.audit.entries("operator")
    assert (entry.action, entry.details) == ("free_access.extended", {"from": "2020-12-31", "to": "2021-06-30"})


def test_an_agency_the_program_does_not_concern_cannot_be_extended(world):
    world.add("osp7", LicenseKind.OSP7_PLUS)
    with pytest.raises(InvalidInput) as err:
        licensing.extend_program(date(2021, 6, 30), "osp7", **world.ops)
    assert err.value.code == "not_in_program"
    with pytest.raises(NotFound):
        licensing.extend_program(date(2021, 6, 30), "nobody", **world.ops)


def test_a_quota_below_what_the_agency_already_stores_is_refused(world):
    world.add("new", LicenseKind.NONE, enrolled=True)
    world.set_usage("new", 2 * GIB)
    with pytest.raises(InvalidInput) as err:
        licensing.set_quota(GIB, agency_id="new", **world.ops)
    assert err.value.code == "quota_below_usage"
    with pytest.raises(InvalidInput) as err:
        licensing.set_quota(0, **world.ops)
    assert err.value.code == "invalid_quota"


def test_only_first_time_and_lite_program_accounts_have_a_quota_to_set(world):
    world.add("pro", LicenseKind.EVIDENCE_PRO)
    world.add("addon", LicenseKind.EVIDENCE_LITE, addon=True, enrolled=True)
    for agency_id in ("pro", "addon"):
        with pytest.raises(InvalidInput) as err:
            licensing.set_quota(GIB, agency_id=agency_id, **world.ops)
        assert err.value.code == "quota_not_applicable"
    with pytest.raises(InvalidInput) as err:
        licensing.set_quota(GIB, kind="osp7_plus", **world.ops)
    assert err.value.code == "quota_not_applicable"


def test_the_lite_program_quota_is_set_for_every_lite_agency_or_for_one(world):
    licensing.set_quota(4 * GIB, kind="evidence_lite", **world.ops)
    assert licensing.current("lite", deps=world.deps).storage_quota_bytes == 4 * GIB
    assert world.licenses.get_settings().program_quota_bytes[LicenseKind.NONE] == 10 * GIB
    licensing.set_quota(GIB, agency_id="lite", **world.ops)
    assert licensing.current("lite", deps=world.deps).storage_quota_bytes == GIB
    assert [e.details.get("kind") for e in world.audit.entries("operator")] == ["evidence_lite"]


def test_a_first_time_agency_quota_can_be_raised_for_it_or_for_everyone(world):
    world.add("new", LicenseKind.NONE, enrolled=True)
    licensing.set_quota(20 * GIB, **world.ops)
    assert licensing.current("new", deps=world.deps).storage_quota_bytes == 20 * GIB
    world.set_usage("new", GIB)
    assert licensing.set_quota(30 * GIB, agency_id="new", **world.ops)["used_bytes"] == GIB
    assert licensing.current("new", deps=world.deps).storage_quota_bytes == 30 * GIB
    assert [e.action for e in world.audit.entries("new")][-1] == "free_access.quota_changed"


def test_a_country_can_be_opened_earlier_but_an_open_country_is_never_closed_again(world):
    world.add("fr", LicenseKind.NONE, country="FR", enrolled=True)
    licensing.set_country_date("FR", date(2020, 3, 30), **world.ops)
    assert licensing.current("fr", deps=world.deps, now=datetime(2020, 3, 30, 12, tzinfo=timezone.utc)).citizen_officers
    world.clock.at = datetime(2020, 4, 5, tzinfo=timezone.utc)
    with pytest.raises(InvalidInput) as err:
        licensing.set_country_date("FR", date(2020, 5, 1), **world.ops)
    assert err.value.code == "country_already_available"
    with pytest.raises(InvalidInput) as err:
        licensing.set_country_date("France", date(2020, 5, 1), **world.ops)
    assert err.value.code == "invalid_country"
    assert [e.action for e in world.audit.entries("operator")] == ["free_access.country_date_set"]


def test_enrolling_is_idempotent_for_the_same_approval_and_refused_after_the_end(world):
    assert licensing.enroll("lite", OPENING, **world.ops).enrolled_at == OPENING
    with pytest.raises(Conflict) as err:
        licensing.enroll("lite", OPENING + timedelta(days=1), **world.ops)
    assert err.value.code == "already_enrolled"
    world.add("late", LicenseKind.NONE)
    with pytest.raises(InvalidInput) as err:
        licensing.enroll("late", datetime(2021, 1, 2, tzinfo=timezone.utc), **world.ops)
    assert err.value.code == "program_ended"
    with pytest.raises(NotFound):
        licensing.enroll("nobody", OPENING, **world.ops)
    assert [e.action for e in world.audit.entries("lite")] == ["license.changed", "free_access.enrolled"]


def test_an_agency_without_a_licence_record_has_no_citizen_feature_and_full_access(world):
    ent = licensing.current("unknown", deps=world.deps)
    assert (ent.citizen_officers, ent.citizen_communities, ent.access_mode) == (False, False, AccessMode.FULL)


def test_concurrent_saves_of_the_same_licence_are_refused_but_one(world):
    lic = world.licenses.get("lite")
    world.licenses.save(lic)
    with pytest.raises(Conflict):
        world.licenses.save(lic)
