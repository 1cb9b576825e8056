"""The real gate (services/access.py `allow`) over every row and column of the licence table: what
each agency may do on each day. Reading, downloading, exporting and legal holds are never refused
by a licence; sending links needs Citizen for Officers; the rest needs a full access mode."""
from __future__ import annotations

from datetime import datetime, time, timezone

import pytest

from chalicelib.adapters.memory_licenses import MemoryLicenses
from chalicelib.domain.commands import PlaceHold, SetRetentionPolicy
from chalicelib.domain.errors import Forbidden
from chalicelib.domain.exports import ExportStatus
from chalicelib.domain.models import Principal, Role
from chalicelib.services import access, agencies, licensing, retention
from chalicelib.services.access import Capability
from chalicelib.services.exports import ExportDeps
from tests.export_fakes import MemoryExports, MemoryExportStorage, MemoryJobQueue
from tests.fakes import FixedClock, make_deps
from tests.unit.test_entitlements import DAYS, OPENING, TABLE
from tests.unit.test_exports import evidence, finished, start
from tests.unit.test_triage_retention_custody import sent_submission

NEVER_REFUSED = (Capability.READ, Capability.DOWNLOAD, Capability.EXPORT, Capability.LEGAL_HOLD)


def _gate_cases() -> list[object]:
    cases = []
    for kind, addon, enrolled, countries, cells in TABLE:
        country = countries.split()[-1]
        for (label, day, settings), cell in zip(DAYS, cells.split(), strict=True):
            name = f"{kind.value}{'+addon' if addon else ''}{'-enrolled' if enrolled else ''}-{country}-{label}"
            cases.append(pytest.param(kind, addon, enrolled, country, day, settings, cell, id=name))
    return cases


def _agency_on(kind, addon, enrolled, country, day, settings):
    """An agency with this licence, an admin and an officer, on `day` at noon UTC (the same
    calendar day in the US, Canada and Germany)."""
    deps = make_deps(FixedClock(datetime.combine(day, time(12), tzinfo=timezone.utc)),
                     licenses=MemoryLicenses(settings))
    agency = agencies.create_agency("Gatekeeper PD", country, deps=deps)
    stored = deps.licenses.get(agency.agency_id)
    deps.licenses.save(stored.model_copy(update={"kind": kind, "citizen_addon": addon,
                                                 "enrolled_at": OPENING if enrolled else None}))
    admin, officer = (Principal(agency_id=agency.agency_id, role=role, key_id=role.value)
                      for role in (Role.AGENCY_ADMIN, Role.OFFICER))
    return deps, admin, officer


def _allowed(principal, capability, deps) -> bool:
    try:
        access.allow(principal, capability, deps=deps)
    except Forbidden:
        return False
    return True


@pytest.mark.parametrize(("kind", "addon", "enrolled", "country", "day", "settings", "cell"), _gate_cases())
def test_the_gate_lets_each_agency_do_exactly_what_its_licence_allows_on_each_day(
        kind, addon, enrolled, country, day, settings, cell):
    deps, admin, officer = _agency_on(kind, addon, enrolled, country, day, settings)
    full = cell != "L"
    assert [c for c in NEVER_REFUSED if not _allowed(admin, c, deps)] == []
    assert _allowed(officer, Capability.READ, deps) and _allowed(officer, Capability.EXPORT, deps)
    assert _allowed(officer, Capability.SEND_LINKS, deps) is ("O" in cell)
    assert _allowed(officer, Capability.REVIEW, deps) is full
    assert _allowed(admin, Capability.CONFIGURE, deps) is full


def test_legal_holds_and_settings_stay_with_admins(deps, agency):
    officer = Principal(agency_id=agency.agency_id, role=Role.OFFICER, key_id="o")
    for capability in (Capability.LEGAL_HOLD, Capability.CONFIGURE):
        with pytest.raises(Forbidden) as refused:
            access.allow(officer, capability, deps=deps)
        assert refused.value.code == "admin_only"


def test_operator_keys_cannot_pass_the_agency_gate(deps, agency):
    operator = Principal(agency_id="operator", role=Role.OPERATOR, key_id="op")
    with pytest.raises(Forbidden) as refused:
        access.allow(operator, Capability.READ, deps=deps)
    assert refused.value.code == "agency_only"


# --- limited mode, for real ------------------------------------------------------------------------

@pytest.fixture
def limited(deps, agency, officer, clock):
    """A first-time agency in the program that gathered evidence, then saw the program end."""
    licensing.set_license(agency.agency_id, "none", deps=deps)
    licensing.enroll(agency.agency_id, clock.now(), deps=deps)
    done = sent_submission(officer, deps, case_ref="C-LIM")
    clock.at = datetime(2021, 1, 2, 12, tzinfo=timezone.utc)
    assert licensing.current(agency.agency_id, deps=deps).access_mode.value == "limited"
    return done


@pytest.fixture
def admin(deps, agency):
    return Principal(agency_id=agency.agency_id, role=Role.AGENCY_ADMIN, key_id="admin")


def test_a_limited_agency_runs_an_export_of_its_evidence_to_the_end(limited, officer, deps):
    xd = ExportDeps(clock=deps.clock, exports=MemoryExports(), submissions=deps.submissions, audit=deps.audit,
                    storage=MemoryExportStorage(deps.blobs), queue=MemoryJobQueue(), evidence_bucket="evidence",
                    shares=deps.shares)
    evidence(xd, officer.agency_id, b"\xff\xd8\xff\xe0 a photo", case_ref="C-LIM")
    job = finished(officer, xd, start(officer, xd, {"type": "download_links"}))
    assert job.status is ExportStatus.DONE and job.items_total >= 1 and job.items_done == job.items_total


def test_a_limited_agency_places_and_releases_legal_holds(limited, admin, deps):
    retention.hold_case(admin, "C-LIM", PlaceHold(reason="litigation"), deps=deps)
    assert deps.holds.case_hold(admin.agency_id, "C-LIM") is not None
    retention.release_case(admin, "C-LIM", deps=deps)
    held = retention.hold_submission(admin, limited.submission_id, True, "court order", deps=deps)
    assert held.legal_hold
    assert not retention.hold_submission(admin, limited.submission_id, False, None, deps=deps).legal_hold


def test_a_limited_agency_cannot_change_its_retention_policy(limited, admin, deps):
    with pytest.raises(Forbidden) as refused:
        retention.set_policy(admin, SetRetentionPolicy(default_days=1), deps=deps)
    assert refused.value.code == "limited_mode"


def test_a_limited_agency_cannot_send_links(limited, officer, deps):
    with pytest.raises(Forbidden) as refused:
        access.allow(officer, Capability.SEND_LINKS, deps=deps)
    assert refused.value.code == "limited_mode"


def test_an_agency_with_no_licence_record_has_full_access_to_its_data_and_no_citizen_feature(deps, agency, officer):
    deps.licenses._licenses.pop(agency.agency_id)  # the fake's state: a licence never recorded
    assert _allowed(officer, Capability.REVIEW, deps) and not _allowed(officer, Capability.SEND_LINKS, deps)

