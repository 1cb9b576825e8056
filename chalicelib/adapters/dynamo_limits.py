"""Rate-limit counters in the main table (`RATE#<rule>#<scope>#<window start>`, `RATE`): one
conditional UpdateItem ADD per check, so concurrent requests never count past the cap. The table's
TTL (`expires_ttl`) removes old windows; a lagging TTL only leaves dead items, never a wrong count
(each window has its own key)."""
from __future__ import annotations

from botocore.exceptions import ClientError

from .dynamo_codec import DynamoBase, to_item, value


class DynamoRateCounter(DynamoBase):
    def take(self, key: str, cost: int, limit: int, expires_at: int) -> bool:
        if cost > limit:
            return False
        try:
            self._db.update_item(
                TableName=self._table, Key=to_item({"pk": f"RATE#{key}", "sk": "RATE"}),
                UpdateExpression="ADD n :cost SET expires_ttl = :ttl",
                ConditionExpression="attribute_not_exists(n) OR n <= :room",
                ExpressionAttributeValues={":cost": value(cost), ":ttl": value(expires_at),
                                           ":room": value(limit - cost)})
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True
