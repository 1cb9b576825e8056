"""A burst of portal session requests against the local stack (moto server + chalice local, over
HTTP): an admin opens a portal whose per-client session cap is half the burst, then POST
/p/{slug}/sessions is sent `--requests` times at `--concurrency`, all from this one address. The
caps are meant to refuse the second half with 429; anything else that is not a 201 is an error.
Prints the statuses, errors, 429s, round-trip and server time (the app's Server-Timing header:
from the request reaching the handler to its answer) p50/p95/p99. Asserts nothing:
tests/integration/test_bench_scripts.py runs it --quick.

    .venv/bin/python bench/portal_burst.py [--requests 1000] [--concurrency 20] [--quick]
"""
from __future__ import annotations

import argparse
import re
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import requests  # noqa: E402
from burst import percentile  # noqa: E402

from infra.local_stack import LocalStack  # noqa: E402

INTENDED = {201, 429}
WINDOW = 86_400  # the longest cap window: a burst rarely spans two (it prints how many it did)
SERVER_TIMING = re.compile(r"app;dur=([0-9.]+)")
_local = threading.local()


def session() -> requests.Session:
    if not hasattr(_local, "session"):
        _local.session = requests.Session()
    return _local.session


def open_portal(stack: LocalStack, per_client: int) -> str:
    assert stack.seed
    admin = requests.Session()
    admin.headers["Authorization"] = f"Bearer {stack.seed.admin_key}"
    slug = f"burst-{uuid.uuid4().hex[:8]}"
    body = {"title": "Burst", "slug": slug, "terms": {"version": "v1", "text": {"en": "Mine."}},
            "caps": {"window_seconds": WINDOW, "sessions_per_client": per_client, "sessions_per_portal": 1_000_000}}
    made = admin.post(f"{stack.api_url}/agency/portals", json=body, timeout=60)
    made.raise_for_status()
    admin.post(f"{stack.api_url}/agency/portals/{made.json()['portal_id']}/open", timeout=60).raise_for_status()
    return slug


def one(url: str) -> tuple[str, float, float | None]:
    started = time.perf_counter()
    try:
        reply = session().post(url, json={"terms_version": "v1", "accept_terms": True}, timeout=120)
        status = str(reply.status_code)
        if reply.status_code not in INTENDED:
            status += f":{reply.json().get('code', '?') if 'json' in reply.headers.get('content-type', '') else '?'}"
        timing = SERVER_TIMING.search(reply.headers.get("Server-Timing", ""))
        server = float(timing.group(1)) if timing else None
    except requests.RequestException as exc:
        status, server = type(exc).__name__, None
    return status, (time.perf_counter() - started) * 1000, server


def burst(stack: LocalStack, total: int, concurrency: int) -> None:
    slug = open_portal(stack, per_client=total // 2)
    url = f"{stack.api_url}/p/{slug}/sessions"
    started, first_window = time.perf_counter(), int(time.time() // WINDOW)
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(one, [url] * total))
    wall, windows = time.perf_counter() - started, int(time.time() // WINDOW) - first_window + 1
    statuses = Counter(status for status, _, _ in results)
    errors = sum(n for status, n in statuses.items() if not status.isdigit() or int(status) not in INTENDED)
    trips = [ms for _, ms, _ in results]
    servers = [ms for _, _, ms in results if ms is not None]
    print(f"{total} portal session requests at concurrency {concurrency}, per-client cap {total // 2}; ms")
    print(f"{'measure':<12} {'p50':>8} {'p95':>8} {'p99':>8}")
    for name, samples in (("round_trip", trips), ("server", servers)):
        print(f"{name:<12} {percentile(samples, 50):>8.1f} {percentile(samples, 95):>8.1f} "
              f"{percentile(samples, 99):>8.1f}")
    print(f"statuses {dict(sorted(statuses.items()))}")
    print(f"sent {total} created {statuses.get('201', 0)} limited {statuses.get('429', 0)} errors {errors} "
          f"wall {wall:.1f} s req/s {total / wall:.1f} windows {windows}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1_000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="40 requests at concurrency 4 (the suite's run)")
    args = parser.parse_args()
    total, concurrency = (40, 4) if args.quick else (args.requests, args.concurrency)
    (ROOT / ".local").mkdir(exist_ok=True)
    with LocalStack(log=lambda line: None, chalice_log=ROOT / ".local" / "bench-chalice.log") as stack:
        burst(stack, total, concurrency)


if __name__ == "__main__":
    main()
