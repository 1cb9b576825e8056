"""The upload handler reads S3's Object Created detail; anything else is ignored, not guessed at."""
from __future__ import annotations

import pytest

from chalicelib.events import created_object


def test_an_object_created_detail_gives_what_ingest_needs():
    detail = {"version": "0", "bucket": {"name": "b"}, "reason": "PostObject",
              "object": {"key": "agencies/a/f", "size": 12, "etag": "e1", "version-id": "v-1", "sequencer": "0A"}}
    assert created_object(detail) == {"bucket": "b", "key": "agencies/a/f", "etag": "e1", "size": 12,
                                      "version_id": "v-1"}


def test_optional_fields_default_and_etag_has_two_spellings():
    found = created_object({"bucket": {"name": "b"}, "object": {"key": "k", "eTag": "e2"}})
    assert found == {"bucket": "b", "key": "k", "etag": "e2", "size": None, "version_id": None}
    unversioned = created_object({"bucket": {"name": "b"}, "object": {"key": "k", "version-id": None}})
    assert unversioned is not None and unversioned["version_id"] is None and unversioned["etag"] == ""


@pytest.mark.parametrize("detail", [
    {"nope": 1},
    {"bucket": {"name": "b"}},
    {"object": {"key": "k"}},
    {"bucket": "b", "object": {"key": "k"}},
    {"bucket": {"name": 7}, "object": {"key": "k"}},
    {"bucket": {"name": "b"}, "object": {"key": 42}},
    {"bucket": {"name": "b"}, "object": {"key": ""}},
    {"bucket": {"name": "b"}, "object": {"key": "k" * 1025}},
    {"bucket": {"name": "b"}, "object": {"key": "k", "size": -1}},
    {"bucket": {"name": "b"}, "object": {"key": "k", "size": "12"}},
    {"bucket": {"name": "b"}, "object": {"key": "k", "etag": 5}},
    {"bucket": {"name": "b"}, "object": {"key": "k", "version-id": 3}},
    None,
    [],
])
def test_shapes_it_does_not_understand_give_none(detail):
    assert created_object(detail) is None
