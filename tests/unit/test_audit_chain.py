"""The audit hash chain: editing, removing or reordering entries is detected."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.domain import audit
from chalicelib.domain.models import AuditEntry

AGENCY = "01hq3v5k8m9n0p1q2r3s4t5v6w"
T0 = datetime(2024, 3, 1, 9, 30, tzinfo=timezone.utc)


def build_chain(length: int = 5) -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    for n in range(length):
        prev = (entries[-1].seq, entries[-1].hash) if entries else None
        entries.append(audit.next_entry(
            agency_id=AGENCY, prev=prev, at=T0 + timedelta(minutes=n), actor=f"key:k{n}",
            action="link.created", target=f"link:l{n}", details={"case_ref": f"CASE-{n}", "n": n},
        ))
    return entries


def rehash(entry: AuditEntry, **changes) -> AuditEntry:
    """An entry edited by someone who also recomputed its own hash."""
    fields = entry.model_dump(exclude={"hash"}) | changes
    return AuditEntry(**fields, hash=audit.entry_hash(**fields))


# --- building the chain ---------------------------------------------------------------------

def test_the_first_entry_has_seq_1_and_follows_the_genesis_hash():
    first = audit.next_entry(agency_id=AGENCY, prev=None, at=T0, actor="key:k1",
                             action="agency.created", target="agency:a")
    assert first.seq == 1
    assert first.prev_hash == audit.GENESIS == "0" * 64
    assert first.outcome == "success"
    assert first.details == {}
    assert len(first.hash) == 64 and int(first.hash, 16) >= 0


def test_each_next_entry_follows_the_one_before_it():
    chain = build_chain(5)
    assert [e.seq for e in chain] == [1, 2, 3, 4, 5]
    for before, after in zip(chain, chain[1:]):
        assert after.prev_hash == before.hash


def test_an_entry_hash_covers_its_own_fields_and_the_previous_hash():
    entry = build_chain(1)[0]
    assert entry.hash == audit.entry_hash(**entry.model_dump(exclude={"hash"}))


def test_every_entry_of_a_chain_has_a_distinct_hash():
    chain = build_chain(5)
    assert len({e.hash for e in chain}) == 5


def test_hashes_do_not_depend_on_the_key_order_of_details():
    a = audit.next_entry(agency_id=AGENCY, prev=None, at=T0, actor="system", action="x",
                         target="t", details={"a": 1, "b": {"y": 2, "x": 1}, "c": [1, 2]})
    b = audit.next_entry(agency_id=AGENCY, prev=None, at=T0, actor="system", action="x",
                         target="t", details={"c": [1, 2], "b": {"x": 1, "y": 2}, "a": 1})
    assert a.hash == b.hash


def test_hashes_are_deterministic():
    assert [e.hash for e in build_chain(3)] == [e.hash for e in build_chain(3)]


# --- verifying the chain --------------------------------------------------------------------

def test_an_intact_chain_has_no_problems():
    assert audit.verify_chain(build_chain(5)) == []


def test_an_empty_chain_has_no_problems():
    assert audit.verify_chain([]) == []


def test_a_chain_can_be_verified_from_any_iterable():
    assert audit.verify_chain(iter(build_chain(5))) == []


@pytest.mark.parametrize(("field", "value"), [
    ("actor", "key:someone-else"),
    ("action", "link.revoked"),
    ("target", "link:other"),
    ("outcome", "failure"),
    ("details", {"case_ref": "CASE-X", "n": 2}),
    ("details", {}),
    ("at", T0 + timedelta(minutes=2, seconds=1)),
    ("at", T0 + timedelta(minutes=2, microseconds=1)),
    ("agency_id", "01hq3v5k8m9n0p1q2r3s4t5v6x"),
])
def test_editing_any_field_of_an_entry_is_detected(field, value):
    chain = build_chain(5)
    chain[2] = chain[2].model_copy(update={field: value})
    assert audit.verify_chain(chain) == ["entry 3 was altered"]


def test_removing_a_middle_entry_is_detected():
    chain = build_chain(5)
    del chain[2]
    problems = audit.verify_chain(chain)
    assert "entry 3 is missing (found 4)" in problems
    assert "entry 4 does not follow the entry before it" in problems


def test_removing_the_first_entry_is_detected():
    chain = build_chain(5)[1:]
    problems = audit.verify_chain(chain)
    assert "entry 1 is missing (found 2)" in problems
    assert "entry 2 does not follow the entry before it" in problems


def test_swapping_two_entries_is_detected():
    chain = build_chain(5)
    chain[1], chain[2] = chain[2], chain[1]
    assert audit.verify_chain(chain) != []


def test_reversing_the_chain_is_detected():
    assert audit.verify_chain(list(reversed(build_chain(5)))) != []


def test_a_forged_entry_with_a_recomputed_hash_breaks_the_link_to_the_next_entry():
    chain = build_chain(5)
    chain[2] = rehash(chain[2], actor="key:forger")
    assert audit.verify_chain(chain) == ["entry 4 does not follow the entry before it"]


def test_renumbering_a_chain_after_removing_an_entry_is_detected():
    chain = build_chain(5)
    del chain[2]
    chain[2] = rehash(chain[2], seq=3)
    assert "entry 3 does not follow the entry before it" in audit.verify_chain(chain)


def test_inserting_an_entry_is_detected():
    chain = build_chain(5)
    intruder = audit.next_entry(agency_id=AGENCY, prev=(chain[1].seq, chain[1].hash),
                                at=T0 + timedelta(minutes=1, seconds=30), actor="key:forger",
                                action="link.created", target="link:fake")
    chain.insert(2, intruder)
    assert audit.verify_chain(chain) != []


def test_a_first_entry_that_does_not_start_from_genesis_is_detected():
    chain = build_chain(3)
    chain[0] = rehash(chain[0], prev_hash="f" * 64)
    assert "entry 1 does not follow the entry before it" in audit.verify_chain(chain)


def test_a_replaced_hash_is_detected():
    chain = build_chain(5)
    chain[4] = chain[4].model_copy(update={"hash": "a" * 64})
    assert audit.verify_chain(chain) == ["entry 5 was altered"]
