"""Deletion enforcement and signed receipts (services/program_deletion.py, domain/receipts.py,
receipt_verify.py) over the memory world."""
from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib import receipt_verify
from chalicelib.domain import lineage, receipts
from chalicelib.domain.models import Principal, Role
from chalicelib.domain.program import Tier
from chalicelib.services import program, program_deletion, program_extraction
from tests.program_worlds import T0, item, join, signer, store_item, use_case, world

LATER = T0 + timedelta(days=8)
ADMIN = Principal(agency_id="a1", role=Role.AGENCY_ADMIN, key_id="k-admin")


def extracted(technique: str = "stripped_media_copy"):
    deps = world(T0)
    for agency in ("a1", "a2"):
        join(deps, agency, tier_2=True)
        for n in range(6):
            store_item(deps, item(agency, n, case_ref=f"CASE-{n % 2}"))
    use_case(deps, technique, tier=Tier.TIER_2)
    deps.base.clock.at = LATER
    program_extraction.extract("uc1", deps=deps)
    return deps


def of(deps, agency_id: str) -> set[str]:
    return {a for a, lin in deps.store.lineages.items() if agency_id in lin.agency_ids}


def test_a_withdrawal_deletes_everything_of_the_agency_on_the_first_run_with_a_receipt() -> None:
    deps = extracted()
    theirs = of(deps, "a1")
    request = program.withdraw(ADMIN, deps=deps.base)
    deps.base.clock.advance(days=1)
    report = program_deletion.run(deps=deps)
    assert [r["outcome"] for r in report["requests"]] == ["done"] and report["open"] == 0
    assert of(deps, "a1") == set() and len(of(deps, "a2")) == 6
    assert not any(f"program/{a}" in deps.media.versions for a in theirs)
    receipt = deps.store.receipts[request.request_id]
    assert len(receipt.entries) == 6 * 3 and receipt_verify.verify(receipt, signer().public_key_der()) is None
    assert {e.key for e in receipt.entries} >= {f"program/{a}" for a in theirs}
    assert deps.base.program.withdrawn[request.request_id].done_at is not None
    assert program_deletion.run(deps=deps)["requests"] == []  # done: no longer on the due index


def with_descendants(deps) -> None:
    """A child of a1/s0's copy, and a grandchild: reached only through their parents' lineage."""
    parent = next(iter(a for a, lin in deps.store.lineages.items() if lin.sources == ["a1/s0"]))
    child = deps.store.lineages[parent].model_copy(update={"artifact_id": "child", "sources": [], "parents": [parent],
                                                           "agency_ids": [], "media_key": None})
    grandchild = child.model_copy(update={"artifact_id": "grandchild", "parents": ["child"]})
    for made in (child, grandchild):
        deps.store.put_artifact(made, lineage.Artifact(artifact_id=made.artifact_id),
                                event=program_deletion.custody.event("a1", deps=deps.base, actor="t", action="t",
                                                                     target=made.artifact_id))


def test_a_request_done_in_this_run_is_not_reported_open_though_the_index_still_lists_it() -> None:
    """The due index is an eventually consistent GSI: just after completion it may still list the
    request, which must not raise the near-due alarm."""
    deps = extracted()
    program.withdraw(ADMIN, deps=deps.base)
    deps.base.clock.advance(days=25)  # within NEAR_DUE_DAYS of its due day
    stale = list(deps.base.program.open_requests())
    deps.base.program.open_requests = lambda: iter(stale)  # type: ignore[method-assign]
    report = program_deletion.run(deps=deps)
    assert [r["outcome"] for r in report["requests"]] == ["done"]
    assert (report["open"], report["near_due_not_done"]) == (0, [])


def test_a_removal_deletes_what_derives_from_the_items_transitively() -> None:
    deps = extracted()
    with_descendants(deps)
    program.request_removal(ADMIN, [], "CASE-0", deps=deps.base)
    program_deletion.run(deps=deps)
    left = {lin.sources[0] for lin in deps.store.lineages.values() if lin.sources}
    assert left == {"a1/s1", "a1/s3", "a1/s5"} | {f"a2/s{n}" for n in range(6)}
    assert "child" not in deps.store.lineages and "grandchild" not in deps.store.lineages
    again = program_extraction.extract("uc1", deps=deps)
    assert again["created"] == 0  # the removed items are never taken again


def test_retentions_deletion_is_followed_by_the_programs_copies() -> None:
    deps = extracted("aggregate_counts")
    assert len(of(deps, "a1")) == 1
    del deps.base.submissions.items[("a1", "s2")]  # retention deleted it (tombstoned)
    deps.base.clock.advance(days=7)
    report = program_deletion.run(deps=deps)
    assert report["retention_followed"] == 1 and of(deps, "a1") == set()
    receipt = deps.store.receipts["retention-a1-s2"]
    assert receipt.kind is receipts.ReceiptKind.RETENTION and len(receipt.entries) == 2
    assert receipt_verify.verify(receipt, signer().public_key_der()) is None


def test_the_run_killed_at_any_step_and_rerun_finishes_with_one_receipt() -> None:
    calls = _count_calls()
    for at in range(1, calls + 1):
        deps = extracted()
        request = program.withdraw(ADMIN, deps=deps.base)
        _kill_at(deps, at)
        with pytest.raises(KilledHere):
            program_deletion.run(deps=deps)
        _kill_at(deps, None)
        program_deletion.run(deps=deps)
        receipt = deps.store.receipts[request.request_id]
        assert of(deps, "a1") == set() and len(receipt.entries) == 18, at
        assert receipt_verify.verify(receipt, signer().public_key_der()) is None


def test_a_removal_killed_at_any_step_and_rerun_still_reaches_every_descendant() -> None:
    """Children are deleted before their parents: a parent deleted first takes with it the lookup a
    rerun would follow to reach them."""
    def removal():
        deps = extracted()
        with_descendants(deps)
        return deps, program.request_removal(ADMIN, [], "CASE-0", deps=deps.base)
    deps, _ = removal()
    counter = _kill_at(deps, None)
    program_deletion.run(deps=deps)
    for at in range(1, counter["n"] + 1):
        deps, request = removal()
        _kill_at(deps, at)
        with pytest.raises(KilledHere):
            program_deletion.run(deps=deps)
        _kill_at(deps, None)
        program_deletion.run(deps=deps)
        assert not {"child", "grandchild"} & set(deps.store.lineages), f"killed at call {at}"
        receipted = {e.key for e in deps.store.receipts[request.request_id].entries}
        assert {deps.store.content_key("child"), deps.store.content_key("grandchild")} <= receipted, at


class KilledHere(BaseException):
    pass


def _kill_at(deps, at: int | None) -> dict[str, int]:
    """Kill the run at the store's or bucket's call number `at` (None: never); returns the counter."""
    counter = {"n": 0}

    def wrap(obj, name):
        original = getattr(type(obj), name)

        def call(*args, **kwargs):
            counter["n"] += 1
            if at is not None and counter["n"] == at:
                raise KilledHere(name)
            return original(obj, *args, **kwargs)
        setattr(obj, name, call)

    for name in ("get_lineage", "journal_add", "journal", "delete_artifact", "complete", "artifacts_of_agency",
                 "children", "sources_due", "file_source", "drop_source", "artifacts_of_source"):
        wrap(deps.store, name)
    wrap(deps.media, "delete_all_versions")
    return counter


def _count_calls() -> int:
    deps = extracted()
    program.withdraw(ADMIN, deps=deps.base)
    counter = _kill_at(deps, None)
    program_deletion.run(deps=deps)
    assert counter["n"] > 6 * 5  # every artifact's steps, then the completion
    return counter["n"]


def test_every_kind_of_tampering_fails_verification() -> None:
    deps = extracted()
    request = program.withdraw(ADMIN, deps=deps.base)
    program_deletion.run(deps=deps)
    good = deps.store.receipts[request.request_id]
    key = signer().public_key_der()
    entries = good.entries
    altered = entries[1].model_copy(update={"content_sha256": "f" * 64})
    tampered = {
        "altered": good.model_copy(update={"entries": [entries[0], altered, *entries[2:]]}),
        "missing": good.model_copy(update={"entries": entries[:3] + entries[4:]}),
        "reordered": good.model_copy(update={"entries": [entries[1], entries[0], *entries[2:]]}),
        "truncated": good.model_copy(update={"entries": entries[:-1], "head_hash": entries[-2].hash}),
        "rechained": _rechained(good, entries[:-1]),
        "other agency": good.model_copy(update={"agency_id": "a2"}),
        "bad signature": good.model_copy(update={"signature": "AAAA"}),
    }
    for name, receipt in tampered.items():
        assert receipt_verify.verify(receipt, key) is not None, name
    assert receipt_verify.verify(good, key) is None


def _rechained(good: receipts.Receipt, entries: list[receipts.ChainedEntry]) -> receipts.Receipt:
    """A forger who drops an entry and rebuilds the whole chain still cannot sign its new head."""
    plain = [receipts.Deleted(**e.model_dump(include=set(receipts.Deleted.model_fields))) for e in entries]
    chained = receipts.chain(plain)
    return good.model_copy(update={"entries": chained, "head_hash": chained[-1].hash})


def test_another_agencys_receipt_is_not_found() -> None:
    deps = extracted()
    request = program.withdraw(ADMIN, deps=deps.base)
    program_deletion.run(deps=deps)
    assert program_deletion.get_receipt("a1", request.request_id, deps=deps) is not None
    assert program_deletion.get_receipt("a2", request.request_id, deps=deps) is None


def test_a_request_enforced_while_an_extraction_was_writing_still_takes_what_it_wrote() -> None:
    """The extraction read its scope, then the agency withdrew and the deletion run finished before
    the extraction's write landed: the extraction undoes its own write, with a receipt of its own."""
    deps = world(T0)
    join(deps, "a1", tier_2=True)
    for n in range(6):
        store_item(deps, item("a1", n))
    use_case(deps, "aggregate_counts", tier=Tier.TIER_1)
    deps.base.clock.at = LATER
    write = deps.store.put_artifact
    raced: list[str] = []

    def withdraw_then_write(made, artifact, *, event):
        if not raced:
            deps.base.clock.advance(minutes=5)
            raced.append(program.withdraw(ADMIN, deps=deps.base).request_id)
            program_deletion.run(deps=deps)  # finds nothing yet: done with an empty receipt
        return write(made, artifact, event=event)

    deps.store.put_artifact = withdraw_then_write
    assert program_extraction.extract("uc1", deps=deps)["created"] == 0
    assert of(deps, "a1") == set() and deps.store.receipts[raced[0]].entries == []
    (late,) = [r for rid, r in deps.store.receipts.items() if rid.startswith(f"{raced[0]}-late-")]
    assert len(late.entries) == 2 and receipt_verify.verify(late, signer().public_key_der()) is None
