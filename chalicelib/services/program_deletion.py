"""Deletion enforcement for the improvement program: every open withdrawal or removal request,
found through the due-date index (never a scan), on the first run after it was made; and every
program copy of a source item the agency's retention deleted. Everything found and everything
derived from it, transitively, is deleted from the program's store and every version of its
objects in the program's bucket, then a signed, hash-chained receipt is recorded with the request
marked done and its audit event, in one write.

Killed anywhere and run again, it finishes: what is about to be deleted is journalled first
(once; a rerun keeps the first entry), each delete is repeatable, lineage goes last (so a rerun
still finds the artifact), and the receipt is built only from the journal once nothing is left."""
from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from enum import Enum
from typing import Any

from ..domain import lineage, receipts
from ..domain import program as rules
from ..domain.errors import Conflict
from ..domain.program_eligibility import source_ref
from . import custody
from .program_extraction import ProgramDeps, check_on, media_key

SYSTEM = "system:program_deletion"
NEAR_DUE_DAYS = 7  # the alarm fires for a request this close to its due date and not done


class Outcome(str, Enum):
    DONE = "done"
    ALREADY_DONE = "already_done"  # a concurrent run finished it first


def run(*, deps: ProgramDeps) -> dict[str, Any]:
    """The daily schedule (and `./dev cli program-delete`): open requests, then retention's deletions."""
    now = deps.base.clock.now()
    done = [enforce(r, deps=deps, now=now) for r in list(deps.base.program.open_requests()) if r.requested_at <= now]
    followed = follow_retention(deps=deps, now=now)
    finished = {d["request_id"] for d in done}  # the due index is read eventually: it may still list these
    left = [r for r in deps.base.program.open_requests() if r.requested_at <= now and r.request_id not in finished]
    near = [r.request_id for r in left if rules.days_left(deletion_due(r), now.date()) <= NEAR_DUE_DAYS]
    return {"requests": done, "retention_followed": followed, "open": len(left), "near_due_not_done": near}


def enforce(request: rules.WithdrawalRequest | rules.RemovalRequest, *, deps: ProgramDeps,
            now: datetime) -> dict[str, Any]:
    kind = _kind(request)
    roots = deps.store.artifacts_of_agency(request.agency_id) if isinstance(request, rules.WithdrawalRequest) \
        else _of_sources(request, deps)
    deleted = _delete_all(request.request_id, roots, deps, now)
    outcome = _complete(request.request_id, request.agency_id, kind, request.requested_at, request, deps, now)
    return {"request_id": request.request_id, "agency_id": request.agency_id, "kind": kind.value,
            "artifacts": deleted, "outcome": outcome.value,
            "days_left": rules.days_left(deletion_due(request), now.date())}


def deletion_due(request: rules.WithdrawalRequest | rules.RemovalRequest) -> date:
    """The day by which the program's copies must be gone: a withdrawal's terms may set it earlier
    than the day the agency is out."""
    if isinstance(request, rules.WithdrawalRequest):
        return min(request.due_on, request.deletion_due_on)
    return request.due_on


def follow_retention(*, deps: ProgramDeps, now: datetime) -> int:
    """Source items due for a look: gone or past retention -> the program's copies go too (with a
    receipt); still kept -> looked at again later."""
    followed = 0
    for source in list(deps.store.sources_due(now.date())):
        agency_id, submission_id = source.split("/", 1)
        item = deps.base.submissions.get_submission(agency_id, submission_id)
        if item is not None and not (item.retain_until and item.retain_until <= now):
            if next(deps.store.artifacts_of_source(source), None) is None:  # its copies already went
                deps.store.drop_source(source)
            else:
                deps.store.file_source(source, check_on(item, now))
            continue
        receipt_id = f"retention-{agency_id}-{submission_id}"
        _delete_all(receipt_id, deps.store.artifacts_of_source(source), deps, now)
        _complete(receipt_id, agency_id, receipts.ReceiptKind.RETENTION, now, None, deps, now)
        deps.store.drop_source(source)
        followed += 1
    return followed


def _of_sources(request: rules.RemovalRequest, deps: ProgramDeps) -> Iterator[str]:
    ids = list(request.submission_ids)
    if request.case_ref is not None:
        cursor = None
        while True:
            page = deps.base.submissions.list_submissions(request.agency_id, case_ref=request.case_ref, limit=100,
                                                          cursor=cursor)
            ids += [s.submission_id for s in page.items]
            cursor = page.next_cursor
            if not cursor:
                break
    for submission_id in ids:
        yield from deps.store.artifacts_of_source(source_ref(request.agency_id, submission_id))


def _delete_all(receipt_id: str, roots: Iterable[str], deps: ProgramDeps, now: datetime) -> int:
    targets = lineage.closure(roots, lambda aid: list(deps.store.children(aid)))
    for aid in reversed(targets):  # descendants first: a rerun after a crash reaches them through their parents
        _delete_one(receipt_id, aid, deps, now)
    return len(targets)


def _delete_one(receipt_id: str, aid: str, deps: ProgramDeps, now: datetime) -> None:
    store, found = deps.store, deps.store.get_lineage(aid)
    if found is not None:
        pieces = [(deps.media.name, found.media_key, found.content_sha256)] if found.media_key else []
        pieces += [(store.name, store.content_key(aid), found.content_sha256),
                   (store.name, store.lineage_key(aid), lineage.content_hash([found.model_dump(mode="json")]))]
        for n, (where, key, sha) in enumerate(pieces):
            store.journal_add(receipt_id, f"{aid}#{n}", receipts.Deleted(store=where, key=key, content_sha256=sha,
                                                                          deleted_at=now))
    deps.media.delete_all_versions(media_key(aid))  # even without lineage: a copy written before a crash
    store.delete_artifact(aid, found)


def _complete(receipt_id: str, agency_id: str, kind: receipts.ReceiptKind, requested_at: datetime,
              request: rules.WithdrawalRequest | rules.RemovalRequest | None, deps: ProgramDeps,
              now: datetime) -> Outcome:
    entries = receipts.chain(deps.store.journal(receipt_id))
    receipt = receipts.Receipt(receipt_id=receipt_id, agency_id=agency_id, kind=kind, requested_at=requested_at,
                               completed_at=now, entries=entries,
                               head_hash=entries[-1].hash if entries else receipts.GENESIS)
    signature, key_id, algorithm = deps.signer.sign(receipts.signed_message(receipt))
    signed = receipt.model_copy(update={"signature": signature, "key_id": key_id, "algorithm": algorithm})
    event = custody.event(agency_id, deps=deps.base, actor=SYSTEM, action="program.deletion_done",
                          target=f"program_request:{receipt_id}",
                          details={"kind": kind.value, "entries": len(entries), "head_hash": signed.head_hash})
    try:
        deps.store.complete(signed, request, event=event)
    except Conflict:
        return Outcome.ALREADY_DONE
    return Outcome.DONE


def undo_if_requested_since(made: lineage.Lineage, *, since: datetime, deps: ProgramDeps) -> bool:
    """After an extraction wrote `made` from a scope read at `since`: a withdrawal or removal made
    meanwhile may already have been enforced without it (the write landed after). Then it is
    deleted now, under that request; if the request is already done, with a receipt of its own
    (`<request id>-late-<artifact>`). True if it was undone."""
    base, now = deps.base, deps.base.clock.now()
    for agency_id in made.agency_ids:
        late: list[rules.WithdrawalRequest | rules.RemovalRequest] = [
            *base.program.withdrawals(agency_id), *base.program.removals(agency_id)]
        for request in sorted(late, key=lambda r: r.requested_at):
            if request.requested_at > since and _covers(request, made, deps):
                late_id = f"{request.request_id}-late-{made.artifact_id[:16]}"
                _delete_all(late_id if request.done_at else request.request_id, [made.artifact_id], deps, now)
                if request.done_at is not None:
                    _complete(late_id, agency_id, _kind(request), request.requested_at, None, deps, now)
                return True
    return False


def _covers(request: rules.WithdrawalRequest | rules.RemovalRequest, made: lineage.Lineage,
            deps: ProgramDeps) -> bool:
    if isinstance(request, rules.WithdrawalRequest):
        return True
    for source in made.sources:
        agency_id, submission_id = source.split("/", 1)
        item = deps.base.submissions.get_submission(agency_id, submission_id)
        if submission_id in request.submission_ids or (item is not None and item.case_ref == request.case_ref):
            return True
    return False


def _kind(request: rules.WithdrawalRequest | rules.RemovalRequest) -> receipts.ReceiptKind:
    return receipts.ReceiptKind.WITHDRAWAL if isinstance(request, rules.WithdrawalRequest) \
        else receipts.ReceiptKind.REMOVAL


def get_receipt(agency_id: str, receipt_id: str, *, deps: ProgramDeps) -> receipts.Receipt | None:
    """The agency's own receipt, or None (another agency's looks the same as none)."""
    found = deps.store.get_receipt(receipt_id)
    return found if found is not None and found.agency_id == agency_id else None


def public_key_b64(deps: ProgramDeps) -> str:
    """The receipt key's public half (DER, base64): all anyone needs to verify a receipt."""
    return base64.b64encode(deps.signer.public_key_der()).decode()
