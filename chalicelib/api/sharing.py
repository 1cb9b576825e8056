"""Sharing between agencies: the owner's side (`/agency/shares`: share, list, revoke) and the
recipient's (`/agency/shared`: active shares, their items, one item with download URLs). A shared
item is shown with origin `shared`, who shared it and its original origin; the recipient's own
routes (review, holds, exports) look only in its own partition and never reach it."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalice.app import Blueprint, Response

from .. import bootstrap
from ..domain.models import Origin, Page
from ..domain.sharing import CreateShare
from ..http import handled, int_param, json_response, parse
from ..services import access, sharing
from ..services.sharing import SharedItem, SharePage, ShareView, share_view
from ..views import DeletedFile, DeletedShared, SharedBy, SharedItems, SharedSubmission, submission_model
from .common import agency_key, body, caller, documented, params

sharing_api = Blueprint(__name__)


def shared_item_view(item: SharedItem, **extra: Any) -> SharedSubmission | DeletedShared:
    sharer = {"shared_by": SharedBy(agency_id=item.owner.agency_id, name=item.owner.name),
              "share_id": item.share.share_id, "origin": Origin.SHARED} | extra
    if item.submission is None:
        assert item.tombstone is not None
        gone = item.tombstone
        return DeletedShared(submission_id=gone.submission_id, case_ref=gone.case_ref, deleted=True,
                             deleted_at=gone.deleted_at, deleted_by_rule=gone.rule, original_origin=None,
                             files=[DeletedFile.model_validate({k: f.get(k) for k in ("file_id", "name", "sha256")})
                                    for f in gone.files], **sharer)
    return submission_model(item.submission, item.download_urls, view=SharedSubmission, deleted=False,
                            original_origin=item.submission.origin, **sharer)


@sharing_api.route("/agency/shares", methods=["POST"], authorizer=agency_key)
@documented(response=ShareView)
@handled
def create_share() -> Response:
    deps, principal = bootstrap.deps(), caller()
    access.agency_of(principal, deps=deps)  # an operator key is refused before its body is read
    made = sharing.share(principal, parse(CreateShare, body()), deps=deps)
    return json_response(share_view(made, deps.clock.now()), status=201)


@sharing_api.route("/agency/shares", methods=["GET"], authorizer=agency_key)
@documented(response=SharePage)
@handled
def list_shares() -> Response:
    return _share_page(sharing.outgoing)


@sharing_api.route("/agency/shares/{share_id}", methods=["DELETE"], authorizer=agency_key)
@documented(response=ShareView)
@handled
def revoke_share(share_id: str) -> Response:
    deps = bootstrap.deps()
    return json_response(share_view(sharing.revoke(caller(), share_id, deps=deps), deps.clock.now()))


@sharing_api.route("/agency/shared", methods=["GET"], authorizer=agency_key)
@documented(response=SharePage)
@handled
def list_shared() -> Response:
    return _share_page(sharing.incoming)


def _share_page(listing: Callable[..., Page]) -> Response:
    """A page of shares (made, or received), as both listings answer."""
    deps, query = bootstrap.deps(), params()
    page = listing(caller(), limit=int_param(query, "limit", 25), cursor=query.get("next"), deps=deps)
    now = deps.clock.now()
    return json_response(SharePage(items=[share_view(s, now) for s in page.items], next=page.next_cursor))


@sharing_api.route("/agency/shared/{share_id}/submissions", methods=["GET"], authorizer=agency_key)
@documented(response=SharedItems)
@handled
def list_shared_submissions(share_id: str) -> Response:
    query = params()
    _, _, found, after = sharing.items(caller(), share_id, limit=int_param(query, "limit", 25),
                                       cursor=query.get("next"), deps=bootstrap.deps())
    return json_response(SharedItems(items=[shared_item_view(i) for i in found], next=after))


@sharing_api.route("/agency/shared/{share_id}/submissions/{submission_id}", methods=["GET"],
                   authorizer=agency_key)
@documented(response=(SharedSubmission, DeletedShared))  # or what its deletion left
@handled
def get_shared_submission(share_id: str, submission_id: str) -> Response:
    from ..domain.links import DOWNLOAD_URL_TTL

    item = sharing.view(caller(), share_id, submission_id, deps=bootstrap.deps())
    return json_response(shared_item_view(item, expires_in=int(DOWNLOAD_URL_TTL.total_seconds())))
