"""Time travel through the emergency program: `python -m chalicelib.replay [--start D] [--end D]`.

A synthetic population (one agency per case the rules distinguish) lives in the in-memory licence
repository. Each day the operator changes planned for that day are applied, then the real daily
scheduler runs, then each agency's entitlements are read. The output is, per agency, the date
ranges of each capability and the warnings and end switches with their dates. Each agency's days
are its own (its country's time zone); the replay looks at 09:00 UTC, the same day in the US and
Germany."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from .adapters.memory_audit import MemoryAuditLog
from .adapters.memory_licenses import MemoryLicenses
from .domain.licensing import Entitlements, LicenseKind
from .domain.models import AccessMode, Agency, AuditEvent
from .services import licensing

Range = tuple[date, date]
CAPABILITIES = ("officers", "communities", "limited")
START, END = date(2020, 3, 26), date(2021, 6, 30)
OPENING = datetime(2020, 3, 26, 9, tzinfo=timezone.utc)

# agency id -> (licence, add-on, country, approval of its enrollment or None)
POPULATION: dict[str, tuple[LicenseKind, bool, str, datetime | None]] = {
    "basic-us": (LicenseKind.EVIDENCE_BASIC, False, "US", None),
    "pro-de": (LicenseKind.EVIDENCE_PRO, False, "DE", None),
    "lite-enrolled-us": (LicenseKind.EVIDENCE_LITE, False, "US", OPENING),
    "lite-not-enrolled-us": (LicenseKind.EVIDENCE_LITE, False, "US", None),
    "lite-continues-us": (LicenseKind.EVIDENCE_LITE, False, "US", OPENING),
    "first-time-us": (LicenseKind.NONE, False, "US", OPENING),
    "first-time-de": (LicenseKind.NONE, False, "DE", None),  # approved on 2020-03-28 (see EVENTS)
    "first-time-extended-us": (LicenseKind.NONE, False, "US", OPENING),
    "osp7-us": (LicenseKind.OSP7_PLUS, False, "US", None),
    "basic-addon-us": (LicenseKind.EVIDENCE_BASIC, True, "US", None),
}


class _DayClock:
    def __init__(self) -> None:
        self.at = OPENING

    def now(self) -> datetime:
        return self.at


class _Agencies:
    def __init__(self) -> None:
        self.agencies: dict[str, Agency] = {}

    def get_agency(self, agency_id: str) -> Agency | None:
        return self.agencies.get(agency_id)

    def save_agency(self, agency: Agency, *, event: AuditEvent | None = None) -> None:
        self.agencies[agency.agency_id] = agency


class _Outbox:
    def send_email(self, to: str, subject: str, text: str) -> str:
        return "not sent: a replay"


class _World:
    """The licensing service's dependencies (services.deps.LicensingDeps), in memory."""

    def __init__(self) -> None:
        self.audit = MemoryAuditLog()
        self.licenses = MemoryLicenses(audit=self.audit)
        self.clock = _DayClock()
        self.agencies = _Agencies()
        self.email = _Outbox()


def _setup(world: _World) -> None:
    for agency_id, (kind, addon, country, approved) in POPULATION.items():
        world.agencies.save_agency(Agency(agency_id=agency_id, name=agency_id, country=country, created_at=OPENING,
                                          contact_email=f"desk@{agency_id}.example"))
        licensing.set_license(agency_id, kind, addon, country=country, deps=world)
        if approved:
            licensing.enroll(agency_id, approved, deps=world)


# (day, what the operator does, the change) applied before that day's scheduler run
EVENTS: list[tuple[date, str, Callable[[_World], object]]] = [
    (date(2020, 3, 28), "enroll first-time-de (approved 2020-03-28)",
     lambda w: licensing.enroll("first-time-de", datetime(2020, 3, 28, 15, tzinfo=timezone.utc), deps=w)),
    (date(2020, 12, 10), "extend the program for everyone to 2021-01-31",
     lambda w: licensing.extend_program(date(2021, 1, 31), deps=w)),
    (date(2021, 1, 15), "extend the program for first-time-extended-us to 2021-03-31",
     lambda w: licensing.extend_program(date(2021, 3, 31), "first-time-extended-us", deps=w)),
    (date(2021, 1, 20), "lite-continues-us buys the Citizen add-on",
     lambda w: licensing.set_license("lite-continues-us", LicenseKind.EVIDENCE_LITE, True, deps=w)),
]


def _days(start: date, end: date) -> Iterator[date]:
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


def _holds(ent: Entitlements) -> dict[str, bool]:
    return {"officers": ent.citizen_officers, "communities": ent.citizen_communities,
            "limited": ent.access_mode is AccessMode.LIMITED}


def _extend(ranges: list[Range], day: date) -> None:
    if ranges and ranges[-1][1] == day - timedelta(days=1):
        ranges[-1] = (ranges[-1][0], day)
    else:
        ranges.append((day, day))


def replay(start: date = START, end: date = END) -> dict[str, Any]:
    """Walk the program day by day; returns, per agency, capability ranges, warnings and end switches."""
    world = _World()
    _setup(world)
    pending = sorted(EVENTS, key=lambda event: event[0])
    result: dict[str, Any] = {"start": start, "end": end, "events": [], "agencies": {
        agency_id: {**{c: [] for c in CAPABILITIES}, "warnings": [], "ended": []} for agency_id in POPULATION}}
    for day in _days(start, end):
        while pending and pending[0][0] <= day:  # each change happens on its own day, even before --start
            planned, label, change = pending.pop(0)
            world.clock.at = datetime.combine(planned, time(9), tzinfo=timezone.utc)
            change(world)
            result["events"].append((planned, label))
        world.clock.at = datetime.combine(day, time(9), tzinfo=timezone.utc)
        _record_run(result["agencies"], day, licensing.run_daily(deps=world))
        for agency_id, row in result["agencies"].items():
            ent = licensing.current(agency_id, deps=world)
            for capability, held in _holds(ent).items():
                if held:
                    _extend(row[capability], day)
    return result


def _record_run(rows: dict[str, Any], day: date, report: dict[str, Any]) -> None:
    for warned in report["warned"]:
        rows[warned["agency_id"]]["warnings"].append((day, warned["days_before"], warned["end"]))
    for ended in report["ended"]:
        rows[ended["agency_id"]]["ended"].append((day, ended["access_mode"].value))


def _ranges(ranges: list[Range]) -> str:
    return ", ".join(f"{a}..{b}" for a, b in ranges) or "-"


def render(result: dict[str, Any]) -> str:
    lines = [f"Emergency program replay {result['start']} .. {result['end']}", "", "operator changes:"]
    lines += [f"  {day}  {label}" for day, label in result["events"]] + [""]
    lines.append(f"{'agency':<24}{'licence':<24}{'officers':<25}{'communities':<25}limited")
    for agency_id, row in result["agencies"].items():
        kind, addon, country, _ = POPULATION[agency_id]
        licence = f"{kind.value}{'+addon' if addon else ''} {country}"
        lines.append(f"{agency_id:<24}{licence:<24}{_ranges(row['officers']):<25}"
                     f"{_ranges(row['communities']):<25}{_ranges(row['limited'])}")
    lines += ["", "warnings and end switches:"]
    for agency_id, row in result["agencies"].items():
        notes = [f"{on} {days}d before {end}" for on, days, end in row["warnings"]]
        notes += [f"ended {on} ({mode})" for on, mode in row["ended"]]
        lines.append(f"  {agency_id:<24}{'; '.join(notes) or '-'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.replay", description=__doc__)
    parser.add_argument("--start", type=date.fromisoformat, default=START, help=f"first day (default {START})")
    parser.add_argument("--end", type=date.fromisoformat, default=END, help=f"last day (default {END})")
    args = parser.parse_args(argv)
    if args.end < args.start:
        parser.error("--end is before --start")
    print(render(replay(args.start, args.end)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
