"""Time-travel proof of the improvement program's part 2 (issue 11): synthetic agencies from
2020-03-26 to 2022-12-31 with contracts (some too early, abroad or without the terms), Tier 2
acceptances, citizen, portal, captured and shared items, use cases announced, edited materially,
activated and retired, withdrawals, contract ends, removals and retention deletions; every day the
retention sweep, the program's deletion run and its extraction run, on the in-memory adapters with
the clock moved. Prints, and with --check asserts:

    extractions before effective date   0
    excluded items in program storage   0
    requests done after due date        0
    receipts verifying                  100%
    tampered receipts detected          100%

    .venv/bin/python bench/program_time_travel.py --agencies 1000   # the full proof (slow)
    .venv/bin/python bench/program_time_travel.py --agencies 6 --check   # what tests/unit runs
"""
from __future__ import annotations

import argparse
import contextlib
import random
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chalicelib import receipt_verify  # noqa: E402
from chalicelib.domain import program as rules  # noqa: E402
from chalicelib.domain import receipts  # noqa: E402
from chalicelib.domain.errors import DomainError  # noqa: E402
from chalicelib.domain.models import (  # noqa: E402
    OPERATOR_AGENCY,
    Agency,
    EvidenceFile,
    FileStatus,
    Origin,
    Principal,
    Role,
    Submission,
    SubmissionStatus,
)
from chalicelib.domain.program_commands import EndContract, PublishTerms, UseCaseBody  # noqa: E402
from chalicelib.services import program, program_deletion, program_extraction, program_operator, retention  # noqa: E402

START, END = date(2020, 3, 26), date(2022, 12, 31)
TERMS_FROM = rules.DEFAULT_TERMS_FROM
PROMISE = timedelta(days=30)  # every withdrawal and removal done within this, whatever the code computes as due
OPERATOR = Principal(agency_id=OPERATOR_AGENCY, role=Role.OPERATOR, key_id="time-travel")
ORIGINS = [Origin.AGENCY_CAPTURE] * 5 + [Origin.CITIZEN_LINK] * 3 + [Origin.COMMUNITY_PORTAL] * 1 + [Origin.SHARED]
JPEG = (b"\xff\xd8" + b"\xff\xe1\x00\x11Exif\x00\x00GPS-12345" + b"\xff\xda\x00\x04\x00\x00" + b"PIXELS\xff\xd9")
# (title, technique, tier, announced, material edit announced, retired)
USE_CASES = [("counts", "aggregate_counts", "tier_1", date(2021, 3, 1), None, None),
             ("records", "deidentified_records", "tier_1", date(2021, 6, 1), date(2021, 9, 1), date(2022, 9, 1)),
             ("copies", "stripped_media_copy", "tier_2", date(2021, 8, 15), None, None)]


@dataclass
class Plan:
    """What happens to one agency, and on which day."""

    agency_id: str
    country: str
    executed: date
    with_terms: bool
    tier_2_on: date | None
    items: list[tuple[date, Origin, int | None]]  # (day, origin, retention days)
    withdraw_on: date | None
    contract_end_on: date | None
    removal_on: date | None
    rejoin_on: date | None
    made: list[str] = field(default_factory=list)


def plans(count: int, seed: int) -> list[Plan]:
    rng, span = random.Random(seed), (END - START).days
    found = []
    for n in range(count):
        # most contracts carry the terms date's rule (executed after 2021-04-01), some predate it
        executed = max(START, TERMS_FROM + timedelta(days=rng.randrange(-380 if rng.random() < 0.25 else 0, 540)))
        later = lambda lo, hi, base=executed: base + timedelta(days=rng.randrange(lo, hi))  # noqa: E731
        withdraw = later(30, 500) if rng.random() < 0.2 else None
        found.append(Plan(
            agency_id=f"ag{n:05d}", country="US" if rng.random() < 0.9 else "CA", executed=executed,
            with_terms=rng.random() < 0.85, tier_2_on=later(0, 200) if rng.random() < 0.5 else None,
            items=_bursts(rng, span, executed),
            withdraw_on=withdraw, contract_end_on=later(100, 700) if rng.random() < 0.1 else None,
            removal_on=later(20, 600) if rng.random() < 0.25 else None,
            rejoin_on=withdraw + timedelta(days=45) if withdraw and rng.random() < 0.4 else None))
    return found


def _bursts(rng: random.Random, span: int, executed: date) -> list[tuple[date, Origin, int | None]]:
    """Items come in incidents: a few to a dozen on one day, of one origin and one retention;
    most after the contract (what the program could take), some before (what it must not)."""
    found = []
    for _ in range(rng.randrange(4, 10)):
        after = min((END - executed).days, span)
        day = executed + timedelta(days=rng.randrange(0, after)) if rng.random() < 0.75 and after > 0 \
            else START + timedelta(days=rng.randrange(0, span))
        origin = rng.choice(ORIGINS)
        keep = rng.choice([None, None, 45, 120, 400])
        found += [(day, origin, keep)] * rng.randrange(3, 12)
    return sorted(found, key=lambda one: one[0])


def world() -> program_extraction.ProgramDeps:
    from chalicelib.adapters.memory_audit import MemoryAuditLog
    from chalicelib.adapters.memory_program import MemoryProgram
    from chalicelib.adapters.memory_program_store import LocalSigner, MemoryProgramMedia, MemoryProgramStore
    from chalicelib.domain.models import Page
    from tests.fakes import FixedClock, MemorySubmissions, make_deps

    class Submissions(MemorySubmissions):
        """The unit tests' fake, listing one agency's items from an index and without deep copies
        (its list walks and copies every agency's items: quadratic over a thousand agencies)."""

        def __init__(self, log: MemoryAuditLog) -> None:
            super().__init__(log)
            self.ids: dict[str, list[str]] = defaultdict(list)  # each agency's submission ids

        def open_submission(self, submission: Submission, *, event: Any = None) -> None:
            super().open_submission(submission, event=event)
            self.ids[submission.agency_id].append(submission.submission_id)

        def list_submissions(self, agency_id: str, *, case_ref: str | None, limit: int, cursor: str | None) -> Page:
            held = (self.items.get((agency_id, sid)) for sid in sorted(self.ids[agency_id]))
            mine = [s for s in held if s is not None]
            return Page(items=mine, next_cursor=None) if case_ref is None else super().list_submissions(
                agency_id, case_ref=case_ref, limit=limit, cursor=cursor)

    class Program(MemoryProgram):
        """The unit tests' fake, with each agency's records indexed: its lists walk every agency's
        records, which made a thousand agencies' daily runs quadratic."""

        def __init__(self, log: MemoryAuditLog) -> None:
            super().__init__(log)
            self.keys: dict[tuple[str, str], list[Any]] = defaultdict(list)

        def _file(self, agency_id: str, kind: str, key: Any) -> None:
            self.keys[(agency_id, kind)].append(key)

        def add_contract(self, contract: rules.Contract, *, event: Any) -> None:
            super().add_contract(contract, event=event)
            self._file(contract.agency_id, "contract", (contract.agency_id, contract.contract_id))

        def end_contract(self, contract: rules.Contract, withdrawal: Any, *, event: Any) -> None:
            super().end_contract(contract, withdrawal, event=event)
            if withdrawal is not None:
                self._file(withdrawal.agency_id, "withdrawal", withdrawal.request_id)

        def add_acceptance(self, acceptance: rules.Acceptance, *, event: Any) -> None:
            super().add_acceptance(acceptance, event=event)
            self._file(acceptance.agency_id, "acceptance", acceptance.acceptance_id)

        def add_withdrawal(self, withdrawal: rules.WithdrawalRequest, *, event: Any) -> None:
            super().add_withdrawal(withdrawal, event=event)
            self._file(withdrawal.agency_id, "withdrawal", withdrawal.request_id)

        def add_removal(self, removal: rules.RemovalRequest, *, event: Any) -> None:
            super().add_removal(removal, event=event)
            self._file(removal.agency_id, "removal", removal.request_id)

        def contracts(self, agency_id: str) -> list[rules.Contract]:
            return [self.contracts_by[k] for k in sorted(self.keys[(agency_id, "contract")])]

        def acceptances(self, agency_id: str) -> list[rules.Acceptance]:
            return [self.accepted[k] for k in sorted(self.keys[(agency_id, "acceptance")])]

        def withdrawals(self, agency_id: str) -> list[rules.WithdrawalRequest]:
            return [self.withdrawn[k] for k in sorted(self.keys[(agency_id, "withdrawal")])]

        def removals(self, agency_id: str) -> list[rules.RemovalRequest]:
            return [self.removed[k] for k in sorted(self.keys[(agency_id, "removal")])]

    audit = MemoryAuditLog()
    base = make_deps(FixedClock(datetime.combine(START, datetime.min.time(), tzinfo=timezone.utc)), audit=audit,
                     submissions=Submissions(audit), program=Program(audit))
    return program_extraction.ProgramDeps(base=base, store=MemoryProgramStore(base.program),  # type: ignore[arg-type]
                                          media=MemoryProgramMedia(), signer=LocalSigner())


def at(day: date, hour: int) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=timezone.utc) + timedelta(hours=hour)


def admin(agency_id: str) -> Principal:
    return Principal(agency_id=agency_id, role=Role.AGENCY_ADMIN, key_id=f"admin-{agency_id}")


def run(count: int, seed: int = 7, start: date = START, end: date = END) -> dict[str, Any]:
    deps, started = world(), time.perf_counter()
    base, everyone = deps.base, plans(count, seed)
    base.clock.at = at(start, 8)  # type: ignore[attr-defined]
    terms = program_operator.publish_terms(OPERATOR, PublishTerms(version="t2-v1", document="Tier 2 terms"),
                                           deps=base)
    for plan in everyone:
        base.agencies.create_agency(Agency(agency_id=plan.agency_id, name=plan.agency_id, country=plan.country,
                                           created_at=at(start, 0)))
    use_cases: dict[str, str] = {}
    day = start
    while day <= end:
        base.clock.at = at(day, 9)  # type: ignore[attr-defined]
        _operator_day(day, use_cases, deps)
        for plan in everyone:
            _agency_day(plan, day, terms, deps)
        base.clock.at = at(day, 23)  # type: ignore[attr-defined]
        retention.sweep(deps=base)
        program_deletion.run(deps=deps)
        program_extraction.extract_all(deps=deps)
        day += timedelta(days=1)
    return _report(deps, everyone, time.perf_counter() - started)


def _operator_day(day: date, use_cases: dict[str, str], deps: program_extraction.ProgramDeps) -> None:
    base = deps.base
    for title, technique, tier, announced, edited, retired in USE_CASES:
        body = UseCaseBody(title=title, purpose="improve the product", data_types=["image"], technique=technique,
                           retention="1 year", tier=tier)  # type: ignore[arg-type]
        if day == announced:
            use_cases[title] = program_operator.create_use_case(OPERATOR, body, deps=base).use_case_id
            program_operator.announce_use_case(OPERATOR, use_cases[title], deps=base)
        if title not in use_cases:
            continue
        if day == edited:  # a material edit: a new notice while the version before keeps applying
            program_operator.edit_use_case(OPERATOR, use_cases[title], body.model_copy(
                update={"data_types": ["image", "video"]}), deps=base)
            program_operator.announce_use_case(OPERATOR, use_cases[title], deps=base)
        if day == retired:
            program_operator.retire_use_case(OPERATOR, use_cases[title], deps=base)
        with contextlib.suppress(DomainError):  # nothing announced, or its notice still runs
            program_operator.activate_use_case(OPERATOR, use_cases[title], deps=base)


def _agency_day(plan: Plan, day: date, terms: rules.TermsVersion, deps: program_extraction.ProgramDeps) -> None:
    base, me = deps.base, admin(plan.agency_id)
    for executed in (plan.executed, plan.rejoin_on):
        if day == executed:
            base.program.add_contract(rules.Contract(
                contract_id=f"c-{plan.agency_id}-{day}", agency_id=plan.agency_id, country=plan.country,
                executed_on=day, includes_program_terms=plan.with_terms, recorded_at=base.clock.now(),
                recorded_by="time-travel"), event=_event(plan.agency_id, deps, "program.contract_recorded"))
    for n, (when, origin, keep) in enumerate(plan.items):
        if when == day:
            plan.made.append(_item(plan, n, origin, keep, deps))
    actions = [(plan.tier_2_on, lambda: program.accept_tier_2(me, terms.version, terms.sha256, deps=base)),
               (plan.withdraw_on, lambda: program.withdraw(me, deps=base)),
               (plan.contract_end_on, lambda: _end_contract(plan, day, deps)),
               (plan.removal_on, lambda: _removal(plan, deps))]
    for when, act in actions:
        if when == day:
            with contextlib.suppress(DomainError):  # not a participant, already withdrawing...
                act()


def _item(plan: Plan, n: int, origin: Origin, keep: int | None, deps: program_extraction.ProgramDeps) -> str:
    base, now = deps.base, deps.base.clock.now()
    key = f"agencies/{plan.agency_id}/s{n}/f{n}"
    version = base.blobs.put(key, JPEG, "image/jpeg")  # type: ignore[attr-defined]
    file = EvidenceFile(file_id=f"f{n}", name=f"IMG_{n}.jpg", size=len(JPEG) * (n + 1), content_type="image/jpeg",
                        caption=f"at 12 Main St ({n})", key=key, status=FileStatus.VERIFIED, declared_at=now,
                        sha256=f"{n:064x}", version_id=version, detected_type="image/jpeg")
    until = now + timedelta(days=keep) if keep else None
    base.submissions.open_submission(Submission(
        submission_id=f"s{n}", agency_id=plan.agency_id, origin=origin, link_id=f"l{n}", case_ref=f"CASE-{n % 3}",
        status=SubmissionStatus.SUBMITTED, created_at=now, submitted_at=now, files={file.file_id: file},
        retain_until=until, sweep_day=until.date() if until else None))
    return f"s{n}"


def _end_contract(plan: Plan, day: date, deps: program_extraction.ProgramDeps) -> None:
    contract = deps.base.program.contracts(plan.agency_id)[-1]
    program_operator.end_contract(OPERATOR, plan.agency_id, contract.contract_id, EndContract(ended_on=day),
                                  deps=deps.base)


def _removal(plan: Plan, deps: program_extraction.ProgramDeps) -> None:
    held = [s for s in plan.made if deps.base.submissions.get_submission(plan.agency_id, s) is not None]
    if held:
        program.request_removal(admin(plan.agency_id), held[:2], None, deps=deps.base)


def _event(agency_id: str, deps: program_extraction.ProgramDeps, action: str) -> Any:
    from chalicelib.services import custody

    return custody.event(agency_id, deps=deps.base, actor="time-travel", action=action, target="program")


# --- what is proved -------------------------------------------------------------------------------

def _report(deps: program_extraction.ProgramDeps, everyone: list[Plan], seconds: float) -> dict[str, Any]:
    base, store = deps.base, deps.store
    now = base.clock.now()
    lineages = list(store.lineages.values())  # type: ignore[attr-defined]
    early = sum(1 for lin in lineages if _outside_window(lin, deps))
    excluded = sum(1 for lin in lineages if _excluded(lin, deps, now))
    requests = [r for p in everyone for r in (*base.program.withdrawals(p.agency_id),
                                              *base.program.removals(p.agency_id)) if r.requested_at <= now]
    late = sum(1 for r in requests if (r.done_at or now) - r.requested_at > PROMISE)
    found = list(store.receipts.values())  # type: ignore[attr-defined]
    key = deps.signer.public_key_der()
    verifying = sum(1 for r in found if receipt_verify.verify(r, key) is None)
    forgeries = [f for r in found for f in tampered(r)]
    detected = sum(1 for f in forgeries if receipt_verify.verify(f, key) is not None)
    made = sum(1 for p in everyone for e in base.audit.entries(p.agency_id) if e.action == "program.artifact_created")
    return {"agencies": len(everyone), "days": (END - START).days + 1, "artifacts_made": made,
            "artifacts_held": len(lineages), "requests": len(requests), "receipts": len(found),
            "extractions_before_effective": early, "excluded_in_storage": excluded, "requests_done_late": late,
            "receipts_verifying_pct": 100.0 * verifying / len(found) if found else 100.0,
            "tampered_detected_pct": 100.0 * detected / len(forgeries) if forgeries else 100.0,
            "tampered": len(forgeries), "seconds": round(seconds, 1)}


def _outside_window(lin: Any, deps: program_extraction.ProgramDeps) -> bool:
    versions = {v.version: v for v in deps.base.program.use_case_versions(lin.use_case_id)}
    version = versions[lin.use_case_version]
    effective = version.effective_on
    return (effective is None or lin.created_at.date() < effective
            or (version.retired_at is not None and lin.created_at > version.retired_at))


def _excluded(lin: Any, deps: program_extraction.ProgramDeps, now: datetime) -> bool:
    """Whether the program still holds something it must not: from a non-capture, deleted or
    removed item, or of an agency that withdrew before its withdrawal was done. The rules are
    written out here, apart from the code under test (domain/program_eligibility.py), so a fault
    there cannot hide itself."""
    base = deps.base
    for source in lin.sources:
        agency_id, submission_id = source.split("/", 1)
        item = base.submissions.get_submission(agency_id, submission_id)
        if item is None or item.origin is not Origin.AGENCY_CAPTURE:
            return True
        for removal in base.program.removals(agency_id):
            named = submission_id in removal.submission_ids or removal.case_ref == item.case_ref
            if removal.requested_at <= now and named:
                return True
        if any(w.requested_at <= now and lin.created_at <= (w.done_at or now)  # made before it, or while open
               for w in base.program.withdrawals(agency_id)):
            return True
    return False


def tampered(receipt: receipts.Receipt) -> list[receipts.Receipt]:
    """Every kind of change a forger could make: altered, missing and reordered entries, another
    agency, and (for an empty receipt) an entry added."""
    entries, forged = receipt.entries, [receipt.model_copy(update={"agency_id": receipt.agency_id + "x"})]
    if entries:
        forged.append(receipt.model_copy(update={"entries": [entries[0].model_copy(
            update={"content_sha256": "0" * 64})] + entries[1:]}))
        forged.append(receipt.model_copy(update={"entries": entries[1:]}))
    if len(entries) > 1:
        forged.append(receipt.model_copy(update={"entries": [entries[1], entries[0], *entries[2:]]}))
    if not entries:
        extra = receipts.chain([receipts.Deleted(store="s", key="k", content_sha256="0" * 64,
                                                 deleted_at=receipt.completed_at)])
        forged.append(receipt.model_copy(update={"entries": extra, "head_hash": extra[-1].hash}))
    return forged


def render(result: dict[str, Any]) -> str:
    return "\n".join([
        f"agencies {result['agencies']}  days {result['days']}  artifacts made {result['artifacts_made']}  "
        f"held {result['artifacts_held']}  "
        f"requests {result['requests']}  receipts {result['receipts']}  ({result['seconds']} s)",
        f"extractions before effective date   {result['extractions_before_effective']}",
        f"excluded items in program storage   {result['excluded_in_storage']}",
        f"requests done after due date        {result['requests_done_late']}",
        f"receipts verifying                  {result['receipts_verifying_pct']:.0f}%",
        f"tampered receipts detected          {result['tampered_detected_pct']:.0f}% of {result['tampered']}"])


def holds(result: dict[str, Any]) -> bool:
    return (result["extractions_before_effective"] == 0 and result["excluded_in_storage"] == 0
            and result["requests_done_late"] == 0 and result["receipts_verifying_pct"] == 100.0
            and result["tampered_detected_pct"] == 100.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--agencies", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--check", action="store_true", help="exit 1 unless every figure holds")
    args = parser.parse_args(argv)
    result = run(args.agencies, args.seed)
    print(render(result))
    return 0 if holds(result) or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
