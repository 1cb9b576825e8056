"""infra/moto_tx.py on the local stack's moto server (over HTTP, in this process): a failed
transaction leaves every table and index as it was, a successful one applies everything, the cost
does not grow with the table, and a moto upgrade that changes what the shim relies on fails here."""
from __future__ import annotations

import copy
import hashlib
import inspect
import threading
import uuid

import boto3
import moto
import pytest
from botocore.exceptions import ClientError
from moto.dynamodb import models
from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.models.table import StreamShard, Table

from infra import cfn, moto_tx
from infra.local_stack import ACCOUNT, REGION

pytestmark = pytest.mark.integration

# sha256 of inspect.getsource(...) in moto 5.2.5: DynamoDBBackend.transact_write_items, Table.query, Table.all_items
PINNED_SOURCE = "81db2cb7d94e39c90b3a2077e1f4bb41a449c558ef9b1b1e2910fdaa39978ad4"
PINNED_QUERY = "002b4d00be6df07cf37f6cbe0132e5eb89455ae12a8e79b23db3fb492450f21e"
PINNED_ALL_ITEMS = "c80d2ee3c896acd0cab6ca35aaeae3ab3fb65858933f8a3403d4e027c240f31d"
# moto 5.2.5's backend methods that can write items: each reaches the shim's GSI maps through
# Table.put_item/delete_item or the shim's own refiling of the keys it names (update_item and
# transact_write_items change items in place), or builds a new table (restore, import: no map yet).
_HOOKED_WRITERS = {"batch_execute_statement", "batch_write_item", "delete_item", "describe_import",
                   "execute_statement", "execute_transaction", "import_table", "put_item", "put_resource_policy",
                   "restore_table_from_backup", "restore_table_to_point_in_time", "transact_get_items",
                   "transact_write_items", "update_item"}
RECHECK = ("moto changed what infra/moto_tx.py relies on: re-read DynamoDBBackend.transact_write_items "
           "(its whole-table copy.deepcopy and the swap back) and Table's item methods, fix the shim, "
           "then update the pin in this test")


@pytest.fixture
def tables(stack):
    """A main table shaped like the template's (three GSIs) and an audit-shaped table, fresh per test."""
    db, suffix = boto3.client("dynamodb"), uuid.uuid4().hex[:8]
    main = cfn.load()["Resources"]["MainTable"]["Properties"]
    names = (f"tx-main-{suffix}", f"tx-audit-{suffix}")
    db.create_table(TableName=names[0], BillingMode="PAY_PER_REQUEST", KeySchema=main["KeySchema"],
                    AttributeDefinitions=main["AttributeDefinitions"],
                    GlobalSecondaryIndexes=main["GlobalSecondaryIndexes"])
    db.create_table(TableName=names[1], BillingMode="PAY_PER_REQUEST",
                    KeySchema=[{"AttributeName": "agency_id", "KeyType": "HASH"},
                               {"AttributeName": "seq", "KeyType": "RANGE"}],
                    AttributeDefinitions=[{"AttributeName": "agency_id", "AttributeType": "S"},
                                          {"AttributeName": "seq", "AttributeType": "N"}])
    yield db, *names
    for name in names:
        db.delete_table(TableName=name)


def row(pk: str, sk: str, **attrs: str) -> dict:
    return {"pk": {"S": pk}, "sk": {"S": sk}, **{k: {"S": v} for k, v in attrs.items()}}


def seed(db, main: str, audit: str) -> None:
    db.put_item(TableName=main, Item=row("A#1", "SUB#1", gsi1pk="CASE#1", gsi1sk="SUB#1", gsi2pk="DUE#2021-01-01",
                                         gsi2sk="1", status="submitted"))
    db.put_item(TableName=main, Item=row("A#1", "SUB#2", gsi3pk="PENDING", gsi3sk="2", status="pending"))
    db.put_item(TableName=main, Item=row("A#1", "LINK#3", gsi1pk="CASE#3", gsi1sk="LINK#3"))
    db.put_item(TableName=main, Item=row("A#1", "HOLD#4", reason="court"))
    db.put_item(TableName=audit, Item={"agency_id": {"S": "A#1"}, "seq": {"N": "0"}, "last": {"N": "1"}})
    db.put_item(TableName=audit, Item={"agency_id": {"S": "A#1"}, "seq": {"N": "1"}, "hash": {"S": "h1"}})


def operations(main: str, audit: str) -> list[dict]:
    """Puts, updates, deletes and condition checks over existing and new items in both tables,
    moving items in and out of every GSI."""
    return [
        {"Put": {"TableName": main, "Item": row("A#1", "SUB#9", gsi1pk="CASE#9", gsi1sk="SUB#9", gsi3pk="PENDING",
                                                   gsi3sk="9"), "ConditionExpression": "attribute_not_exists(pk)"}},
        {"Put": {"TableName": main, "Item": row("A#1", "SUB#1", gsi1pk="CASE#1", gsi1sk="SUB#1", status="deleted")}},
        {"Update": {"TableName": main, "Key": row("A#1", "SUB#2"), "UpdateExpression": "SET #s = :s, gsi2pk = :d, "
                    "gsi2sk = :k REMOVE gsi3pk, gsi3sk", "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":s": {"S": "accepted"}, ":d": {"S": "DUE#2022-01-01"},
                                                  ":k": {"S": "2"}}}},
        {"Update": {"TableName": main, "Key": row("TOKEN#x", "TOKEN"), "UpdateExpression": "SET link = :l",
                    "ExpressionAttributeValues": {":l": {"S": "LINK#3"}}}},
        {"Delete": {"TableName": main, "Key": row("A#1", "LINK#3")}},
        {"ConditionCheck": {"TableName": main, "Key": row("A#1", "HOLD#4"),
                            "ConditionExpression": "attribute_exists(pk)"}},
        {"Put": {"TableName": audit, "Item": {"agency_id": {"S": "A#1"}, "seq": {"N": "2"}, "hash": {"S": "h2"}},
                 "ConditionExpression": "attribute_not_exists(seq)"}},
        {"Update": {"TableName": audit, "Key": {"agency_id": {"S": "A#1"}, "seq": {"N": "0"}},
                    "UpdateExpression": "SET #l = :n", "ConditionExpression": "#l = :o",
                    "ExpressionAttributeNames": {"#l": "last"},
                    "ExpressionAttributeValues": {":n": {"N": "2"}, ":o": {"N": "1"}}}},
        {"Delete": {"TableName": audit, "Key": {"agency_id": {"S": "A#1"}, "seq": {"N": "1"}}}},
    ]


def failing_check(main: str) -> dict:
    return {"ConditionCheck": {"TableName": main, "Key": row("A#1", "NOPE"),
                               "ConditionExpression": "attribute_exists(pk)"}}


def state(db, main: str, audit: str) -> dict:
    """Every item of both tables and every GSI's view, in a comparable form."""
    def scan(**kwargs) -> list:
        items = db.scan(ConsistentRead="IndexName" not in kwargs, **kwargs)["Items"]
        return sorted(items, key=repr)
    views = {name: scan(TableName=name) for name in (main, audit)}
    return views | {gsi: scan(TableName=main, IndexName=gsi) for gsi in ("gsi1", "gsi2", "gsi3")}


@pytest.mark.parametrize("at", [0, 4, 9])
def test_a_transaction_failing_on_its_nth_item_leaves_every_table_and_index_as_before(tables, at):
    db, main, audit = tables
    seed(db, main, audit)
    before = state(db, main, audit)
    ops = operations(main, audit)
    ops.insert(at, failing_check(main))
    with pytest.raises(ClientError) as failed:
        db.transact_write_items(TransactItems=ops)
    assert failed.value.response["Error"]["Code"] == "TransactionCanceledException"
    reasons = [r["Code"] for r in failed.value.response["CancellationReasons"]]
    assert reasons[at] == "ConditionalCheckFailed"
    assert state(db, main, audit) == before


def test_a_transaction_refused_as_invalid_midway_leaves_the_tables_as_before(tables):
    db, main, audit = tables
    seed(db, main, audit)
    before = state(db, main, audit)
    ops = operations(main, audit)
    ops.append({"ConditionCheck": {"TableName": main, "Key": row("A#1", "SUB#9"),
                                   "ConditionExpression": "attribute_exists(pk)"}})  # a second op on SUB#9
    with pytest.raises(ClientError):
        db.transact_write_items(TransactItems=ops)
    assert state(db, main, audit) == before


def test_a_successful_transaction_applies_every_operation(tables):
    db, main, audit = tables
    seed(db, main, audit)
    db.transact_write_items(TransactItems=operations(main, audit))
    after = state(db, main, audit)
    keys = {(i["pk"]["S"], i["sk"]["S"]) for i in after[main]}
    assert keys == {("A#1", "SUB#1"), ("A#1", "SUB#2"), ("A#1", "SUB#9"), ("A#1", "HOLD#4"), ("TOKEN#x", "TOKEN")}
    assert {i["sk"]["S"] for i in after["gsi1"]} == {"SUB#1", "SUB#9"}
    assert [i["gsi2pk"]["S"] for i in after["gsi2"]] == ["DUE#2022-01-01"]
    assert [i["sk"]["S"] for i in after["gsi3"]] == ["SUB#9"]
    assert [(i["seq"]["N"], i.get("last", {}).get("N")) for i in after[audit]] == [("0", "2"), ("2", None)]


def fill(name: str, count: int) -> None:
    """Straight into moto's table: seeding 20,000 items over HTTP would dominate the test."""
    table = dynamodb_backends[ACCOUNT][REGION].get_table(name)
    for n in range(count):
        table.put_item(row(f"A#{n % 50}", f"SUB#{n:06d}", gsi1pk=f"CASE#{n % 7}", gsi1sk=f"SUB#{n}", blob="x" * 100))


def deepcopies_of_one_transaction(db, main: str, audit: str, monkeypatch) -> int:
    calls = []
    real = copy.deepcopy

    def counting(value, memo=None, _nil=[]):  # noqa: B006 - copy.deepcopy's own signature
        calls.append(1)
        return real(value, memo)
    monkeypatch.setattr(copy, "deepcopy", counting)  # moto's rollback copy recurses through this name
    try:
        db.transact_write_items(TransactItems=operations(main, audit)[:3] + [failing_check(main)])
    except ClientError:
        pass
    finally:
        monkeypatch.undo()
    return len(calls)


def test_the_cost_of_a_transaction_does_not_grow_with_the_table(stack, tables, monkeypatch):
    db, main, audit = tables
    seed(db, main, audit)
    fill(main, 1_000)
    with stack.local.paused():  # the pump's own requests, served in this process, would be counted too
        small = deepcopies_of_one_transaction(db, main, audit, monkeypatch)
        fill(main, 20_000)
        large = deepcopies_of_one_transaction(db, main, audit, monkeypatch)
    assert small == large < 200, (small, large)


def test_without_the_shim_moto_copies_the_whole_table(tables, monkeypatch):
    """The measure above can see table size: moto as shipped copies every item."""
    db, main, audit = tables
    fill(main, 1_000)
    moto_tx.uninstall()
    try:
        shipped = deepcopies_of_one_transaction(db, main, audit, monkeypatch)
    finally:
        moto_tx.install()
    assert shipped > 1_000 * 5


def test_concurrent_conditional_transactions_never_both_win(tables):
    """A version-checked counter moved by 8 threads: every success is counted exactly once."""
    _, main, _ = tables
    db = boto3.client("dynamodb")
    db.put_item(TableName=main, Item={**row("C", "C"), "v": {"N": "0"}})
    wins: list[int] = []

    def bump() -> None:
        client = boto3.session.Session().client("dynamodb")
        for _ in range(15):
            seen = int(client.get_item(TableName=main, Key=row("C", "C"), ConsistentRead=True)["Item"]["v"]["N"])
            try:
                client.transact_write_items(TransactItems=[{"Update": {
                    "TableName": main, "Key": row("C", "C"), "UpdateExpression": "SET v = :n",
                    "ConditionExpression": "v = :o",
                    "ExpressionAttributeValues": {":n": {"N": str(seen + 1)}, ":o": {"N": str(seen)}}}}])
                wins.append(1)
            except ClientError:
                pass
    threads = [threading.Thread(target=bump) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    final = int(db.get_item(TableName=main, Key=row("C", "C"), ConsistentRead=True)["Item"]["v"]["N"])
    assert final == len(wins) > 0


def test_moto_still_has_what_the_shim_relies_on():
    assert moto_tx.installed()
    original = inspect.unwrap(DynamoDBBackend.transact_write_items)
    source = inspect.getsource(original)
    digest = hashlib.sha256(source.encode()).hexdigest()
    assert digest == PINNED_SOURCE, f"{RECHECK} (moto {moto.__version__}, source sha256 {digest})"
    assert "copy.deepcopy(\n                    self.tables[table_name]" in source, RECHECK
    assert isinstance(models.copy, moto_tx._CopyInTransaction), RECHECK
    for name in ("get_item", "put_item", "delete_item", "hash_key_attr", "range_key_attr", "stream_shard", "items"):
        assert name in Table.__dict__ or name in inspect.getsource(Table.__init__), f"{RECHECK}: Table.{name}"
    assert list(inspect.signature(Table.delete_item).parameters) == ["self", "hash_key", "range_key"], RECHECK
    assert "items" in inspect.getsource(StreamShard.__init__), RECHECK
    for name, pinned in (("query", PINNED_QUERY), ("all_items", PINNED_ALL_ITEMS)):
        digest = hashlib.sha256(inspect.getsource(moto_tx._originals[f"table.{name}"]).encode()).hexdigest()
        assert digest == pinned, f"{RECHECK} (Table.{name}: source sha256 {digest})"
    # The GSI maps are kept current by these write paths only: a new one in moto must be hooked too.
    assert "for item in self.all_items()" in inspect.getsource(moto_tx._originals["table.query"]), RECHECK
    writers = {name for name, member in vars(DynamoDBBackend).items() if callable(member) and any(
        word in name for word in ("put", "update_item", "delete_item", "write", "transact", "execute", "restore",
                                  "import"))}
    assert writers == _HOOKED_WRITERS, f"{RECHECK}: new item writers {sorted(writers - _HOOKED_WRITERS)}"
    assert list(inspect.signature(moto_tx._originals["table.query"]).parameters)[1:9] == [
        "hash_key", "range_comparison", "range_objs", "limit", "exclusive_start_key", "scan_index_forward",
        "projection_expressions", "index_name"], RECHECK


QUERIES = [
    {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "A#3"}}},
    {"KeyConditionExpression": "pk = :p AND begins_with(sk, :s)", "ScanIndexForward": False, "Limit": 7,
     "ExpressionAttributeValues": {":p": {"S": "A#4"}, ":s": {"S": "SUB#0001"}}},
    {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "A#none"}}},
    {"IndexName": "gsi1", "KeyConditionExpression": "gsi1pk = :p AND gsi1sk > :s", "Limit": 9,
     "ExpressionAttributeValues": {":p": {"S": "CASE#2"}, ":s": {"S": "SUB#100"}}},
    {"IndexName": "gsi1", "KeyConditionExpression": "gsi1pk = :p", "ScanIndexForward": False,
     "FilterExpression": "#b = :b", "ExpressionAttributeNames": {"#b": "blob"},
     "ExpressionAttributeValues": {":p": {"S": "CASE#5"}, ":b": {"S": "x" * 100}}},
]


def every_page(db, table: str, query: dict) -> list:
    pages, start = [], {}
    while True:
        page = db.query(TableName=table, **query, **start)
        pages.append(page["Items"])
        if "LastEvaluatedKey" not in page:
            return pages
        start = {"ExclusiveStartKey": page["LastEvaluatedKey"]}


def test_queries_answer_exactly_as_moto_as_shipped(tables):
    db, main, _ = tables
    fill(main, 400)
    shimmed = [every_page(db, main, q) for q in QUERIES]
    moto_tx.uninstall()
    try:
        shipped = [every_page(db, main, q) for q in QUERIES]
    finally:
        moto_tx.install()
    assert shimmed == shipped and all(shipped[n][0] for n in (0, 1, 3, 4))


def test_a_query_does_not_sort_the_whole_table(tables, monkeypatch):
    db, main, _ = tables
    fill(main, 2_000)
    sorts = []
    monkeypatch.setattr(Table, "sorted_items", _counting(Table.sorted_items, sorts), raising=True)
    monkeypatch.setattr(models.table, "sorted", _counting(sorted, sorts), raising=False)
    db.query(TableName=main, **QUERIES[3])
    db.query(TableName=main, **QUERIES[0])
    assert sorts and max(sorts) < 2_000 / 5, sorts  # what the query matched (a seventh), never all 2,000


def _counting(sort, sizes: list):
    def counted(*args, **kwargs):
        items = args[-1] if args and isinstance(args[-1], list) else args[0]
        sizes.append(len(items))
        return sort(*args, **kwargs)
    return counted


def every_index_view(db, main: str) -> dict:
    """Every partition of every GSI as a query answers it (not a scan: queries use the shim's maps)."""
    views = {}
    for gsi in ("gsi1", "gsi2", "gsi3"):
        items = db.scan(TableName=main, IndexName=gsi)["Items"]
        for value in sorted({item[f"{gsi}pk"]["S"] for item in items}):
            views[(gsi, value)] = every_page(db, main, {
                "IndexName": gsi, "KeyConditionExpression": "#p = :p",
                "ExpressionAttributeNames": {"#p": f"{gsi}pk"}, "ExpressionAttributeValues": {":p": {"S": value}}})
    return views


def test_index_queries_stay_exact_through_every_write_path(tables):
    """Puts, updates moving items between GSI partitions, deletes, batch writes, and successful and
    failed transactions, each followed by a query of every GSI partition: the shim's maps answer
    exactly as moto's full pass does."""
    db, main, audit = tables
    seed(db, main, audit)
    fill(main, 300)
    every_index_view(db, main)  # builds the maps before the writes below
    db.update_item(TableName=main, Key=row("A#1", "SUB#000001"), UpdateExpression="SET gsi1pk = :p, gsi2pk = :d,"
                   " gsi2sk = :k", ExpressionAttributeValues={":p": {"S": "CASE#moved"}, ":d": {"S": "DUE#x"},
                                                               ":k": {"S": "1"}})
    db.update_item(TableName=main, Key=row("A#2", "SUB#000002"), UpdateExpression="REMOVE gsi1pk")
    db.put_item(TableName=main, Item=row("A#3", "SUB#000003", gsi3pk="PENDING", gsi3sk="3"))
    db.delete_item(TableName=main, Key=row("A#4", "SUB#000004"))
    db.batch_write_item(RequestItems={main: [
        {"PutRequest": {"Item": row("A#9", "NEW#1", gsi1pk="CASE#1", gsi1sk="NEW#1")}},
        {"DeleteRequest": {"Key": row("A#5", "SUB#000005")}}]})
    db.transact_write_items(TransactItems=operations(main, audit))
    with pytest.raises(ClientError):
        db.transact_write_items(TransactItems=[
            {"Update": {"TableName": main, "Key": row("A#6", "SUB#000006"), "UpdateExpression": "SET gsi1pk = :p",
                        "ExpressionAttributeValues": {":p": {"S": "CASE#gone"}}}}, failing_check(main)])
    shimmed = every_index_view(db, main)
    moto_tx.uninstall()
    try:
        shipped = every_index_view(db, main)
    finally:
        moto_tx.install()
    assert shimmed == shipped
    assert ("gsi1", "CASE#moved") in shipped and ("gsi1", "CASE#gone") not in shipped


def test_an_index_query_looks_only_at_its_partition(tables, monkeypatch):
    db, main, _ = tables
    fill(main, 2_000)
    seen = []
    real = moto_tx._all_items
    monkeypatch.setattr(Table, "all_items", lambda self: seen.append(len(real(self))) or real(self))
    db.query(TableName=main, **QUERIES[3])
    assert seen and max(seen) < 2_000 / 5, seen  # CASE#2: a seventh of the table, never all of it
