"""The improvement program, the operator's side (`/operator/program/...`): contracts and their ends,
terms versions, use cases, open requests by due date. Operator keys only, checked before the body
is read; each change commits its audit event (services/program_operator.py)."""
from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from .. import bootstrap
from ..domain.program import Contract, ProgramRules, TermsVersion
from ..domain.program_commands import EndContract, PublishTerms, RecordContract, UseCaseBody
from ..domain.program_notices import SetProgramRules
from ..domain.program_use_cases import UseCaseVersion
from ..http import handled, int_param, json_response, parse
from ..services import program_feedback, program_notices
from ..services import program_operator as service
from ..services.program import OpenRequests
from ..services.program_feedback import FeedbackPage
from ..services.program_notices import NoticeRun
from ..services.program_operator import ContractEnded, RetiredVersions, UseCaseList
from .common import agency_key, body, documented, page_base, params
from .operator import operator

program_operator_api = Blueprint(__name__)
BASE = "/operator/program"


def _dump(model: Any) -> dict[str, Any]:
    data: dict[str, Any] = model.model_dump(mode="json")
    return data


@program_operator_api.route(BASE + "/agencies/{agency_id}/contracts", methods=["POST"], authorizer=agency_key)
@documented(response=Contract)
@handled
def record_contract(agency_id: str) -> Response:
    me = operator(agency_id)
    made = service.record_contract(me, agency_id, parse(RecordContract, body()), deps=bootstrap.deps())
    return json_response(_dump(made), status=201)


@program_operator_api.route(BASE + "/agencies/{agency_id}/contracts/{contract_id}/end", methods=["POST"],
                            authorizer=agency_key)
@documented(response=ContractEnded)
@handled
def end_contract(agency_id: str, contract_id: str) -> Response:
    me = operator(agency_id)
    ended, withdrawal = service.end_contract(me, agency_id, contract_id, parse(EndContract, body()),
                                             deps=bootstrap.deps())
    return json_response(ContractEnded(contract=ended, withdrawal=withdrawal))


@program_operator_api.route(BASE + "/terms", methods=["POST"], authorizer=agency_key)
@documented(response=TermsVersion)
@handled
def publish_terms() -> Response:
    me = operator()
    made = service.publish_terms(me, parse(PublishTerms, body()), deps=bootstrap.deps())
    return json_response(_dump(made), status=201)


@program_operator_api.route(BASE + "/terms/{version}/retire", methods=["POST"], authorizer=agency_key)
@documented(response=TermsVersion)
@handled
def retire_terms(version: str) -> Response:
    return json_response(_dump(service.retire_terms(operator(), version, deps=bootstrap.deps())))


@program_operator_api.route(BASE + "/use-cases", methods=["GET"], authorizer=agency_key)
@documented(response=UseCaseList)
@handled
def list_use_cases() -> Response:
    found = service.list_use_cases(operator(), deps=bootstrap.deps())
    return json_response(UseCaseList.model_validate({"items": found}))


@program_operator_api.route(BASE + "/use-cases", methods=["POST"], authorizer=agency_key)
@documented(response=UseCaseVersion)
@handled
def create_use_case() -> Response:
    me = operator()
    made = service.create_use_case(me, parse(UseCaseBody, body()), deps=bootstrap.deps())
    return json_response(_dump(made), status=201)


@program_operator_api.route(BASE + "/use-cases/{use_case_id}", methods=["PUT"], authorizer=agency_key)
@documented(response=UseCaseVersion)
@handled
def edit_use_case(use_case_id: str) -> Response:
    me = operator()
    made = service.edit_use_case(me, use_case_id, parse(UseCaseBody, body()), deps=bootstrap.deps())
    return json_response(_dump(made), status=201)


@program_operator_api.route(BASE + "/use-cases/{use_case_id}/{step}", methods=["POST"], authorizer=agency_key)
@documented(response=(UseCaseVersion, RetiredVersions))  # retire answers every version it retired
@handled
def move_use_case(use_case_id: str, step: str) -> Response:
    """announce, activate (refused before its effective day: 409 notice_period_running) or retire."""
    from ..domain.errors import NotFound

    me, deps = operator(), bootstrap.deps()
    if step == "announce":
        return json_response(service.announce_use_case(me, use_case_id, deps=deps))
    if step == "activate":
        return json_response(service.activate_use_case(me, use_case_id, deps=deps))
    if step == "retire":
        return json_response(RetiredVersions(items=service.retire_use_case(me, use_case_id, deps=deps)))
    raise NotFound("Use cases are announced, activated or retired.", code="not_found")


@program_operator_api.route(BASE + "/requests", methods=["GET"], authorizer=agency_key)
@documented(response=OpenRequests)
@handled
def list_requests() -> Response:
    found = service.open_requests(operator(), deps=bootstrap.deps())
    return json_response(OpenRequests.model_validate({"items": found}))


@program_operator_api.route(BASE + "/settings", methods=["GET"], authorizer=agency_key)
@documented(response=ProgramRules)
@handled
def get_settings() -> Response:
    return json_response(_dump(service.get_rules(operator(), deps=bootstrap.deps())))


@program_operator_api.route(BASE + "/settings", methods=["PUT"], authorizer=agency_key)
@documented(response=ProgramRules)
@handled
def set_settings() -> Response:
    """terms_from and notice_days (never under 30: 400 notice_too_short); audited."""
    me = operator()
    return json_response(_dump(service.set_rules(me, parse(SetProgramRules, body()), deps=bootstrap.deps())))


@program_operator_api.route(BASE + "/feedback", methods=["GET"], authorizer=agency_key)
@documented(response=FeedbackPage)
@handled
def list_feedback() -> Response:
    """The public's feedback from the transparency page, newest first (`limit`, `cursor`)."""
    me, query = operator(), params()
    return json_response(program_feedback.list_feedback(me, limit=int_param(query, "limit", 50),
                                                        cursor=query.get("cursor"),
                                                        deps=bootstrap.deps()))  # built with FeedbackPage


@program_operator_api.route(BASE + "/notices/run", methods=["POST"], authorizer=agency_key)
@documented(response=NoticeRun)
@handled
def run_notices() -> Response:
    """The daily change-notice run, now (what is already sent is not sent again)."""
    operator()
    return json_response(NoticeRun.model_validate(program_notices.run(page_base(), deps=bootstrap.deps())))
