"""Tenant isolation, enumerated from the routes Chalice registers (`app.routes`), so a route added
later is tried without anyone listing it. Over HTTP on the local stack:

- the demo agency (the victim) holds data of every kind the route table can make: submissions,
  citizen links, captures, shares (with a third agency), holds, exports, keys, program requests, and
  portals when their routes exist (a kind whose route is missing, or refused by the victim's
  licence, is skipped and printed);
- every keyed route with path parameters is called with every id of the victim's, as an officer
  and an admin of another agency, as the operator (agency routes only: operator routes are the
  operator's to use) and without a key: the answer is always 401, 403 or 404, never 2xx, never 5xx;
- every citizen route is called with link A's token and link B's ids: never 2xx, never 5xx.

A path parameter this file cannot map to a kind of id fails with what to add (PARAM_KINDS)."""
from __future__ import annotations

import re
from collections import defaultdict
from typing import Any
from urllib.parse import urlencode

import pytest
import requests

from tests.e2e.test_agency_review_api import sent
from tests.e2e.test_citizen_links_api import JPEG, create_link, declare
from tests.e2e.test_sharing_api import new_agency

pytestmark = pytest.mark.e2e

# Each path parameter -> the kind of the victim's ids it takes. `None`: not an id of an agency
# (a catalogue value shared by all), tried with the victim's ids of no kind but a neutral value.
PARAM_KINDS: dict[str, str | None] = {
    "submission_id": "submission", "link_id": "link", "capture_id": "capture", "share_id": "share",
    "case_ref": "case", "export_id": "export", "key_id": "key", "agency_id": "agency",
    "receipt_id": "receipt", "portal_id": "portal", "request_id": "access_request", "file_id": "file",
    "token": "token", "slug": "slug",
    "contract_id": None, "version": None, "use_case_id": None, "step": None, "country": None, "name": None,
}
NEUTRAL = {"contract_id": "c-1", "version": "v1", "use_case_id": "01HZZZZZZZZZZZZZZZZZZZZZZZ", "step": "announce",
           "country": "US", "name": "citizen.js"}
# Routes with no key that are not one agency's: the same for everyone, or the public's by design.
PUBLIC_BY_DESIGN = {"/static/{name}": "the page's script and styles",
                    "/p/{slug}": "a portal is the public front door of its agency",
                    "/p/{slug}/sessions": "anyone may open a portal session", "/p/{slug}/sms-link": "same"}
# Kinds of id the victim does not hold, with why their routes are covered without one.
NOT_BUILT = {"access_request": "operator routes only: every other role is refused by role, and an access "
                               "request belongs to no agency"}
ALLOWED = {401, 403, 404}
# A case reference is a name inside the caller's own agency, not an id: another agency may hold its
# own case of the same name (2xx), as long as nothing of the victim's comes back.
OWN_NAMESPACE = {"case_ref"}
# A valid body where the route reads one, so the answer shows the id check, not the body check.
FILES = {"files": [{"name": "x.jpg", "size": 10, "content_type": "image/jpeg"}]}
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/agency/captures/{capture_id}/files"): FILES,
    ("PUT", "/agency/holds/cases/{case_ref}"): {"reason": "isolation matrix"},
    ("PUT", "/agency/submissions/{submission_id}/hold"): {"reason": "isolation matrix"},
    ("POST", "/agency/submissions/{submission_id}/review"): {"decision": "accept"},
    ("PATCH", "/agency/portals/{portal_id}"): {"title": "Taken over"},
}


@pytest.fixture(scope="module")
def app_routes() -> dict[str, dict[str, Any]]:
    import app

    routes: dict[str, dict[str, Any]] = app.app.routes
    return routes


def _try(session: requests.Session, method: str, url: str, body: Any = None) -> requests.Response | None:
    try:
        return session.request(method, url, json=body, timeout=30)
    except requests.RequestException:
        return None


@pytest.fixture(scope="module")
def world(stack, app_routes) -> dict[str, Any]:
    """The victim's ids by kind, built through the API; kinds whose route is missing are skipped."""
    victim_admin, victim = stack.agency(stack.admin_key), stack.agency()
    api = stack.api_url
    ids: dict[str, set[str]] = defaultdict(set)
    skipped: list[str] = []
    ids["agency"].add(stack.agency_id)

    def build(kind: str, path: str, method: str, call: Any) -> None:
        if path not in app_routes or method not in app_routes[path]:
            skipped.append(f"{kind} (no {method} {path})")
            return
        call()  # a failure here fails the matrix: a kind not built would be tried with made-up ids only

    def submission() -> None:
        sid = sent(stack, case_ref="ISO-CASE-1")
        ids["submission"].add(sid)
        ids["link"].add(sid)
        ids["case"].add("ISO-CASE-1")
        stack.wait_for(lambda: victim.get(f"{api}/agency/submissions/{sid}").json()["files"][0].get("sha256"),
                       timeout=30, what="the victim's file check")
        ids["file"] |= {f["file_id"] for f in victim.get(f"{api}/agency/submissions/{sid}").json()["files"]}

    def link() -> None:
        made = create_link(stack, case_ref="ISO-CASE-2")
        ids["link"].add(made["link_id"])
        ids["submission"].add(made["link_id"])
        ids["token"].add(made["url"].rsplit("/", 1)[1])
        declared = declare(made["url"], {"name": "b.jpg", "size": len(JPEG), "content_type": "image/jpeg"})
        ids["file"] |= {u["file_id"] for u in declared.json()["uploads"]}

    def capture() -> None:
        made = victim.post(f"{api}/agency/captures", json={"case_ref": "ISO-CASE-3", "files": [
            {"name": "c.jpg", "size": 10, "content_type": "image/jpeg"}]})
        assert made.status_code == 201, made.text
        ids["capture"].add(made.json()["capture_id"])
        ids["submission"].add(made.json()["capture_id"])

    def share() -> None:
        third_id, _ = new_agency("Isolation Third PD")
        made = victim_admin.post(f"{api}/agency/shares", json={"recipient_agency_id": third_id,
                                                                "case_ref": "ISO-CASE-1"})
        assert made.status_code == 201, made.text
        ids["share"].add(made.json()["share_id"])

    def hold() -> None:
        made = victim_admin.put(f"{api}/agency/holds/cases/ISO-CASE-4", json={"reason": "isolation matrix"})
        assert made.status_code in (200, 201), made.text
        ids["case"].add("ISO-CASE-4")

    def export() -> None:
        made = victim.post(f"{api}/agency/exports", json={"case_ref": "ISO-CASE-1",
                                                           "target": {"type": "download_links"}})
        assert made.status_code == 201, made.text
        ids["export"].add(made.json()["export_id"])

    def key() -> None:
        made = victim_admin.post(f"{api}/agency/keys", json={"role": "officer", "label": "isolation"})
        assert made.status_code == 201, made.text
        ids["key"].add(made.json()["key_id"])

    def removal() -> None:
        from chalicelib import bootstrap
        from chalicelib.services import program_deletion

        made = victim_admin.post(f"{api}/agency/program/removals", json={"case_ref": "ISO-CASE-1"})
        assert made.status_code == 201, made.text
        request_id = made.json()["request_id"]
        request = next(r for r in bootstrap.deps().program.open_requests() if r.request_id == request_id)
        done = program_deletion.enforce(request, deps=bootstrap.program_deps(), now=bootstrap.deps().clock.now())
        assert done["outcome"] == "done", done  # the receipt exists: the owner could read it
        ids["receipt"].add(request_id)

    def portal() -> None:
        made = victim_admin.post(f"{api}/agency/portals", json={
            "slug": "iso-portal", "title": "Isolation", "terms": {"version": "v1", "text": {"en": "Terms."}}})
        assert made.status_code == 201, made.text
        body = made.json()
        ids["portal"].add(body["portal_id"])
        ids["slug"].add(body.get("slug", "iso-portal"))

    build("submission", "/agency/citizen-links", "POST", submission)
    build("citizen link", "/agency/citizen-links", "POST", link)
    build("capture", "/agency/captures", "POST", capture)
    build("share", "/agency/shares", "POST", share)
    build("hold", "/agency/holds/cases/{case_ref}", "PUT", hold)
    build("export", "/agency/exports", "POST", export)
    build("key", "/agency/keys", "POST", key)
    build("program request", "/agency/program/removals", "POST", removal)
    build("portal", "/agency/portals", "POST", portal)
    ids["key"] |= {k["key_id"] for k in victim_admin.get(f"{api}/agency/keys").json().get("items", [])}
    return {"ids": ids, "skipped": skipped}


@pytest.fixture(scope="module")
def intruders(stack) -> dict[str, requests.Session]:
    from chalicelib import bootstrap
    from chalicelib.domain.models import Role
    from chalicelib.services import agencies

    agency_id, admin_key = new_agency("Isolation Intruder PD")
    officer_key = agencies.issue_key(agency_id, Role.OFFICER, "intruder officer", deps=bootstrap.deps())[1]
    return {"officer": stack.agency(officer_key), "agency_admin": stack.agency(admin_key),
            "operator": stack.agency(stack.local.seed.operator_key), "no key": requests.Session()}


def _values(param: str, ids: dict[str, set[str]]) -> list[str]:
    if param not in PARAM_KINDS:
        pytest.fail(f"path parameter {{{param}}} is not classified: add it to PARAM_KINDS in "
                    f"tests/e2e/test_isolation_matrix.py with the kind of id it takes (or None and a NEUTRAL value)")
    kind = PARAM_KINDS[param]
    if kind is None:
        return [NEUTRAL[param]]
    return sorted(ids.get(kind, set())) or ["01HZZZZZZZZZZZZZZZZZZZZZZZ"]


def _urls(path: str, ids: dict[str, set[str]], fixed: dict[str, str] | None = None) -> list[str]:
    params = re.findall(r"{(\w+)}", path)
    urls = [path]
    for param in params:
        values = [fixed[param]] if fixed and param in fixed else _values(param, ids)
        urls = [u.replace(f"{{{param}}}", requests.utils.quote(v, safe="")) for u in urls for v in values]
    return urls


def _leaks(response: requests.Response | None, secrets: set[str], own_namespace: bool = False) -> str | None:
    if response is None:
        return "no answer (connection dropped)"
    if response.status_code >= 500:
        return f"{response.status_code} {response.text[:200]}"
    if 200 <= response.status_code < 300 and not own_namespace:
        return f"{response.status_code} {response.text[:200]}"
    if any(secret in response.text for secret in secrets):
        return f"{response.status_code} names the victim's data: {response.text[:200]}"
    return None


def test_the_victim_holds_an_id_of_every_kind_a_keyed_route_takes(app_routes, world):
    """Else that kind's routes would be tried with made-up ids only, and pass for nothing."""
    kinds = {PARAM_KINDS.get(param) for path, methods in app_routes.items()
             if any(entry.authorizer is not None for entry in methods.values())
             for param in re.findall(r"{(\w+)}", path)}
    missing = sorted(k for k in kinds - {None} - set(NOT_BUILT) if not world["ids"].get(k))
    assert missing == [], f"build the victim's {missing} in world()"


def test_no_route_lets_another_agency_or_role_reach_the_victims_data(stack, app_routes, world, intruders):
    ids = world["ids"]
    secrets = {v for kind, values in ids.items() if kind not in ("agency", "case") for v in values}
    tried, leaks, refused_first = 0, [], defaultdict(int)
    for path, methods in sorted(app_routes.items()):
        if "{" not in path:
            continue
        for method, entry in sorted(methods.items()):
            if entry.authorizer is None:
                assert path.startswith("/c/{token}") or path in PUBLIC_BY_DESIGN, (
                    f"{method} {path} has no key and is not a citizen route: classify it (PUBLIC_BY_DESIGN "
                    "with why it is no agency's, or give it the agency authorizer)")
                continue
            roles = [r for r in intruders if not (path.startswith("/operator/") and r == "operator")]
            body = BODIES.get((method, path), {} if method != "GET" else None)
            own_namespace = bool(OWN_NAMESPACE & set(re.findall(r"{(\w+)}", path)))
            for url in _urls(path, ids):
                for role in roles:
                    response = _try(intruders[role], method, stack.api_url + url, body)
                    tried += 1
                    problem = _leaks(response, secrets | {stack.agency_id}, own_namespace=own_namespace)
                    if problem:
                        leaks.append(f"{role}: {method} {url} -> {problem}")
                    elif response is not None and response.status_code not in ALLOWED:
                        refused_first[f"{response.status_code} {method} {path}"] += 1
    print(f"\nisolation matrix: {tried} combinations tried, {len(leaks)} leaks; kinds skipped: {world['skipped']}")
    if refused_first:
        print(f"other answers (a body refused first, or a case of the caller's own): {dict(refused_first)}")
    assert tried > 100, "the matrix tried almost nothing: the victim's data was not built"
    assert not leaks, "\n".join(leaks)


def test_no_listing_shows_another_agency_the_victims_data(stack, app_routes, world, intruders):
    """Keyed GET routes without path parameters (listings, settings, the audit log): whatever they
    answer another agency's callers, nothing of the victim's is in it."""
    ids = world["ids"]
    secrets = {v for kind, values in ids.items() if kind not in ("agency", "case") for v in values}
    tried, leaks = 0, []
    for path, methods in sorted(app_routes.items()):
        entry = methods.get("GET")
        if "{" in path or entry is None or entry.authorizer is None:
            continue
        for role, session in intruders.items():
            if path.startswith("/operator/") and role == "operator":
                continue  # the operator's own views of every agency
            for query in ({}, {"case": "ISO-CASE-1"}, {"target": sorted(ids["submission"])[0]}):
                response = _try(session, "GET", stack.api_url + path + "?" + urlencode(query))
                tried += 1
                if response is None or response.status_code >= 500 or any(s in response.text for s in secrets):
                    leaks.append(f"{role}: GET {path}?{urlencode(query)} -> "
                                 f"{response.status_code if response is not None else 'no answer'}")
    print(f"\nlistings: {tried} combinations tried, {len(leaks)} leaks")
    assert tried > 0 and not leaks, "\n".join(leaks)


def test_a_citizen_link_cannot_reach_another_links_files(stack, app_routes):
    mine, other = create_link(stack, case_ref="ISO-CIT-A"), create_link(stack, case_ref="ISO-CIT-B")
    declared = declare(other["url"], {"name": "o.jpg", "size": len(JPEG), "content_type": "image/jpeg"})
    other_files = {u["file_id"] for u in declared.json()["uploads"]}
    my_token = mine["url"].rsplit("/", 1)[1]
    ids = {"file": other_files, "submission": {other["link_id"]}, "link": {other["link_id"]}}
    secrets = other_files | {other["link_id"]}
    tried, leaks = 0, []
    for path, methods in sorted(app_routes.items()):
        if not path.startswith("/c/{token}"):
            continue
        for method in sorted(methods):
            if path.count("{") == 1 and method == "GET":  # link A's own views: nothing of link B's in them
                response = _try(requests.Session(), method, stack.api_url + path.replace("{token}", my_token))
                tried += 1
                if response is None or response.status_code >= 500 or any(s in response.text for s in secrets):
                    leaks.append(f"GET {path} with A's token shows link B's data or fails")
                continue
            for url in _urls(path, ids, fixed={"token": my_token}):
                response = _try(requests.Session(), method, stack.api_url + url, {} if method != "GET" else None)
                tried += 1
                problem = _leaks(response, secrets)
                if problem:
                    leaks.append(f"{method} {url} -> {problem}")
    # The one body that names a file: asking to sign link B's file under link A's token.
    for file_id in sorted(other_files):
        body = {"files": [{"name": "o.jpg", "size": len(JPEG), "content_type": "image/jpeg", "file_id": file_id}]}
        response = _try(requests.Session(), "POST", f"{mine['url']}/uploads", body)
        tried += 1
        if response is not None and response.status_code < 300 and file_id in response.text:
            leaks.append(f"POST /c/<A>/uploads signed link B's file {file_id}")
        elif _leaks(response, set()) and (response is None or response.status_code >= 500):
            leaks.append(f"POST /c/<A>/uploads with B's file -> {_leaks(response, set())}")
    print(f"\ncitizen isolation: {tried} combinations tried, {len(leaks)} leaks")
    assert tried > 0 and not leaks, "\n".join(leaks)
