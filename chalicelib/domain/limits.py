"""Rate limits for the public routes: fixed-window counters. A check names what is counted (a rule),
whose count it is (a client address, a portal), how much this request costs (1 request, n files,
n bytes) and the cap per window. Pure: the window comes from `now`, the counting from a port."""
from __future__ import annotations

import math
from datetime import datetime
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field

from .errors import RateLimited


class Rule(str, Enum):
    """What a counter counts; part of its key, so two rules never share a count."""

    ACCESS_REQUEST = "access_request"  # POST /access-requests, per client
    CITIZEN_READ = "citizen_read"  # GET /c/{token} and its session, per client
    CITIZEN_WRITE = "citizen_write"  # POST /c/{token}/..., per client
    CITIZEN_PARTS = "citizen_parts"  # POST /c/{token}/uploads/{file}/parts: one per part of a large file
    PORTAL_PAGE = "portal_page"  # GET /p/{slug}, per client
    PORTAL_SESSIONS = "portal_sessions"  # sessions opened on a portal
    PORTAL_FILES = "portal_files"  # files declared through a portal's sessions
    PORTAL_BYTES = "portal_bytes"  # bytes declared through a portal's sessions
    PORTAL_SMS = "portal_sms"  # private links texted from a portal, per client
    PROGRAM_FEEDBACK = "program_feedback"  # POST /transparency/feedback, per client
    PROGRAM_SUBSCRIBE = "program_subscribe"  # POST /transparency/subscriptions, per client
    PROGRAM_CONFIRMATION = "program_confirmation"  # confirmation emails, per address asked for


class Cap(BaseModel):
    """At most `limit` units per `seconds`-long window."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    limit: int = Field(ge=1)
    seconds: int = Field(ge=1, le=86400)


class Check(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    rule: Rule
    scope: str  # "client:<address>", "portal:<id>", "portal:<id>:client:<address>"
    cap: Cap
    cost: int = Field(default=1, ge=0)


def window_start(now: datetime, seconds: int) -> int:
    """The epoch second the current window began: windows are aligned, so every caller agrees."""
    epoch = int(now.timestamp())
    return epoch - epoch % seconds


def retry_after(now: datetime, seconds: int) -> int:
    """Whole seconds until the current window ends (at least 1)."""
    ends = window_start(now, seconds) + seconds
    return max(1, math.ceil(ends - now.timestamp()))


def counter_key(check: Check, now: datetime) -> str:
    return f"{check.rule.value}#{check.scope}#{window_start(now, check.cap.seconds)}"


def expires_at(check: Check, now: datetime) -> int:
    """When the counter may be forgotten (TTL): one window after its own ends."""
    return window_start(now, check.cap.seconds) + 2 * check.cap.seconds


def refusal(check: Check, now: datetime) -> RateLimited:
    wait = retry_after(now, check.cap.seconds)
    return RateLimited(f"Too many requests; try again in {wait} seconds.", retry_after=wait,
                       details={"rule": check.rule.value, "limit": check.cap.limit,
                                "window_seconds": check.cap.seconds})


def client_scope(address: str | None) -> str:
    """A client's scope from its source address (API Gateway's identity.sourceIp)."""
    return f"client:{(address or 'unknown')[:64]}"


class RateCaps(BaseModel):
    """The caps of the public routes other than portals (a portal carries its own, see portals.py)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    access_requests: Cap = Field(default_factory=lambda: Cap(limit=10, seconds=3600))  # per client
    citizen_reads: Cap = Field(default_factory=lambda: Cap(limit=120, seconds=60))  # per client
    citizen_writes: Cap = Field(default_factory=lambda: Cap(limit=60, seconds=60))  # per client
    # per client: one request per part of a large file; 600 parts of 16 MiB a minute is 160 MiB/s
    citizen_parts: Cap = Field(default_factory=lambda: Cap(limit=600, seconds=60))
    portal_pages: Cap = Field(default_factory=lambda: Cap(limit=120, seconds=60))  # per client
    portal_sms: Cap = Field(default_factory=lambda: Cap(limit=5, seconds=3600))  # per client, and per number texted
    program_feedback: Cap = Field(default_factory=lambda: Cap(limit=20, seconds=3600))  # per client
    program_subscriptions: Cap = Field(default_factory=lambda: Cap(limit=10, seconds=3600))  # per client
    # per address: nobody mail-bombs a stranger
    program_confirmations: Cap = Field(default_factory=lambda: Cap(limit=3, seconds=86400))

    def of(self, rule: Rule) -> Cap:
        """The per-client cap of a route's rule (portals' own caps live on the portal)."""
        return {Rule.ACCESS_REQUEST: self.access_requests, Rule.CITIZEN_READ: self.citizen_reads,
                Rule.CITIZEN_WRITE: self.citizen_writes, Rule.CITIZEN_PARTS: self.citizen_parts,
                Rule.PORTAL_PAGE: self.portal_pages, Rule.PORTAL_SMS: self.portal_sms,
                Rule.PROGRAM_FEEDBACK: self.program_feedback, Rule.PROGRAM_SUBSCRIBE: self.program_subscriptions,
                Rule.PROGRAM_CONFIRMATION: self.program_confirmations}[rule]

    def scaled(self, factor: int) -> "RateCaps":
        """Every cap multiplied (the local stack's tests and benches come from one address)."""
        return RateCaps(**{name: Cap(limit=cap.limit * factor, seconds=cap.seconds)
                           for name, cap in self if isinstance(cap, Cap)})
