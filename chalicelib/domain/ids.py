"""Identifiers and secrets. Ids sort by creation time so listings come out newest first."""
from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from datetime import datetime, timedelta, timezone

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case


def _b32(number: int, length: int) -> str:
    chars = []
    for _ in range(length):
        number, rem = divmod(number, 32)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


_last = [0, 0]  # (ms, random part) of the last id made here
_lock = threading.Lock()


def new_id(now: datetime) -> str:
    """A 26-character, time-sortable id (ULID layout: 48-bit ms time + 80 random bits). Ids made
    in one process within the same millisecond keep their order (the random part counts up), so
    audit events recorded one after another are chained in that order."""
    millis = (now - _EPOCH) // timedelta(milliseconds=1)  # integer arithmetic: floats drop a ms
    with _lock:
        rand = _last[1] + 1 if millis == _last[0] and _last[1] < 2**80 - 1 else secrets.randbits(79)
        _last[:] = [millis, rand]
    return _b32(millis, 10) + _b32(rand, 16)


def is_id(value: str) -> bool:
    """Could this be one of our ids? Checked before a lookup: a stranger's string never reaches a key."""
    return len(value) == 26 and all(c in _ALPHABET for c in value)


def new_token() -> str:
    """An unguessable bearer token (256 bits)."""
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """SHA-256 of a secret: the only form in which tokens and API keys are stored."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def same_digest(stored: str, secret: str) -> bool:
    return hmac.compare_digest(stored, digest(secret))


def new_api_key() -> str:
    """An agency API key; the prefix lets secret scanners recognise a leaked key."""
    return "cek_" + secrets.token_urlsafe(32)
