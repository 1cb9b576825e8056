"""Local-only shim: moto's TransactWriteItems rollback at the cost of the items it touches.

moto 5.2.5 deep-copies every table a transaction names before running it, so that it can swap the
copies back in if any operation fails: O(table size) time and memory per transaction, and under
concurrent requests many whole-table copies at once. DynamoDB does nothing of the kind.

This shim keeps moto's own transaction code and changes two things around it:
- inside a shimmed transaction, `copy.deepcopy` of a whole Table (only in moto's dynamodb models
  module) returns the table itself, so moto's rollback becomes a no-op swap;
- before the transaction runs, it saves the item at every key the transaction names (a copy of
  the item, or "absent"); on any failure it writes those back through moto's own Table.put_item /
  Table.delete_item, so secondary indexes (computed by moto from the items) follow.
It also serialises DynamoDB writes behind one lock: moto is not thread-safe, and the ThreadedMotoServer
serves requests on threads, so a conditional write or a transaction could interleave with another.

A second, separate fix: moto's Table.query sorts every item of the table (all_items) before it
filters them, O(n log n) Python comparisons per query, though it sorts the matches again anyway, and
it keeps no index: a query on a GSI tests every item of the table. Inside a query, all_items here
returns, unsorted, only the queried partition: on the table's own key, moto's own partition; on a
GSI, the items whose index hash attribute has the queried value, from a map per index built at the
first query and kept current by every write path that can change an item (Table.put_item and
delete_item, and, for moto's in-place updates, the keys a backend update or transaction named).
Same results (moto's final sort is total and it still checks every condition), no full pass.

tests/integration/test_moto_tx.py pins the moto source this relies on; re-check this shim when it
fails after a moto upgrade. Never used in AWS: only infra/local_stack.py installs it."""
from __future__ import annotations

import copy
import inspect
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from moto.dynamodb import models
from moto.dynamodb.exceptions import ResourceNotFoundException
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table

LOCKED = ("transact_write_items", "put_item", "update_item", "delete_item")
_lock = threading.RLock()
_active = threading.local()
_originals: dict[str, Callable[..., Any]] = {}

Saved = dict[tuple[str, Any, Any], "dict[str, Any] | None"]
ItemKey = tuple[DynamoType, "DynamoType | None"]


class _IndexMap:
    """One GSI's items by the value of its (first) hash attribute, and each item's current value."""

    def __init__(self, attribute: str) -> None:
        self.attribute = attribute
        self.by_value: dict[DynamoType, dict[ItemKey, Any]] = {}
        self.value_of: dict[ItemKey, DynamoType] = {}

    def file(self, key: ItemKey, item: Any) -> None:
        old = self.value_of.pop(key, None)
        if old is not None:
            bucket = self.by_value[old]
            bucket.pop(key, None)
            if not bucket:
                del self.by_value[old]
        value = item.attrs.get(self.attribute) if item is not None else None
        if value is not None:
            self.by_value.setdefault(value, {})[key] = item
            self.value_of[key] = value


# Per table (weakly: a deleted table takes its maps with it), per index name. Dropped on uninstall,
# since writes made while the shim is off do not keep them current.
_index_maps: "weakref.WeakKeyDictionary[Table, dict[str, _IndexMap]]" = weakref.WeakKeyDictionary()


class _CopyInTransaction:
    """Stands in for the `copy` module inside moto's dynamodb models: whole tables are not copied
    while a shimmed transaction runs; every other call is the real `copy`."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        if isinstance(value, Table) and getattr(_active, "on", False):
            return value
        return copy.deepcopy(value, memo)


def install() -> None:
    """Idempotent; call before moto serves its first request."""
    if _originals:
        return
    for name in LOCKED:
        _originals[name] = getattr(DynamoDBBackend, name)
        run = _refiling_update(_originals[name]) if name == "update_item" else _originals[name]
        setattr(DynamoDBBackend, name, _locked(run))
    DynamoDBBackend.transact_write_items = _transact(DynamoDBBackend.transact_write_items)  # type: ignore[method-assign]
    models.copy = _CopyInTransaction()  # type: ignore[assignment]
    for name, wrap in (("query", _query), ("all_items", lambda _: _all_items), ("put_item", _refiling_put),
                       ("delete_item", _refiling_delete)):
        _originals[f"table.{name}"] = getattr(Table, name)
        setattr(Table, name, wrap(getattr(Table, name)))


def uninstall() -> None:
    """Back to moto as shipped (the bench's "before" figures)."""
    for name, original in _originals.items():
        if name.startswith("table."):
            setattr(Table, name.removeprefix("table."), original)
        else:
            setattr(DynamoDBBackend, name, original)
    _originals.clear()
    _index_maps.clear()
    models.copy = copy  # type: ignore[assignment]


def installed() -> bool:
    return bool(_originals)


def _locked(method: Callable[..., Any]) -> Callable[..., Any]:
    def locked(self: DynamoDBBackend, *args: Any, **kwargs: Any) -> Any:
        with _lock:
            return method(self, *args, **kwargs)
    locked.__wrapped__ = method  # type: ignore[attr-defined]
    return locked


def _transact(run: Callable[..., Any]) -> Callable[..., Any]:
    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        with _lock, _shimmed():
            saved, streams = _save(self, transact_items), _stream_lengths(self, transact_items)
            try:
                return run(self, transact_items)
            except Exception:
                _restore(self, saved, streams)
                raise
            finally:  # updates change items in place, out of sight of the Table hooks
                for _, table, key in _targets(self, transact_items):
                    _refile(table, _key(table, key))
    transact_write_items.__wrapped__ = run  # type: ignore[attr-defined]
    return transact_write_items


@contextmanager
def _shimmed() -> Iterator[None]:
    _active.on = True
    try:
        yield
    finally:
        _active.on = False


def _targets(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> Iterator[tuple[str, Table, dict]]:
    """(table name, table, key attributes) per operation whose table and key can be read; an
    operation without them fails validation in moto before it changes anything."""
    for entry in transact_items:
        for op_type, op in entry.items():
            try:
                table = backend.get_table(op["TableName"])
            except (KeyError, ResourceNotFoundException):
                continue
            source = op.get("Item", {}) if op_type == "Put" else op.get("Key", {})
            names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
            if all(name in source for name in names):
                yield table.name, table, {name: source[name] for name in names}


def _key(table: Table, key: dict[str, Any]) -> tuple[DynamoType, DynamoType | None]:
    hash_value = DynamoType(key[table.hash_key_attr])
    return hash_value, DynamoType(key[table.range_key_attr]) if table.range_key_attr else None


def _save(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> Saved:
    saved: Saved = {}
    for name, table, key in _targets(backend, transact_items):
        hash_value, range_value = _key(table, key)
        if (name, hash_value, range_value) not in saved:  # the first look is the state before
            item = table.get_item(hash_value, range_value)
            saved[(name, hash_value, range_value)] = copy.deepcopy(item.to_json()["Attributes"]) if item else None
    return saved


def _restore(backend: DynamoDBBackend, saved: Saved, streams: dict[str, int]) -> None:
    for (name, hash_value, range_value), attrs in saved.items():
        table = backend.tables[name]
        if attrs is None:
            table.delete_item(hash_value, range_value)
            if range_value is not None and not table.items.get(hash_value):
                table.items.pop(hash_value, None)  # an empty bucket left by a lookup of a new key
        else:
            table.put_item(attrs)
    for name, length in streams.items():  # moto's rollback also dropped the failed writes' records
        del backend.tables[name].stream_shard.items[length:]  # type: ignore[union-attr]


def _stream_lengths(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> dict[str, int]:
    return {name: len(table.stream_shard.items) for name, table, _ in _targets(backend, transact_items)
            if table.stream_shard is not None}


def _query(run: Callable[..., Any]) -> Callable[..., Any]:
    signature = inspect.signature(run)

    def query(self: Table, *args: Any, **kwargs: Any) -> Any:
        call = signature.bind(self, *args, **kwargs).arguments
        _active.candidates = _candidates(self, call["hash_key"], call.get("index_name"),
                                         call.get("hash_key_conditions"))
        try:
            return run(self, *args, **kwargs)
        finally:
            _active.candidates = None
    query.__wrapped__ = run  # type: ignore[attr-defined]
    return query


def _candidates(table: Table, hash_key: DynamoType | None, index_name: str | None,
                conditions: list[tuple[str, DynamoType]] | None) -> list[Any] | None:
    """The only items the query can match, unsorted; None: every item (moto's own pass)."""
    if index_name is None:
        if hash_key is None:
            return None
        bucket = table.items.get(hash_key)
        if bucket is None:
            return []
        return list(bucket.values()) if table.range_key_attr else [bucket]
    index = _index_map(table, index_name)
    value = dict(conditions or []).get(index.attribute) if index is not None else None
    if index is None or value is None:
        return None
    return list(index.by_value.get(value, {}).values())


def _index_map(table: Table, index_name: str) -> _IndexMap | None:
    maps = _index_maps.setdefault(table, {})
    if index_name not in maps:
        index = next((i for i in table.global_indexes if i.name == index_name), None)
        attribute = next((k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"), None) if index else None
        if attribute is None:
            return None  # a local index or an unknown name: moto's own pass (and its own errors)
        built = _IndexMap(attribute)
        buckets = table.items.values()  # unsorted: moto's all_items would sort the whole table
        for item in (i for b in buckets for i in b.values()) if table.range_key_attr else buckets:
            built.file((item.hash_key, item.range_key), item)
        maps[index_name] = built
    return maps[index_name]


def _refile(table: Table, key: ItemKey) -> None:
    maps = _index_maps.get(table)
    if maps:
        bucket = table.items.get(key[0])  # not get_item: a lookup must not leave an empty bucket
        item = bucket.get(key[1]) if bucket is not None and table.range_key_attr else bucket
        for index in maps.values():
            index.file(key, item)


def _refiling_put(put: Callable[..., Any]) -> Callable[..., Any]:
    def put_item(self: Table, *args: Any, **kwargs: Any) -> Any:
        item = put(self, *args, **kwargs)
        _refile(self, (item.hash_key, item.range_key))
        return item
    put_item.__wrapped__ = put  # type: ignore[attr-defined]
    return put_item


def _refiling_delete(delete: Callable[..., Any]) -> Callable[..., Any]:
    def delete_item(self: Table, hash_key: DynamoType, range_key: DynamoType | None = None) -> Any:
        try:
            return delete(self, hash_key, range_key)
        finally:
            _refile(self, (hash_key, range_key))
    delete_item.__wrapped__ = delete  # type: ignore[attr-defined]
    return delete_item


def _refiling_update(update: Callable[..., Any]) -> Callable[..., Any]:
    def update_item(self: DynamoDBBackend, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return update(self, table_name, key, *args, **kwargs)
        finally:
            table = self.tables.get(table_name)
            if table is not None and table.hash_key_attr in key:
                _refile(table, _key(table, key))
    update_item.__wrapped__ = update  # type: ignore[attr-defined]
    return update_item


def _all_items(self: Table) -> list[Any]:
    candidates = getattr(_active, "candidates", None)
    if candidates is None:
        return list(_originals["table.all_items"](self))
    return candidates
