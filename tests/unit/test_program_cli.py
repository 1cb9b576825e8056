"""`./dev cli program-...` parses and runs the operator's program services (over the in-memory fakes,
a fixed clock): a contract, terms from a file hashed here, a use case from JSON announced and
refused activation on day 29, activated on day 30, the requests listing."""
from __future__ import annotations

import argparse
import json
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib import cli, cli_program
from chalicelib.domain.errors import Conflict
from chalicelib.domain.models import OPERATOR_AGENCY, Principal, Role
from chalicelib.domain.program import terms_hash

NOW = datetime(2021, 9, 1, 12, tzinfo=timezone.utc)
OP = Principal(agency_id=OPERATOR_AGENCY, role=Role.OPERATOR, key_id=cli.OPERATOR_CLI)


def run(deps, *argv):
    parser = argparse.ArgumentParser()
    cli_program.add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return cli.OPERATIONS[args.command](args, OP, deps)


def test_the_program_commands_run_the_operator_services(deps, agency, tmp_path):
    deps.clock.at = NOW
    made = run(deps, "program-contract", agency.agency_id, "--executed", "2021-05-01", "--contract-id", "MSA-1")
    assert (made.contract_id, made.includes_program_terms) == ("MSA-1", True)
    document = tmp_path / "terms.txt"
    document.write_text("Terms <b>v1</b>", encoding="utf-8")
    terms = run(deps, "program-publish-terms", "t2-v1", str(document), "--deletion-days", "20")
    assert (terms.sha256, terms.deletion_days) == (terms_hash("Terms <b>v1</b>"), 20)
    spec = tmp_path / "use_case.json"
    spec.write_text(json.dumps({"title": "T", "purpose": "P", "data_types": ["image"], "technique": "aggregation",
                                "retention": "30 days"}))
    use_case = run(deps, "program-create-use-case", str(spec)).use_case_id
    assert run(deps, "program-announce", use_case).effective_on.isoformat() == "2021-10-01"
    deps.clock.at = NOW + timedelta(days=29)
    with pytest.raises(Conflict) as refused:  # the CLI prints its message and exits 1
        run(deps, "program-activate", use_case)
    assert refused.value.code == "notice_period_running"
    deps.clock.at = NOW + timedelta(days=30)
    assert run(deps, "program-activate", use_case).state.value == "active"
    ended = run(deps, "program-end-contract", agency.agency_id, "MSA-1", "2021-10-01")
    assert ended["withdrawal"]["reason"] == "contract_end"
    assert [r["kind"] for r in run(deps, "program-requests")] == ["WithdrawalRequest"]
    assert run(deps, "program-retire-terms", "t2-v1").retired_at is not None
    assert run(deps, "program-retire-use-case", use_case)[0]["state"] == "retired"
    assert run(deps, "program-use-cases")[0]["applying"] is None
