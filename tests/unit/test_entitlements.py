"""The licence and program rules: which Citizen features each agency has on each day, on what terms."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from chalicelib.domain.licensing import (
    GIB,
    GLOBAL_END,
    AgencyLicense,
    LicenseKind,
    ProgramSettings,
    end_index_key,
    entitlements,
    program_end,
)
from chalicelib.domain.models import AccessMode

BASIC, PRO, LITE = LicenseKind.EVIDENCE_BASIC, LicenseKind.EVIDENCE_PRO, LicenseKind.EVIDENCE_LITE
OSP7, FIRST_TIME = LicenseKind.OSP7_PLUS, LicenseKind.NONE
OPENING = datetime(2020, 3, 26, 9, tzinfo=timezone.utc)
SETTINGS = ProgramSettings()
EXTENDED = ProgramSettings(end=date(2021, 3, 31))

# The columns of the table: (label, day, settings). "after-extension" is a day past the default end
# with the global end extended to 2021-03-31.
DAYS = [
    ("before-start", date(2020, 3, 1), SETTINGS),
    ("2020-03-26", date(2020, 3, 26), SETTINGS),
    ("2020-03-29", date(2020, 3, 29), SETTINGS),
    ("2020-03-30", date(2020, 3, 30), SETTINGS),
    ("2020-04-01", date(2020, 4, 1), SETTINGS),
    ("2020-04-02", date(2020, 4, 2), SETTINGS),
    ("2020-12-31", date(2020, 12, 31), SETTINGS),
    ("2021-01-01", date(2021, 1, 1), SETTINGS),
    ("after-extension", date(2021, 2, 15), EXTENDED),
]

# One row per kind of agency and country group: one cell per column of DAYS.
# O = Citizen for Officers, C = Citizen for Communities, - = neither, L = limited mode (no feature).
# What an agency may *do* with these (the gate in services/access.py) is tested in test_access_gate.py.
ALL = "OC OC OC OC OC OC OC OC OC"
NOTHING = "-- -- -- -- -- -- -- -- --"
TABLE = [
    # kind, add-on, enrolled, countries, cells
    (BASIC, False, False, "US CA", "O- O- O- OC OC OC OC -- OC"),
    (BASIC, False, False, "DE", "O- O- O- O- O- OC OC -- OC"),
    (BASIC, False, True, "US CA", "O- O- O- OC OC OC OC -- OC"),
    (PRO, False, False, "US CA", "O- O- O- OC OC OC OC O- OC"),
    (PRO, False, False, "DE", "O- O- O- O- O- OC OC O- OC"),
    (LITE, False, False, "US CA DE", NOTHING),
    (LITE, False, True, "US CA", "-- OC OC OC OC OC OC L OC"),
    (LITE, False, True, "DE", "-- -- -- -- -- OC OC L OC"),
    (FIRST_TIME, False, False, "US CA DE", NOTHING),
    (FIRST_TIME, False, True, "US CA", "-- OC OC OC OC OC OC L OC"),
    (FIRST_TIME, False, True, "DE", "-- -- -- -- -- OC OC L OC"),
    (OSP7, False, False, "US CA DE", ALL),
    (OSP7, False, True, "US CA DE", ALL),
    *[(kind, True, enrolled, "US CA DE", ALL) for kind in LicenseKind for enrolled in (False, True)],
]


def _license(kind: LicenseKind, addon: bool, enrolled: bool, country: str, **extra: object) -> AgencyLicense:
    return AgencyLicense(agency_id="a1", kind=kind, citizen_addon=addon, country=country,
                         enrolled_at=OPENING if enrolled else None, **extra)


def _cases() -> list[object]:
    cases = []
    for kind, addon, enrolled, countries, cells in TABLE:
        for country in countries.split():
            for (label, day, settings), cell in zip(DAYS, cells.split(), strict=True):
                name = f"{kind.value}{'+addon' if addon else ''}{'-enrolled' if enrolled else ''}-{country}-{label}"
                cases.append(pytest.param(_license(kind, addon, enrolled, country), day, settings, cell, id=name))
    return cases


CASES = _cases()


@pytest.mark.parametrize(("lic", "day", "settings", "cell"), CASES)
def test_each_agency_has_exactly_the_features_the_rules_give_it_on_each_day(lic, day, settings, cell):
    ent = entitlements(lic, settings, day)
    assert ent.citizen_officers is ("O" in cell)
    assert ent.citizen_communities is ("C" in cell)
    assert ent.access_mode is (AccessMode.LIMITED if cell == "L" else AccessMode.FULL)
    assert set(ent.reasons) == {"citizen_officers", "citizen_communities"} - set(ent.billing)


@pytest.mark.parametrize(("lic", "day", "settings", "cell"), CASES)
def test_what_the_program_grants_is_free_until_its_end_and_what_a_contract_grants_is_billed_as_before(
        lic, day, settings, cell):
    ent = entitlements(lic, settings, day)
    paid = {"citizen_officers", "citizen_communities"} if lic.citizen_addon or lic.kind is OSP7 else (
        {"citizen_officers"} if lic.kind is PRO else set())
    for feature, note in ent.billing.items():
        assert note == ("contract" if feature in paid else f"program (free until {settings.end})")
    assert ent.free_until == (settings.end if set(ent.billing) - paid else None)


def test_pro_uses_citizen_for_officers_from_its_own_licence_before_during_and_after_the_program():
    for day in (date(2019, 1, 1), date(2020, 6, 1), date(2030, 1, 1)):
        ent = entitlements(_license(PRO, False, False, "DE"), SETTINGS, day)
        assert ent.citizen_officers and ent.billing["citizen_officers"] == "contract"


def test_basic_has_citizen_for_officers_free_until_the_program_ends_and_not_after():
    for day in (date(2020, 3, 1), date(2020, 6, 1), date(2020, 12, 31)):
        ent = entitlements(_license(BASIC, False, False, "DE"), SETTINGS, day)
        assert ent.citizen_officers and ent.billing["citizen_officers"] == "program (free until 2020-12-31)"
    after = entitlements(_license(BASIC, False, False, "DE"), SETTINGS, date(2021, 1, 1))
    assert not after.citizen_officers and after.access_mode is AccessMode.FULL
    assert after.reasons["citizen_officers"] == "the emergency program ended on 2020-12-31"


def test_basic_keeps_officers_after_2020_only_with_the_add_on_or_an_extension():
    assert entitlements(_license(BASIC, True, False, "US"), SETTINGS, date(2021, 1, 1)).citizen_officers
    assert entitlements(_license(BASIC, False, False, "US"), EXTENDED, date(2021, 3, 31)).citizen_officers
    own = _license(BASIC, False, False, "US", program_end_override=date(2021, 6, 30))
    assert entitlements(own, SETTINGS, date(2021, 6, 30)).citizen_officers


def test_a_missing_feature_comes_with_the_sentence_that_explains_why():
    basic_us, basic_de = _license(BASIC, False, False, "US"), _license(BASIC, False, False, "DE")
    lite, first_us = _license(LITE, False, False, "US"), _license(FIRST_TIME, False, True, "US")
    assert entitlements(basic_us, SETTINGS, date(2020, 3, 29)).reasons == {
        "citizen_communities": "Citizen for Communities is available to Evidence Basic from 2020-03-30"}
    assert entitlements(basic_de, SETTINGS, date(2020, 3, 30)).reasons == {
        "citizen_communities": "the program is not yet available in DE (from 2020-04-02)"}
    assert entitlements(basic_us, SETTINGS, date(2021, 1, 1)).reasons == {
        "citizen_officers": "the emergency program ended on 2020-12-31",
        "citizen_communities": "the emergency program ended on 2020-12-31"}
    assert entitlements(first_us, SETTINGS, date(2020, 3, 20)).reasons["citizen_officers"] == (
        "the emergency program starts on 2020-03-26")
    assert entitlements(lite, SETTINGS, date(2020, 6, 1)).reasons["citizen_officers"] == (
        "Citizen for Officers is not part of Evidence Lite, and the agency is not enrolled in the emergency program")


def test_a_lite_or_first_time_agency_gets_access_from_the_day_its_enrollment_is_approved():
    lic = _license(LITE, False, False, "US").model_copy(
        update={"enrolled_at": datetime(2020, 4, 10, 16, tzinfo=timezone.utc)})
    before = entitlements(lic, SETTINGS, date(2020, 4, 9))
    assert not before.citizen_officers and before.reasons["citizen_officers"] == (
        "the agency's enrollment in the emergency program starts on 2020-04-10")
    assert entitlements(lic, SETTINGS, date(2020, 4, 10)).citizen_communities


def test_a_first_time_agency_approved_early_in_germany_waits_for_the_country_date():
    lic = _license(FIRST_TIME, False, False, "DE").model_copy(
        update={"enrolled_at": datetime(2020, 3, 28, tzinfo=timezone.utc)})
    waiting = entitlements(lic, SETTINGS, date(2020, 4, 1))
    assert not waiting.citizen_officers
    assert waiting.reasons["citizen_officers"] == "the program is not yet available in DE (from 2020-04-02)"
    assert entitlements(lic, SETTINGS, date(2020, 4, 2)).citizen_officers


def test_a_per_agency_end_date_replaces_the_global_one():
    lic = _license(FIRST_TIME, False, True, "US", program_end_override=date(2021, 3, 31))
    assert program_end(lic, SETTINGS) == date(2021, 3, 31)
    assert entitlements(lic, SETTINGS, date(2021, 3, 31)).citizen_officers
    after = entitlements(lic, SETTINGS, date(2021, 4, 1))
    assert after.access_mode is AccessMode.LIMITED
    assert after.reasons["citizen_officers"] == "the emergency program ended on 2021-03-31"


def test_a_first_time_agency_has_a_citizen_only_account_with_a_storage_quota_and_others_have_none():
    first = entitlements(_license(FIRST_TIME, False, True, "US"), SETTINGS, date(2020, 5, 1))
    assert first.citizen_only and first.storage_quota_bytes == 10 * GIB
    own = entitlements(_license(FIRST_TIME, False, True, "US", quota_bytes=GIB), SETTINGS, date(2020, 5, 1))
    assert own.storage_quota_bytes == GIB
    for kind, addon in ((BASIC, False), (PRO, False), (OSP7, False), (FIRST_TIME, True), (LITE, True)):
        ent = entitlements(_license(kind, addon, True, "US"), SETTINGS, date(2020, 5, 1))
        assert not ent.citizen_only and ent.storage_quota_bytes is None


def test_an_enrolled_lite_agency_gets_the_program_quota_on_what_it_gathers_but_keeps_its_own_features():
    enrolled = entitlements(_license(LITE, False, True, "US"), SETTINGS, date(2020, 5, 1))
    assert enrolled.storage_quota_bytes == 10 * GIB and not enrolled.citizen_only
    never_joined = entitlements(_license(LITE, False, False, "US"), SETTINGS, date(2020, 5, 1))
    assert never_joined.storage_quota_bytes is None and never_joined.access_mode is AccessMode.FULL


def test_the_program_quota_is_set_per_licence_kind():
    settings = ProgramSettings(program_quota_bytes={FIRST_TIME: 2 * GIB, LITE: 5 * GIB})
    assert entitlements(_license(FIRST_TIME, False, True, "US"), settings, date(2020, 5, 1)).storage_quota_bytes == (
        2 * GIB)
    assert entitlements(_license(LITE, False, True, "US"), settings, date(2020, 5, 1)).storage_quota_bytes == 5 * GIB


def test_settings_saved_with_one_first_time_quota_apply_it_to_first_time_and_lite_accounts():
    old = ProgramSettings.model_validate({"first_time_quota_bytes": 3 * GIB, "version": 4})
    assert old.program_quota_bytes == {FIRST_TIME: 3 * GIB, LITE: 3 * GIB} and old.version == 4


def test_after_the_end_pro_keeps_officers_osp7_keeps_both_and_basic_keeps_only_its_evidence_licence():
    day = date(2021, 1, 1)
    pro, basic = (entitlements(_license(k, False, False, "US"), SETTINGS, day) for k in (PRO, BASIC))
    osp7 = entitlements(_license(OSP7, False, False, "US"), SETTINGS, day)
    assert (pro.citizen_officers, pro.citizen_communities, pro.access_mode) == (True, False, AccessMode.FULL)
    assert (basic.citizen_officers, basic.citizen_communities, basic.access_mode) == (False, False, AccessMode.FULL)
    assert (osp7.citizen_officers, osp7.citizen_communities) == (True, True)


def test_an_enrolled_lite_agency_that_moves_to_a_licence_with_citizen_is_not_limited_after_the_end():
    ent = entitlements(_license(PRO, False, True, "US"), SETTINGS, date(2021, 1, 1))
    assert ent.citizen_officers and ent.access_mode is AccessMode.FULL


def test_an_enrolled_agency_that_moves_to_basic_keeps_full_access_to_its_data_after_the_end():
    ent = entitlements(_license(BASIC, False, True, "US"), SETTINGS, date(2021, 1, 1))
    assert not ent.citizen_officers and ent.access_mode is AccessMode.FULL


def test_an_enrolled_lite_or_first_time_agency_with_no_citizen_left_after_the_end_is_limited():
    for kind in (LITE, FIRST_TIME):
        ent = entitlements(_license(kind, False, True, "US"), SETTINGS, date(2021, 1, 1))
        assert ent.access_mode is AccessMode.LIMITED and not ent.billing


def test_the_program_concerns_basic_pro_and_enrolled_agencies_only():
    assert program_end(_license(BASIC, False, False, "US"), SETTINGS) == date(2020, 12, 31)
    assert program_end(_license(LITE, False, True, "US"), SETTINGS) == date(2020, 12, 31)
    assert program_end(_license(LITE, False, False, "US"), SETTINGS) is None
    assert program_end(_license(OSP7, False, True, "US"), SETTINGS) is None
    assert program_end(_license(BASIC, True, False, "US"), SETTINGS) is None


def test_the_end_date_index_files_agencies_under_their_own_date_or_the_global_key():
    assert end_index_key(_license(PRO, False, False, "US")) == GLOBAL_END
    assert end_index_key(_license(FIRST_TIME, False, True, "US", program_end_override=date(2021, 3, 31))) == (
        "2021-03-31")
    assert end_index_key(_license(FIRST_TIME, False, False, "US")) is None
    assert end_index_key(_license(OSP7, False, False, "US")) is None


def test_a_country_opens_on_its_own_date_and_never_before_the_program_starts():
    settings = ProgramSettings(country_from={"US": date(2020, 1, 1), "FR": date(2020, 3, 31)})
    assert settings.available_from("US") == date(2020, 3, 26)
    assert settings.available_from("fr") == date(2020, 3, 31)
    assert settings.available_from("CA") == date(2020, 4, 2)
