"""The relay's uplink cap (bench/upload_page.py --uplink-mbit): chunks from every connection take
turns on one shared link, each waiting for the bytes before it to have gone at the set rate."""
from __future__ import annotations

from infra.relay import Relay


class FrozenClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_capped_chunks_queue_on_one_link_and_an_idle_link_starts_afresh() -> None:
    clock, waits = FrozenClock(), []
    relay = Relay(1, clock=clock, sleep=waits.append)  # nothing connects: only the pacing is used
    try:
        relay._pace(500)  # no cap: no wait
        relay.uplink_bytes_per_s = 1000
        for _ in range(3):  # three connections' chunks at the same moment
            relay._pace(500)
        clock.now += 10  # the link went idle meanwhile
        relay._pace(250)
    finally:
        relay.close()
    assert waits == [0.5, 1.0, 1.5, 0.25]
