"""A cancelled DynamoDB transaction is a refused condition only when one of its items' conditions
failed. Cancelled for another reason (throttled, or meeting another transaction on an item) it did
nothing and proves nothing: a notice claim must not read it as "already sent" and skip that
recipient for good. Driven by botocore's Stubber: moto serialises transactions and never answers
TransactionConflict or throttling."""
from __future__ import annotations

from datetime import datetime, timezone

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from chalicelib.adapters.dynamo_codec import conflicts_as
from chalicelib.adapters.dynamo_program_notices import DynamoProgramNotices
from chalicelib.aws_errors import failed_items
from chalicelib.domain.errors import Conflict

AT = datetime(2026, 1, 5, tzinfo=timezone.utc)
BUSY = [{"Code": "None"}, {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}]
THROTTLED = [{"Code": "ThrottlingError"}, {"Code": "None"}]
ONE = [{"ConditionCheck": {"TableName": "main", "Key": {"pk": {"S": "a"}, "sk": {"S": "b"}},
                            "ConditionExpression": "attribute_exists(pk)"}}]
CLAIMED = [{"Code": "ConditionalCheckFailed"}, {"Code": "None"}]


@pytest.fixture
def db():
    client = boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def cancelled(stub: Stubber, reasons: list) -> None:
    stub.add_client_error("transact_write_items", service_error_code="TransactionCanceledException",
                          service_message="Transaction cancelled", http_status_code=400,
                          modeled_fields={"CancellationReasons": reasons})


def claim(client) -> bool:
    repo = DynamoProgramNotices(client, "main", "inbox")
    return repo.claim_notice("u:v1:announced", "r" * 64, AT, token_hash="t" * 64)


@pytest.mark.parametrize("reasons", [BUSY, THROTTLED], ids=["transaction_conflict", "throttled"])
def test_a_claim_cancelled_for_another_reason_than_a_condition_is_an_error_not_already_sent(db, reasons):
    client, stub = db
    cancelled(stub, reasons)
    with pytest.raises(ClientError) as raised:  # the run fails and is retried; nothing is skipped
        claim(client)
    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"


def test_a_claim_refused_by_its_condition_is_already_claimed(db):
    client, stub = db
    cancelled(stub, CLAIMED)
    assert claim(client) is False


def test_a_claim_that_went_through_is_true(db):
    client, stub = db
    stub.add_response("transact_write_items", {})
    assert claim(client) is True


def test_conflicts_as_names_the_failed_items_and_maps_only_conditions(db):
    client, stub = db
    cancelled(stub, [{"Code": "None"}, {"Code": "ConditionalCheckFailed"}, {"Code": "None"}])
    cancelled(stub, BUSY)
    cancelled(stub, BUSY)
    with pytest.raises(Conflict) as refused, conflicts_as("refused", "code_x"):
        client.transact_write_items(TransactItems=ONE)
    assert refused.value.code == "code_x" and failed_items(refused.value.__cause__) == [1]
    with pytest.raises(ClientError), conflicts_as("refused"):
        client.transact_write_items(TransactItems=ONE)
    with pytest.raises(Conflict), conflicts_as("refused", busy_too=True):  # the audit sequencer reads again
        client.transact_write_items(TransactItems=ONE)


def test_reasons_without_a_code_are_not_a_failed_condition():
    error = ClientError({"Error": {"Code": "TransactionCanceledException", "Message": "x"},
                         "CancellationReasons": [None, {"Code": "TransactionConflict"}]}, "TransactWriteItems")
    assert failed_items(error) == []
    with pytest.raises(ClientError), conflicts_as("refused"):
        raise error
