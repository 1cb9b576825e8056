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
filters them, O(n log n) Python comparisons per query, though it sorts the matches again anyway.
Inside a query, all_items here returns the items unsorted, and only the queried partition when the
query is on the table's own key: same results (moto's final sort is total), no full sort.

tests/integration/test_moto_tx.py pins the moto source this relies on; re-check this shim when it
fails after a moto upgrade. Never used in AWS: only infra/local_stack.py installs it."""
from __future__ import annotations

import copy
import threading
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
        setattr(DynamoDBBackend, name, _locked(_originals[name]))
    DynamoDBBackend.transact_write_items = _transact(DynamoDBBackend.transact_write_items)  # type: ignore[method-assign]
    models.copy = _CopyInTransaction()  # type: ignore[assignment]
    _originals["query"], _originals["all_items"] = Table.query, Table.all_items
    Table.query, Table.all_items = _query(Table.query), _all_items  # type: ignore[method-assign]


def uninstall() -> None:
    """Back to moto as shipped (the bench's "before" figures)."""
    for name, original in _originals.items():
        setattr(Table if name in ("query", "all_items") else DynamoDBBackend, name, original)
    _originals.clear()
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
    def query(self: Table, hash_key: DynamoType | None, *args: Any, **kwargs: Any) -> Any:
        index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
        _active.partition = (hash_key,) if index_name is None and hash_key is not None else None
        _active.querying = True
        try:
            return run(self, hash_key, *args, **kwargs)
        finally:
            _active.querying = False
    query.__wrapped__ = run  # type: ignore[attr-defined]
    return query


def _all_items(self: Table) -> list[Any]:
    if not getattr(_active, "querying", False):
        return _originals["all_items"](self)  # type: ignore[no-any-return]
    if _active.partition is not None:  # moto keeps only this partition's items: hand it just those
        bucket = self.items.get(_active.partition[0])
        buckets = [] if bucket is None else [bucket]
    else:
        buckets = list(self.items.values())
    if not self.range_key_attr:
        return buckets
    return [item for bucket in buckets for item in bucket.values()]
