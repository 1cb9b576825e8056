"""Access requests in the main table. A fingerprint item (organisation + country) written in the
same transaction makes a duplicate request fail instead of queueing twice."""
from __future__ import annotations

from typing import Any

from ..domain.access_requests import AccessRequest, RequestStatus
from ..domain.models import AuditEvent, Page
from .dynamo_codec import DynamoBase, decode_cursor, encode_cursor, from_item, to_item, value

LISTING = "ACCESSREQ"


class DynamoAccessRequests(DynamoBase):
    def create(self, request: AccessRequest, *, event: AuditEvent | None = None) -> None:
        self._commit(
            {"Put": {"TableName": self._table, "Item": to_item(self._item(request)),
                     "ConditionExpression": "attribute_not_exists(pk)"}},
            {"Put": {"TableName": self._table, "ConditionExpression": "attribute_not_exists(pk)",
                     "Item": to_item({"pk": f"ACCESSREQ_FP#{request.fingerprint}", "sk": "FP",
                                      "request_id": request.request_id})}},
            event=event, conflict="A request from this organisation is already on file.", code="duplicate_request")

    def get(self, request_id: str) -> AccessRequest | None:
        item = self._get(f"ACCESSREQ#{request_id}", "REQUEST")
        return AccessRequest.model_validate(item) if item else None

    def decide(self, request: AccessRequest, *, event: AuditEvent | None = None) -> None:
        """Store the decision if the request is still pending; Conflict otherwise. A denial frees
        the fingerprint so the organisation may ask again later."""
        items: list[dict[str, Any]] = [{"Put": {
            "TableName": self._table, "Item": to_item(self._item(request)),
            "ConditionExpression": "#st = :pending", "ExpressionAttributeNames": {"#st": "status"},
            "ExpressionAttributeValues": {":pending": value(RequestStatus.PENDING.value)}}}]
        if request.status is RequestStatus.DENIED:
            items.append({"Delete": {"TableName": self._table,
                                     "Key": to_item({"pk": f"ACCESSREQ_FP#{request.fingerprint}", "sk": "FP"})}})
        self._commit(*items, event=event, conflict="This request was already decided.", code="already_decided")

    def attach_agency(self, request_id: str, agency_id: str, *, event: AuditEvent | None = None) -> None:
        self._commit({"Update": {
            "TableName": self._table, "Key": to_item({"pk": f"ACCESSREQ#{request_id}", "sk": "REQUEST"}),
            "UpdateExpression": "SET agency_id = :a", "ExpressionAttributeValues": {":a": value(agency_id)}}},
            event=event, conflict="No such access request.")

    def list(self, status: RequestStatus, *, limit: int, cursor: str | None) -> Page:
        query: dict[str, Any] = {
            "TableName": self._table, "IndexName": "gsi1", "Limit": limit,
            "KeyConditionExpression": "gsi1pk = :p AND begins_with(gsi1sk, :s)",
            "ExpressionAttributeValues": {":p": value(LISTING), ":s": value(f"{status.value}#")},
        }
        if cursor:
            start = decode_cursor(cursor, ("pk", "gsi1sk"))
            query["ExclusiveStartKey"] = to_item({**start, "sk": "REQUEST", "gsi1pk": LISTING})
        found = self._db.query(**query)
        return Page(items=[AccessRequest.model_validate(from_item(i)) for i in found["Items"]],
                    next_cursor=encode_cursor(found.get("LastEvaluatedKey"), ("pk", "gsi1sk")))

    @staticmethod
    def _item(request: AccessRequest) -> dict[str, Any]:
        return {"pk": f"ACCESSREQ#{request.request_id}", "sk": "REQUEST", "gsi1pk": LISTING,
                "gsi1sk": f"{request.status.value}#{request.request_id}", **request.model_dump(mode="json")}
