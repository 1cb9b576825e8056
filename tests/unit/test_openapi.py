"""The OpenAPI 3.1 document is generated from the routes Chalice registers: every route is in it and
nothing else, it is a valid 3.1 document, request bodies are the pydantic models the handlers parse
with, errors are {code, message}, agency and operator routes need a bearer key and public ones none.
A route whose body the document cannot describe fails here with what to add."""
from __future__ import annotations

import json

import pytest
from chalice.app import Chalice
from openapi_spec_validator import validate
from pydantic import BaseModel

import app as application
from chalicelib import openapi
from chalicelib.api.common import body, documented, params
from chalicelib.http import STATUS, handled, json_response, parse


@pytest.fixture(scope="module")
def doc() -> dict:
    return openapi.document(application.app)


def registered() -> set[tuple[str, str]]:
    return {(path, method) for path, methods in application.app.routes.items() for method in methods}


def test_every_route_chalice_registers_is_in_the_document_and_nothing_else(doc):
    documented_ = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    assert registered() - documented_ == set(), "routes missing from the OpenAPI document"
    assert documented_ - registered() == set(), "the document lists routes the app does not have"


def test_the_document_is_valid_openapi_3_1(doc):
    assert doc["openapi"] == "3.1.0"
    validate(doc)  # raises on any violation of the 3.1 schema, a broken $ref included
    json.dumps(doc)  # and it is plain JSON


def test_every_route_that_reads_a_body_names_its_model():
    assert openapi.undocumented(application.app) == []


def test_every_route_declares_its_response_model_or_its_page_media_type():
    missing = sorted(openapi.without_response_model(application.app))
    assert missing == [], "declare @documented(response=Model) or, for a page, media= (chalicelib/api/common.py)"


def test_no_json_answer_is_documented_as_just_an_object(doc):
    """Every 2xx JSON answer names its model; only pages and static files are documented without one."""
    vague = sorted(f"{method.upper()} {path} {status}" for path, ops in doc["paths"].items()
                   for method, op in ops.items() for status, answer in op["responses"].items()
                   if status.startswith("2") and not {"$ref", "anyOf"} & set(answer["content"].get(
                       "application/json", {"schema": {"$ref": "page"}})["schema"]))
    assert vague == []


def test_a_page_that_answers_json_when_asked_documents_both(doc):
    content = doc["paths"]["/transparency"]["get"]["responses"]["200"]["content"]
    assert content["text/html"] == {"schema": {"type": "string"}}
    assert content["application/json"] == {"schema": {"$ref": "#/components/schemas/Transparency"}}
    assert set(doc["paths"]["/access"]["get"]["responses"]["200"]["content"]) == {"text/html"}


def test_a_model_named_by_path_is_imported_when_the_document_is_built_not_before(doc):
    ok = doc["paths"]["/agency/exports/{export_id}"]["get"]["responses"]["200"]["content"]["application/json"]
    assert ok == {"schema": {"$ref": "#/components/schemas/ExportBody"}}
    assert "cursor" not in doc["components"]["schemas"]["ExportBody"]["properties"]


def test_request_bodies_are_the_models_the_handlers_parse(doc):
    def body_ref(path: str, method: str) -> str:
        return doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]["$ref"]

    assert body_ref("/agency/citizen-links", "post") == "#/components/schemas/CreateCitizenLink"
    assert body_ref("/agency/keys", "post") == "#/components/schemas/IssueKey"  # keys.IssueKey
    assert body_ref("/agency/exports", "post") == "#/components/schemas/StartExport"  # imported in the handler
    assert "requestBody" not in doc["paths"]["/agency/settings"]["get"]
    schema = doc["components"]["schemas"]["CreateCitizenLink"]
    assert schema["type"] == "object" and "case_ref" in schema["properties"]


def test_every_ref_points_at_a_component(doc):
    text = json.dumps(doc)
    refs = {part.split('"')[0] for part in text.split('"$ref": "#/components/schemas/')[1:]}
    assert refs and refs <= set(doc["components"]["schemas"])


def test_query_parameters_are_read_from_the_handler(doc):
    params = {p["name"]: p["schema"] for p in doc["paths"]["/agency/audit"]["get"]["parameters"]}
    assert params["limit"] == {"type": "integer", "minimum": 0}
    assert params["since"] == {"type": "string", "format": "date-time"}
    assert params["target"] == {"type": "string"}


def test_errors_are_code_and_message_for_every_status_of_the_status_table(doc):
    responses = doc["paths"]["/agency/citizen-links"]["post"]["responses"]
    assert "201" in responses and "200" not in responses
    for status in set(STATUS.values()) | {401, 500}:
        schema = responses[str(status)]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/Error"}
    assert doc["components"]["schemas"]["Error"]["required"] == ["code", "message"]


def test_agency_and_operator_routes_need_a_bearer_key_and_public_routes_none(doc):
    assert doc["components"]["securitySchemes"]["agencyKey"] == {
        **doc["components"]["securitySchemes"]["agencyKey"], "type": "http", "scheme": "bearer"}
    for path in ("/agency/submissions", "/operator/agencies", "/operator/program/use-cases"):
        assert doc["paths"][path]["get"]["security"] == [{"agencyKey": []}]
    for path, method in (("/c/{token}/session", "get"), ("/access-requests", "post"), ("/openapi.json", "get"),
                         ("/agency/capture", "get")):
        assert doc["paths"][path][method]["security"] == []
        assert "401" not in doc["paths"][path][method]["responses"]


def test_pages_are_documented_as_html_and_static_files_as_any_type(doc):
    assert "text/html" in doc["paths"]["/c/{token}"]["get"]["responses"]["200"]["content"]
    assert doc["paths"]["/static/{name}"]["get"]["responses"]["200"]["content"] == {"*/*": {"schema": {}}}
    assert "application/json" in doc["paths"]["/c/{token}/session"]["get"]["responses"]["200"]["content"]


class Ping(BaseModel):
    note: str


class Pong(BaseModel):
    seen: int


def small_app() -> Chalice:
    made = Chalice(app_name="probe")

    @made.route("/raw", methods=["POST"])
    @handled
    def reads_raw_body() -> object:
        return json_response({"size": len(body())})

    @made.route("/ping", methods=["POST"])
    @documented(response=Pong, statuses=(202,))
    @handled
    def ping() -> object:
        return json_response({"seen": len(parse(Ping, body()).note)}, status=202)

    @made.route("/helped", methods=["POST"])
    @handled
    def parses_through_a_helper() -> object:
        return _created(_input(Ping))

    return made


def _input(model: type[BaseModel]) -> BaseModel:
    return parse(model, body())


def _created(data: object) -> object:
    query = params()
    return json_response({"data": str(data), "page": query.get("page")}, status=201)


def test_a_handler_read_through_its_own_helpers_documents_their_body_query_and_status():
    op = openapi.document(small_app())["paths"]["/helped"]["post"]
    assert op["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Ping"}
    assert [p["name"] for p in op["parameters"]] == ["page"]
    assert [s for s in op["responses"] if s.startswith("2")] == ["201"]


def test_a_route_whose_body_has_no_model_is_listed_with_what_to_add():
    [problem] = openapi.undocumented(small_app())
    assert problem.startswith("POST /raw: declare models for reads_raw_body in tests.unit.test_openapi")


def test_a_declared_response_model_and_status_are_in_the_document():
    doc = openapi.document(small_app())
    validate(doc)
    pong = doc["paths"]["/ping"]["post"]["responses"]["202"]["content"]["application/json"]["schema"]
    assert pong == {"$ref": "#/components/schemas/Pong"}
    assert doc["components"]["schemas"]["Pong"]["required"] == ["seen"]
    assert openapi.without_response_model(small_app()) == {"POST /raw", "POST /helped"}  # /ping declares Pong


def test_get_openapi_json_serves_the_document_publicly_and_cacheably(doc):
    from chalice.test import Client

    with Client(application.app) as client:
        response = client.http.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert json.loads(response.body) == doc


def test_a_model_whose_request_and_answer_schemas_differ_has_a_component_for_each(doc):
    """One component per (model, use): two models of one name, or a model's request and answer forms,
    never overwrite each other."""
    from chalicelib.domain.portals import PortalCaps

    schemas = doc["components"]["schemas"]
    for mode, suffix in (("validation", "Input"), ("serialization", "Output")):
        made = PortalCaps.model_json_schema(mode=mode, schema_generator=openapi.AnswerSchema)
        assert schemas[f"PortalCaps-{suffix}"].get("required", []) == made.get("required", [])
    assert schemas["PortalCaps-Input"] != schemas["PortalCaps-Output"]


def test_every_field_an_answer_always_holds_is_required_and_one_left_out_when_empty_is_not(doc):
    key = doc["components"]["schemas"]["IssuedKey"]
    assert {"last_used_at", "revoked_at", "key"} <= set(key["required"])  # null, but always there
    assert "replaces" in key["properties"] and "replaces" not in key["required"]  # only on a rotation


def test_the_notice_run_report_model_has_a_count_for_every_delivery_outcome():
    from chalicelib.domain.program_notices import Delivery
    from chalicelib.services.program_notices import NoticeRun

    assert set(NoticeRun.model_fields) == {"notices", "done_before"} | {d.value for d in Delivery}


def test_an_answer_of_several_shapes_is_any_of_their_models(doc):
    def answer(path: str) -> dict:
        return doc["paths"][path]["get" if "shared" in path else "post"]["responses"]["200"]["content"][
            "application/json"]["schema"]

    assert answer("/agency/shared/{share_id}/submissions/{submission_id}") == {"anyOf": [
        {"$ref": "#/components/schemas/SharedSubmission"}, {"$ref": "#/components/schemas/DeletedShared"}]}
    assert answer("/operator/program/use-cases/{use_case_id}/{step}") == {"anyOf": [
        {"$ref": "#/components/schemas/UseCaseVersion"}, {"$ref": "#/components/schemas/RetiredVersions"}]}
