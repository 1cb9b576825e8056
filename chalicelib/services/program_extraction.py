"""Extraction runs of the improvement program: for one active use case, every participant's
eligible content (domain/program_eligibility.py is the only way in), through the declared
technique, into the program's own store and bucket, each artifact with its lineage. Scheduled
daily for every active use case, and on demand (`./dev cli program-extract`). Idempotent: an
artifact's id is fixed by its slot, so a second run finds it and adds nothing. A retired or not yet
effective use case, or a technique the use case did not declare, is refused and the refusal audited."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from .. import media_strip
from ..domain import deidentify, lineage
from ..domain import program_eligibility as elig
from ..domain import program_use_cases as uc
from ..domain.errors import Conflict, DomainError, InvalidInput, NotFound
from ..domain.models import OPERATOR_AGENCY, Agency, Submission
from ..domain.program import Participation, ParticipationState, RemovalRequest
from ..domain.program_ports import ProgramMedia, ProgramStore, Signer
from . import custody
from . import program as agency_program
from .deps import Deps

log = logging.getLogger(__name__)

SYSTEM = "system:program_extraction"
Participant = tuple[Agency, Participation, tuple[RemovalRequest, ...]]
SOURCE_CHECK_DAYS = 7  # a source item is looked at again at least this often (retention may delete it)


@dataclass(frozen=True)
class ProgramDeps:
    """Deps for part 2: the agency-side world, plus the program's own store, bucket and key."""

    base: Deps
    store: ProgramStore
    media: ProgramMedia
    signer: Signer


def check_run(versions: list[uc.UseCaseVersion], technique: str | None, today: date) -> tuple[
        uc.UseCaseVersion, deidentify.Technique]:
    """The version and technique a run may use, or the reason it may not (a domain error)."""
    if not versions:
        raise NotFound("No use case has that id.", code="use_case_unknown")
    version = uc.applying(versions)
    if all(v.state is uc.UseCaseState.RETIRED for v in versions):
        raise Conflict("The use case is retired.", code="use_case_retired")
    if version is None or version.effective_on is None or today < version.effective_on:
        raise Conflict("The use case is not in effect yet (no version active).", code="not_yet_effective")
    try:
        declared = deidentify.Technique(version.technique)
    except ValueError:
        raise InvalidInput(f"The use case declares an unknown technique ({version.technique}).",
                           code="technique_unknown") from None
    if technique is not None and technique != declared.value:
        raise InvalidInput("The use case did not declare that technique.", code="technique_not_declared",
                           details={"declared": declared.value})
    if not version.tier.includes(declared.tier):
        raise InvalidInput("The declared technique needs a higher tier than the use case's.",
                           code="technique_above_tier")
    return version, declared


def extract(use_case_id: str, *, deps: ProgramDeps, technique: str | None = None, k: int = deidentify.MIN_K,
            actor: str = SYSTEM, participants: list[Participant] | None = None,
            as_of: datetime | None = None) -> dict[str, Any]:
    """One run for one use case; returns counts. Refusals are audited in the operator's log, then raised.
    `participants`: the agencies taking part, when the caller already read them (a daily run reads
    every agency's participation once, not once per use case), at `as_of`: the run acts as of that
    moment, so a removal or withdrawal made since is undone after the write, never missed."""
    base, now = deps.base, as_of or deps.base.clock.now()
    try:
        deidentify.check_k(k)
        version, declared = check_run(base.program.use_case_versions(use_case_id), technique, now.date())
    except DomainError as refused:
        base.audit.record(custody.event(OPERATOR_AGENCY, deps=base, actor=actor, action="program.extraction_refused",
                                        target=f"use_case:{use_case_id}", outcome="refused",
                                        details={"code": refused.code, "technique": technique, "k": k}))
        raise
    report: dict[str, Any] = {"use_case_id": use_case_id, "version": version.version, "agencies": 0, "created": 0,
                              "existing": 0}
    for agency, current, removals in participants if participants is not None else _participants(base):
        scope = elig.Scope(participation=current, version=version, now=now, removals=removals)
        if elig.agency_exclusion(scope) is not None:
            continue
        report["agencies"] += 1
        taken = elig.eligible(_items(agency.agency_id, base), scope)
        for created in _extract_agency(agency, taken, version, declared, k, deps, now, actor):
            report["created" if created else "existing"] += 1
    return report


class ExtractionFailed(RuntimeError):
    """Some use cases failed on an unexpected error; the others ran (their report is in the message)."""


def extract_all(*, deps: ProgramDeps) -> dict[str, Any]:
    """The daily schedule: every use case with an applying version. A refusal does not stop the rest,
    nor does an unexpected error: that one is logged and, once the others have run, raised, so the
    schedule's run fails visibly (its error alarm) and tomorrow's run tries it again."""
    runs: dict[str, Any] = {}
    failed: list[str] = []
    read_at: datetime | None = None
    participants: list[Participant] | None = None
    for use_case_id in sorted({v.use_case_id for v in deps.base.program.all_use_case_versions()}):
        versions = deps.base.program.use_case_versions(use_case_id)
        if uc.applying(versions) is None:
            continue
        if participants is None:
            read_at = deps.base.clock.now()
            participants = list(_participants(deps.base))
        try:
            runs[use_case_id] = extract(use_case_id, deps=deps, participants=participants, as_of=read_at)
        except DomainError as refused:
            runs[use_case_id] = {"refused": refused.code}
        except Exception:  # noqa: BLE001 - one use case's fault must not starve the others
            log.exception("extraction failed", extra={"use_case_id": use_case_id})
            failed.append(use_case_id)
            runs[use_case_id] = {"failed": True}
    if failed:
        raise ExtractionFailed(f"use cases {failed} failed; the others ran: {runs}")
    return runs


def _participants(base: Deps) -> Iterator[Participant]:
    """Every agency taking part now, with its participation and removal requests; the others are
    excluded from every use case whatever its version, so their removals are not read."""
    for agency in _agencies(base):
        current = agency_program.participation(agency.agency_id, deps=base)
        if current.state is ParticipationState.ACTIVE:
            yield agency, current, tuple(base.program.removals(agency.agency_id))


def _agencies(base: Deps) -> Iterator[Agency]:
    cursor = None
    while True:
        page = base.agencies.list_agencies(limit=100, cursor=cursor)
        yield from page.items
        cursor = page.next_cursor
        if not cursor:
            return


def _items(agency_id: str, base: Deps) -> Iterator[Submission]:
    cursor = None
    while True:
        page = base.submissions.list_submissions(agency_id, case_ref=None, limit=100, cursor=cursor)
        yield from page.items
        cursor = page.next_cursor
        if not cursor:
            return


def _extract_agency(agency: Agency, taken: list[Submission], version: uc.UseCaseVersion,
                    technique: deidentify.Technique, k: int, deps: ProgramDeps, now: datetime,
                    actor: str) -> Iterator[bool]:
    if technique is deidentify.Technique.STRIPPED_MEDIA_COPY:
        yield from _copy_media(agency, taken, version, technique, deps, now, actor)
        return
    this_week = deidentify.iso_week(now)
    by_week: dict[str, list[Submission]] = {}
    for item in taken:
        assert item.submitted_at is not None
        by_week.setdefault(deidentify.iso_week(item.submitted_at), []).append(item)
    for week, items in sorted(by_week.items()):
        if week >= this_week:  # only closed weeks: a week's artifact is made once and never grows
            continue
        place = lineage.slot(version.use_case_id, version.version, technique.value, agency.agency_id, week)
        if deps.store.get_lineage(lineage.artifact_id(place)) is not None:
            yield False
            continue
        rows = deidentify.tier_1_output(technique, items, agency.country, k)
        if rows:
            yield _save(place, items, version, technique, deps, now, actor, records=rows)


def _copy_media(agency: Agency, taken: list[Submission], version: uc.UseCaseVersion,
                technique: deidentify.Technique, deps: ProgramDeps, now: datetime, actor: str) -> Iterator[bool]:
    for item in taken:
        for file in item.files.values():
            place = lineage.slot(version.use_case_id, version.version, technique.value, agency.agency_id,
                                 f"{item.submission_id}/{file.file_id}")
            kind = file.detected_type or file.content_type  # detected at ingest; else what was declared
            if not media_strip.strippable(kind, file.size):  # video is never read, let alone copied
                continue
            if deps.store.get_lineage(lineage.artifact_id(place)) is not None:
                yield False
                continue
            stripped = media_strip.strip(b"".join(deps.base.blobs.iter_chunks(file.key, file.version_id)))
            if stripped is None:  # video and unknown formats are not copied (docs/PROGRAM.md)
                continue
            yield _save(place, [item], version, technique, deps, now, actor, data=stripped,
                        content_type=kind)


def media_key(artifact_id: str) -> str:
    """Fixed by the artifact id, so a deletion finds the object even if its lineage was never written."""
    return f"program/{artifact_id}"


def _save(place: str, items: list[Submission], version: uc.UseCaseVersion, technique: deidentify.Technique,
          deps: ProgramDeps, now: datetime, actor: str, *, records: list[dict[str, Any]] | None = None,
          data: bytes | None = None, content_type: str = "") -> bool:
    aid = lineage.artifact_id(place)
    agency_id = items[0].agency_id
    sources = sorted(elig.source_ref(i.agency_id, i.submission_id) for i in items)
    made = lineage.Lineage(artifact_id=aid, use_case_id=version.use_case_id, use_case_version=version.version,
                           technique=technique.value, agency_ids=[agency_id], sources=sources, created_at=now,
                           content_sha256=lineage.content_hash(records, data), slot=place,
                           media_key=media_key(aid) if data is not None else None)
    for item in items:  # filed first: a crash below leaves the source watched, never a copy unwatched
        deps.store.file_source(elig.source_ref(item.agency_id, item.submission_id), check_on(item, now))
    if data is not None:
        deps.media.put(media_key(aid), data, content_type)
    event = custody.event(agency_id, deps=deps.base, actor=actor, action="program.artifact_created",
                          target=f"program_artifact:{aid}",
                          details={"use_case_id": version.use_case_id, "version": version.version,
                                   "technique": technique.value, "sources": len(sources)})
    try:
        written = deps.store.put_artifact(made, lineage.Artifact(artifact_id=aid, records=records or []),
                                          event=event)
    except Conflict:  # a concurrent run wrote it first
        return False
    from . import program_deletion  # imported here: it builds on this module

    return written and not program_deletion.undo_if_requested_since(made, since=now, deps=deps)


def check_on(item: Submission, now: datetime) -> date:
    """When to look at a source item again: its retention date, and at least weekly."""
    soon = now.date() + timedelta(days=SOURCE_CHECK_DAYS)
    return min(item.retain_until.date(), soon) if item.retain_until else soon
