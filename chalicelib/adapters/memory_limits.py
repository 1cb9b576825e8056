"""RateCounter in memory: the same fixed-window rule as the DynamoDB adapter (add only within the cap)."""
from __future__ import annotations

import threading


class MemoryRateCounter:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.calls = 0
        self._lock = threading.Lock()

    def take(self, key: str, cost: int, limit: int, expires_at: int) -> bool:
        with self._lock:
            self.calls += 1
            now = self.counts.get(key, 0)
            if now + cost > limit:
                return False
            self.counts[key] = now + cost
            return True
