"""The one rate limiter of the public routes (access requests, citizen links, portals): each check
is one atomic counter update, made before any other work or signing; over a cap -> RateLimited
(429 with Retry-After)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from ..domain.limits import Cap, Check, Rule, client_scope, counter_key, expires_at, refusal

if TYPE_CHECKING:  # ports are for the annotations only (Protocol classes are slow to create)
    from ..domain.ports import Clock, RateCounter


class _LimitDeps(Protocol):
    @property
    def clock(self) -> Clock: ...
    @property
    def counters(self) -> RateCounter: ...


def enforce(*checks: Check, deps: _LimitDeps) -> None:
    """Count each check in turn; the first over its cap refuses the request (what it counted before
    stays counted: a refused burst still spends its window)."""
    now = deps.clock.now()
    for check in checks:
        if not deps.counters.take(counter_key(check, now), check.cost, check.cap.limit, expires_at(check, now)):
            raise refusal(check, now)


def per_client(rule: Rule, address: str | None, cap: Cap, *, deps: _LimitDeps, cost: int = 1) -> None:
    enforce(Check(rule=rule, scope=client_scope(address), cap=cap, cost=cost), deps=deps)
