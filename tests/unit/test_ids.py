"""Identifiers and secrets: time-sortable ids, unguessable tokens, digests compared safely."""
from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.domain import ids

NOW = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)
ID_SHAPE = re.compile(r"^[0-9abcdefghjkmnpqrstvwxyz]{26}$")
URL_SAFE = re.compile(r"^[A-Za-z0-9_-]+$")


# --- ids ----------------------------------------------------------------------------------

def test_an_id_is_26_lower_case_crockford_base32_characters():
    assert ID_SHAPE.match(ids.new_id(NOW))


def test_an_id_has_no_ambiguous_letters():
    made = "".join(ids.new_id(NOW) for _ in range(500))
    assert not set(made) & set("ilou")


def test_an_id_starts_with_its_creation_time_in_milliseconds():
    millis = (NOW - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(milliseconds=1)
    expected = "".join("0123456789abcdefghjkmnpqrstvwxyz"[(millis >> (5 * i)) & 31] for i in reversed(range(10)))
    assert ids.new_id(NOW)[:10] == expected


@pytest.mark.parametrize("instant", [
    datetime(2004, 10, 27, 14, 12, 38, 337000, tzinfo=timezone.utc),
    datetime(2038, 4, 20, 4, 17, 57, 555000, tzinfo=timezone.utc),
])
def test_the_time_part_of_an_id_is_exact_to_the_millisecond_at_any_instant(instant):
    before = ids.new_id(instant - timedelta(milliseconds=1))[:10]
    assert ids.new_id(instant)[:10] > before


def test_ids_made_at_the_same_millisecond_share_their_time_part():
    assert ids.new_id(NOW)[:10] == ids.new_id(NOW + timedelta(microseconds=999))[:10]


@pytest.mark.parametrize("step", [timedelta(milliseconds=1), timedelta(seconds=1), timedelta(days=1)])
def test_ids_made_at_increasing_times_sort_increasingly(step):
    times = [NOW + n * step for n in range(200)]
    made = [ids.new_id(t) for t in times]
    assert made == sorted(made)
    assert len(set(made)) == len(made)


def test_ids_sort_by_time_across_years():
    times = [datetime(year, 1, 1, tzinfo=timezone.utc) for year in (1999, 2000, 2024, 2038, 2100)]
    made = [ids.new_id(t) for t in times]
    assert made == sorted(made)


def test_ids_are_unique_over_10000_calls_at_the_same_instant():
    made = {ids.new_id(NOW) for _ in range(10_000)}
    assert len(made) == 10_000


def test_the_time_part_does_not_depend_on_the_time_zone_of_the_clock():
    paris = NOW.astimezone(timezone(timedelta(hours=1)))
    assert ids.new_id(paris)[:10] == ids.new_id(NOW)[:10]


# --- tokens and keys ----------------------------------------------------------------------

def test_a_token_is_at_least_43_url_safe_characters():
    token = ids.new_token()
    assert len(token) >= 43
    assert URL_SAFE.match(token)


def test_tokens_are_unique():
    assert len({ids.new_token() for _ in range(10_000)}) == 10_000


def test_an_api_key_is_prefixed_and_url_safe():
    key = ids.new_api_key()
    assert key.startswith("cek_")
    assert len(key) >= 4 + 43
    assert URL_SAFE.match(key[4:])


# --- digests ------------------------------------------------------------------------------

@pytest.mark.parametrize("secret", ["", "abc", "tökén", ids.new_token()])
def test_a_digest_is_the_sha256_hex_of_the_utf8_secret(secret):
    assert ids.digest(secret) == hashlib.sha256(secret.encode("utf-8")).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", ids.digest(secret))


def test_the_digest_of_abc_is_the_published_sha256_test_vector():
    assert ids.digest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_a_secret_matches_its_stored_digest():
    token = ids.new_token()
    assert ids.same_digest(ids.digest(token), token) is True


@pytest.mark.parametrize("attempt", ["", "wrong", "x" * 43])
def test_another_secret_does_not_match_the_stored_digest(attempt):
    assert ids.same_digest(ids.digest("the-real-token"), attempt) is False


def test_a_digest_is_not_accepted_in_place_of_the_secret():
    token = ids.new_token()
    assert ids.same_digest(ids.digest(token), ids.digest(token)) is False
