"""`./dev cli program-extract / program-delete / program-receipt / program-verify-receipt` over the
memory world: the runs are the services', an undeclared technique is refused, and the verifier
passes an intact receipt with the public key alone and fails on an altered, missing or reordered
entry."""
from __future__ import annotations

import argparse
import json
from datetime import timedelta

import pytest

from chalicelib import bootstrap, cli, cli_program
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.models import OPERATOR_AGENCY, Principal, Role
from chalicelib.domain.program import Tier
from chalicelib.services import program
from tests.program_worlds import T0, item, join, signer, store_item, use_case, world

OP = Principal(agency_id=OPERATOR_AGENCY, role=Role.OPERATOR, key_id=cli.OPERATOR_CLI)


@pytest.fixture
def program_world():
    deps = world(T0)
    join(deps, "a1", tier_2=True)
    for n in range(6):
        store_item(deps, item("a1", n))
    use_case(deps, "stripped_media_copy", tier=Tier.TIER_2)
    deps.base.clock.at = T0 + timedelta(days=8)
    bootstrap.use_program(deps)
    yield deps
    bootstrap.use_program(None)


def run(deps, *argv):
    parser = argparse.ArgumentParser()
    cli_program.add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return cli.OPERATIONS[args.command](args, OP, deps.base)


def test_extract_delete_then_verify_a_receipt_and_catch_every_tampering(program_world, tmp_path):
    deps = program_world
    with pytest.raises(InvalidInput):
        run(deps, "program-extract", "uc1", "--technique", "aggregate_counts")
    assert run(deps, "program-extract", "uc1")["created"] == 6
    request = program.withdraw(Principal(agency_id="a1", role=Role.AGENCY_ADMIN, key_id="adm"), deps=deps.base)
    assert [r["outcome"] for r in run(deps, "program-delete")["requests"]] == ["done"]
    shown = run(deps, "program-receipt", request.request_id)
    key = tmp_path / "public.der"
    key.write_bytes(signer().public_key_der())
    good = tmp_path / "receipt.json"
    good.write_text(json.dumps(shown))
    assert run(deps, "program-verify-receipt", str(good), "--public-key", str(key))["verified"] is True
    assert run(deps, "program-verify-receipt", str(good))["verified"] is True  # key read from the signer
    entries = shown["entries"]
    changes = {"altered": [{**entries[0], "key": "program/other"}, *entries[1:]], "missing": entries[1:],
               "reordered": [entries[1], entries[0], *entries[2:]]}
    for name, changed in changes.items():
        bad = tmp_path / f"{name}.json"
        bad.write_text(json.dumps(shown | {"entries": changed}))
        with pytest.raises(InvalidInput):
            run(deps, "program-verify-receipt", str(bad), "--public-key", str(key))
