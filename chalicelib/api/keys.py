"""API keys: an agency admin lists, issues, revokes and rotates its agency's keys
(`/agency/keys`); an operator does the same for any agency (`/operator/agencies/{id}/keys`, and
`operator` as the id for operator keys). Secrets are returned once, when issued; listings show
neither a key nor its hash."""
from __future__ import annotations

from chalice.app import Blueprint, Response

from .. import bootstrap
from ..domain.models import ApiKey
from ..http import handled, json_response, parse
from ..services import keys
from .common import agency_key, body, caller, documented

keys_api = Blueprint(__name__)


def _issued(key: ApiKey, secret: str, replaces: ApiKey | None = None) -> Response:
    return json_response(keys.issued(key, secret, replaces), status=201)


def _listed(found: list[ApiKey]) -> Response:
    return json_response(keys.KeyList(items=[keys.KeyView.model_validate(k) for k in found]))


@keys_api.route("/agency/keys", methods=["GET"], authorizer=agency_key)
@documented(response=keys.KeyList)
@handled
def list_agency_keys() -> Response:
    return _listed(keys.list_keys(caller(), deps=bootstrap.deps()))


@keys_api.route("/agency/keys", methods=["POST"], authorizer=agency_key)
@documented(response=keys.IssuedKey, statuses=(201,))  # set by _issued
@handled
def issue_agency_key() -> Response:
    me = caller()
    keys.scope(me, None, deps=bootstrap.deps())  # refuse officers and operators before reading the body
    return _issued(*keys.issue(me, parse(keys.IssueKey, body()), deps=bootstrap.deps()))


@keys_api.route("/agency/keys/{key_id}", methods=["DELETE"], authorizer=agency_key)
@documented(response=keys.KeyView)
@handled
def revoke_agency_key(key_id: str) -> Response:
    return json_response(keys.KeyView.model_validate(keys.revoke(caller(), key_id, deps=bootstrap.deps())))


@keys_api.route("/agency/keys/{key_id}/rotate", methods=["POST"], authorizer=agency_key)
@documented(response=keys.IssuedKey, statuses=(201,))  # set by _issued
@handled
def rotate_agency_key(key_id: str) -> Response:
    old, new, secret = keys.rotate(caller(), key_id, deps=bootstrap.deps())
    return _issued(new, secret, replaces=old)


@keys_api.route("/operator/agencies/{agency_id}/keys", methods=["GET"], authorizer=agency_key)
@documented(response=keys.KeyList)
@handled
def list_keys_as_operator(agency_id: str) -> Response:
    return _listed(keys.list_keys(caller(), agency_id, deps=bootstrap.deps()))


@keys_api.route("/operator/agencies/{agency_id}/keys/{key_id}", methods=["DELETE"], authorizer=agency_key)
@documented(response=keys.KeyView)
@handled
def revoke_key_as_operator(agency_id: str, key_id: str) -> Response:
    return json_response(keys.KeyView.model_validate(keys.revoke(caller(), key_id, agency_id,
                                                                 deps=bootstrap.deps())))


@keys_api.route("/operator/agencies/{agency_id}/keys/{key_id}/rotate", methods=["POST"], authorizer=agency_key)
@documented(response=keys.IssuedKey, statuses=(201,))  # set by _issued
@handled
def rotate_key_as_operator(agency_id: str, key_id: str) -> Response:
    old, new, secret = keys.rotate(caller(), key_id, agency_id, deps=bootstrap.deps())
    return _issued(new, secret, replaces=old)
