"""A burst of public requests against the local stack (moto server + chalice local, over HTTP):
first access requests (POST /access-requests, each a distinct organisation), then citizen sessions
(GET /c/{token}/session over a few links), each phase at the given concurrency. Prints the status
counts, errors (anything but the intended 2xx and 429), p50/p95/p99 latency, and the memory of this
process, which hosts the moto server (ThreadedMotoServer), before and after. Asserts nothing:
tests/integration/test_bench_scripts.py runs it --quick.

    .venv/bin/python bench/burst.py [--requests 1000] [--concurrency 20] [--links 20] [--quick] [--shim off]
"""
from __future__ import annotations

import argparse
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from infra import moto_tx  # noqa: E402
from infra.local_stack import LocalStack  # noqa: E402

INTENDED = {200, 201, 429}  # 429: a rate limit saying so is the intended answer to a burst
_local = threading.local()


def memory_mb() -> tuple[float, float]:
    """(VmRSS, VmHWM) of this process in MB: the in-process moto server's memory."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def percentile(samples: list[float], pct: int) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))] if ordered else 0.0


def session() -> requests.Session:
    if not hasattr(_local, "session"):  # one connection pool per worker thread
        _local.session = requests.Session()
    return _local.session


def call(send: Callable[[requests.Session], requests.Response]) -> tuple[str, float]:
    started = time.perf_counter()
    try:
        reply = send(session())
        status = str(reply.status_code)
        if reply.status_code >= 400 and reply.status_code != 429:  # which refusal: our errors carry a code
            status += f":{reply.json().get('code', '?') if 'json' in reply.headers.get('content-type', '') else '?'}"
    except requests.RequestException as exc:
        status = type(exc).__name__
    return status, (time.perf_counter() - started) * 1000


def access_request(api: str, run_id: str, n: int) -> Callable[[requests.Session], requests.Response]:
    body = {"organisation": f"Burst County {run_id} Unit {n}", "organisation_type": "public_safety",
            "country": "US", "contact_name": "Desk Sergeant", "contact_email": f"desk{n}@burst.example"}
    return lambda s: s.post(f"{api}/access-requests", json=body, timeout=120)


def citizen_session(api: str, token: str) -> Callable[[requests.Session], requests.Response]:
    return lambda s: s.get(f"{api}/c/{token}/session", timeout=120)


def phase(name: str, sends: list[Callable[[requests.Session], requests.Response]], concurrency: int) -> int:
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(call, sends))
    wall = time.perf_counter() - started
    statuses = Counter(status for status, _ in results)
    errors = sum(n for status, n in statuses.items() if not status.isdigit() or int(status) not in INTENDED)
    times = [ms for _, ms in results]
    print(f"{name:<16} {len(results):>6} {errors:>6} {percentile(times, 50):>8.1f} {percentile(times, 95):>8.1f} "
          f"{percentile(times, 99):>8.1f} {wall:>7.1f} {len(results) / wall:>7.1f}  "
          f"{dict(sorted(statuses.items()))}", flush=True)
    return errors


def make_links(stack: LocalStack, count: int) -> list[str]:
    assert stack.seed
    officer = requests.Session()
    officer.headers["Authorization"] = f"Bearer {stack.seed.officer_key}"
    tokens = []
    for n in range(count):
        reply = officer.post(f"{stack.api_url}/agency/citizen-links",
                             json={"case_ref": f"BURST-{n}", "email": f"witness{n}@burst.example"}, timeout=60)
        reply.raise_for_status()
        tokens.append(reply.json()["url"].rsplit("/", 1)[-1])
    return tokens


def burst(stack: LocalStack, total: int, concurrency: int, links: int) -> None:
    tokens, run_id, api = make_links(stack, links), uuid.uuid4().hex[:8], stack.api_url
    firsts = total // 2
    before = memory_mb()
    print(f"{total} public requests at concurrency {concurrency}; latency in ms; "
          f"memory = this process (the in-process moto server), MB")
    print(f"{'phase':<16} {'sent':>6} {'errors':>6} {'p50':>8} {'p95':>8} {'p99':>8} {'wall s':>7} {'req/s':>7}"
          "  statuses")
    errors = phase("access_requests", [access_request(api, run_id, n) for n in range(firsts)], concurrency)
    errors += phase("citizen_session", [citizen_session(api, tokens[n % len(tokens)])
                                        for n in range(total - firsts)], concurrency)
    after = memory_mb()
    print(f"errors {errors}")
    print(f"rss before {before[0]:.0f} MB, after {after[0]:.0f} MB, peak {after[1]:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1_000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--links", type=int, default=20, help="citizen links the sessions cycle over")
    parser.add_argument("--quick", action="store_true", help="40 requests at concurrency 4 (the suite's run)")
    parser.add_argument("--shim", choices=["on", "off"], default="on", help="off: moto's whole-table rollback copy")
    args = parser.parse_args()
    total, concurrency, links = (40, 4, 3) if args.quick else (args.requests, args.concurrency, args.links)
    (ROOT / ".local").mkdir(exist_ok=True)
    with LocalStack(log=lambda line: None, chalice_log=ROOT / ".local" / "bench-chalice.log") as stack:
        if args.shim == "off":
            moto_tx.uninstall()
        burst(stack, total, concurrency, links)


if __name__ == "__main__":
    main()
