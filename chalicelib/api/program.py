"""The improvement program, the agency's side: `GET /agency/program` (officers and admins read) and
the admin's changes: accept Tier 2 terms, withdraw, ask for content to be taken out. Rules in
docs/PROGRAM.md; each change commits its audit event (services/program.py)."""
from __future__ import annotations

import json

from chalice.app import Blueprint, Response

from .. import bootstrap
from ..domain import program as rules
from ..domain.errors import NotFound
from ..domain.program_commands import AcceptTier2, RequestRemoval, RequestWithdrawal
from ..domain.receipts import Receipt, ReceiptId
from ..http import handled, json_response, parse
from ..services import program as service
from .common import agency_key, body, caller, documented

program_api = Blueprint(__name__)


@program_api.route("/agency/program", methods=["GET"], authorizer=agency_key)
@documented(response=service.ProgramView)
@handled
def view_program() -> Response:
    return json_response(service.view(caller(), deps=bootstrap.deps()))  # built with ProgramView


@program_api.route("/agency/program/tier2", methods=["POST"], authorizer=agency_key)
@documented(response=rules.Acceptance)
@handled
def accept_tier_2() -> Response:
    deps, principal = bootstrap.deps(), caller()
    service.require_admin(principal, deps)  # operator keys and officers are refused before the body is read
    cmd = parse(AcceptTier2, body())
    made = service.accept_tier_2(principal, cmd.terms_version, cmd.sha256, deps=deps)
    return json_response(made.model_dump(mode="json"), status=201)


@program_api.route("/agency/program/withdrawal", methods=["POST"], authorizer=agency_key)
@documented(response=service.WithdrawalView, statuses=(201,))
@handled
def withdraw() -> Response:
    deps, principal = bootstrap.deps(), caller()
    service.require_admin(principal, deps)
    parse(RequestWithdrawal, body())
    made = service.withdraw(principal, deps=deps)
    return json_response(service.request_view(made, deps.clock.now().date()), status=201)


@program_api.route("/agency/program/removals", methods=["POST"], authorizer=agency_key)
@documented(response=service.RemovalView, statuses=(201,))
@handled
def request_removal() -> Response:
    deps, principal = bootstrap.deps(), caller()
    service.require_admin(principal, deps)
    cmd = parse(RequestRemoval, body())
    made = service.request_removal(principal, cmd.submission_ids, cmd.case_ref, deps=deps)
    return json_response(service.request_view(made, deps.clock.now().date()), status=201)


@program_api.route("/agency/program/receipts/{receipt_id}", methods=["GET"], authorizer=agency_key)
@documented(response=Receipt)  # and public_key_der_b64, the key that verifies it
@handled
def deletion_receipt(receipt_id: str) -> Response:
    """A signed deletion receipt of the caller's agency, with the public key that verifies it;
    another agency's receipt is not found, as is an id that is not one."""
    from ..services import access, program_deletion

    deps, principal = bootstrap.deps(), caller()
    access.allow(principal, access.Capability.READ, deps=deps)
    receipt_id = parse(ReceiptId, json.dumps({"receipt_id": receipt_id}).encode()).receipt_id
    program = bootstrap.program_deps()
    found = program_deletion.get_receipt(principal.agency_id, receipt_id, deps=program)
    if found is None:
        raise NotFound("No receipt has that id.", code="receipt_not_found")
    return json_response(found.model_dump(mode="json") | {
        "public_key_der_b64": program_deletion.public_key_b64(program)})
