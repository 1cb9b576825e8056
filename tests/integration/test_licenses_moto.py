"""The licence repository on DynamoDB (moto over HTTP) against its in-memory twin, and the daily
scheduler on DynamoDB with a fixed clock: warnings 30/7/1 days before, the end day, an extension
made before the run, and re-runs."""
from __future__ import annotations

import os
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import boto3
import pytest

from chalicelib import bootstrap
from chalicelib.adapters.dynamo_licenses import DynamoLicenses
from chalicelib.adapters.memory_licenses import MemoryLicenses
from chalicelib.domain import ids
from chalicelib.domain.errors import Conflict
from chalicelib.domain.licensing import AgencyLicense, LicenseKind
from chalicelib.domain.models import AccessMode, Agency
from chalicelib.services import licensing
from tests.fakes import FixedClock, RecordingEmail

pytestmark = pytest.mark.integration
END = date(2031, 3, 31)  # far from the global end date, which other tests may move


@pytest.fixture(params=["memory", "dynamodb"])
def licenses(request):
    if request.param == "memory":
        return MemoryLicenses()
    request.getfixturevalue("stack")
    return DynamoLicenses(boto3.client("dynamodb"), os.environ["TABLE_NAME"])


def enrolled(end: date = END) -> AgencyLicense:
    return AgencyLicense(agency_id=ids.new_id(datetime.now(timezone.utc)), kind=LicenseKind.NONE, country="US",
                         enrolled_at=datetime(2020, 3, 27, tzinfo=timezone.utc), program_end_override=end)


def test_a_licence_is_created_once_and_saved_only_at_the_version_read(licenses):
    lic = enrolled()
    licenses.create(lic)
    with pytest.raises(Conflict):
        licenses.create(lic)
    saved = licenses.save(lic.model_copy(update={"citizen_addon": True}))
    assert saved.version == 1 and licenses.get(lic.agency_id).citizen_addon is True
    with pytest.raises(Conflict):
        licenses.save(lic)  # stale: version 0
    assert licenses.get(ids.new_id(datetime.now(timezone.utc))) is None


def test_agencies_are_found_by_their_end_day_and_move_with_it(licenses):
    lic = enrolled(END)
    licenses.create(lic)
    assert lic.agency_id in licenses.ending_between(END - timedelta(days=3), END)
    assert lic.agency_id not in licenses.ending_between(END + timedelta(days=1), END + timedelta(days=30))
    licenses.save(lic.model_copy(update={"program_end_override": END + timedelta(days=10)}))
    assert lic.agency_id not in licenses.ending_between(END - timedelta(days=3), END)
    assert lic.agency_id in licenses.ending_between(END + timedelta(days=5), END + timedelta(days=10))


def test_program_settings_are_saved_at_the_version_read(licenses):
    current = licenses.get_settings()
    quotas = {**current.program_quota_bytes, LicenseKind.EVIDENCE_LITE: 5 * 1024**3}
    saved = licenses.save_settings(current.model_copy(update={"program_quota_bytes": quotas}))
    assert saved.version == current.version + 1
    assert licenses.get_settings().program_quota_bytes[LicenseKind.EVIDENCE_LITE] == 5 * 1024**3
    with pytest.raises(Conflict):
        licenses.save_settings(current)
    licenses.save_settings(saved.model_copy(update={"program_quota_bytes": current.program_quota_bytes}))


def test_the_daily_run_on_dynamodb_warns_once_each_then_ends_and_respects_an_extension(stack):
    clock = FixedClock(datetime(2031, 3, 1, 12, tzinfo=timezone.utc))
    deps = replace(bootstrap.deps(), clock=clock, email=RecordingEmail())
    repo = deps.licenses
    ending, extended = enrolled(), enrolled()
    for lic in (ending, extended):
        deps.agencies.create_agency(Agency(agency_id=lic.agency_id, name="Moto PD", country="US", created_at=clock.at,
                                           contact_email=f"{lic.agency_id}@agencies.example"))
        repo.create(lic)

    def run(day: date) -> dict:
        clock.at = datetime.combine(day, datetime.min.time(), tzinfo=timezone.utc) + timedelta(hours=12)
        return licensing.run_daily(deps=deps)

    mine = {ending.agency_id, extended.agency_id}  # the shared table holds other tests' agencies too

    def warned(report: dict) -> set[tuple[str, int]]:
        return {(w["agency_id"], w["days_before"]) for w in report["warned"] if w["agency_id"] in mine}

    assert warned(run(date(2031, 3, 1))) == {(ending.agency_id, 30), (extended.agency_id, 30)}
    assert warned(run(date(2031, 3, 1))) == set()  # re-run: nothing twice
    licensing.extend_program(date(2031, 6, 30), extended.agency_id, deps=deps)
    assert warned(run(date(2031, 3, 24))) == {(ending.agency_id, 7)}
    assert warned(run(date(2031, 3, 30))) == {(ending.agency_id, 1)}
    assert [e for e in run(date(2031, 3, 31))["ended"] if e["agency_id"] in mine] == []  # last day of access
    ended = [e for e in run(date(2031, 4, 1))["ended"] if e["agency_id"] in mine]
    assert [(e["agency_id"], e["access_mode"]) for e in ended] == [(ending.agency_id, AccessMode.LIMITED.value)]
    assert [e for e in run(date(2031, 4, 1))["ended"] if e["agency_id"] in mine] == []
    now = licensing.current(ending.agency_id, deps=deps)
    assert now.access_mode is AccessMode.LIMITED and not now.citizen_officers
    assert licensing.current(extended.agency_id, deps=deps).citizen_officers
    sent = [to for to, _, _ in deps.email.sent if to.startswith(ending.agency_id)]
    assert len(sent) == 4  # three warnings and the end notice
