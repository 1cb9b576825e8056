"""Custody under load: many concurrent audited reads and writes for ONE agency on the local stack
(moto server + chalice local, over HTTP). Half the callers read a submission (an audited view),
half send citizen links (a write and its delivery, each with its event). Prints refused requests
(anything but 200/201), the latency percentiles, how long the sequencer took to chain the backlog,
and whether the chain verifies with every event in it once. Asserts nothing:
tests/e2e/test_custody_load.py runs the same burst small against the suite's stack.

    .venv/bin/python bench/custody_load.py [--callers 50] [--rounds 4] [--quick]
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402


def percentile(samples: list[float], pct: int) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))] if ordered else 0.0


def burst(api: str, key: str, submission_id: str, *, callers: int) -> tuple[Counter[int], list[float]]:
    """`callers` requests at once: even ones view the submission, odd ones send a link."""
    headers = {"Authorization": f"Bearer {key}"}

    def one(n: int) -> tuple[int, float]:
        started = time.perf_counter()
        if n % 2:
            response = requests.post(f"{api}/agency/citizen-links", headers=headers, timeout=60,
                                     json={"case_ref": f"LOAD-{n}", "phone": "+15555550100"})
        else:
            response = requests.get(f"{api}/agency/submissions/{submission_id}", headers=headers, timeout=60)
        return response.status_code, (time.perf_counter() - started) * 1000

    with ThreadPoolExecutor(callers) as pool:
        results = list(pool.map(one, range(callers)))
    return Counter(status for status, _ in results), [ms for _, ms in results]


def chain_report(deps: Any, agency_id: str, *, timeout: float = 60) -> dict[str, Any]:
    """Wait for the sequencer to chain everything, then verify: (seconds waited, entries, problems)."""
    from chalicelib.services import custody

    started = time.monotonic()
    while deps.audit.waiting(agency_id) and time.monotonic() - started < timeout:
        time.sleep(0.05)
    report = custody.verify(agency_id, deps=deps)
    return {**report, "chained_after_s": round(time.monotonic() - started, 2)}


def seeded_submission(stack: Any) -> str:
    """One submission with a verified file for the readers to view."""
    from chalicelib import bootstrap
    from chalicelib.domain.commands import CompleteSubmission, CreateCitizenLink, DeclaredFile, RequestUploads
    from chalicelib.domain.models import Principal, Role
    from chalicelib.services import citizen_links, citizen_uploads

    deps = bootstrap.deps()
    officer = Principal(agency_id=stack.seed.agency_id, role=Role.OFFICER, key_id="load")
    _, url = citizen_links.send_citizen_link(officer, CreateCitizenLink(case_ref="LOAD", email="c@x.example"),
                                             page_base="http://x", deps=deps)
    token = url.rsplit("/", 1)[-1]
    jpeg = b"\xff\xd8\xff\xe0" + b"\x03" * 300
    sid, [(_, post)] = citizen_uploads.request_uploads(token, RequestUploads(files=[
        DeclaredFile(name="a.jpg", size=len(jpeg), content_type="image/jpeg")]), deps=deps)
    requests.post(post.url, data=post.fields, files={"file": ("a.jpg", jpeg)}, timeout=10)
    stack.wait_for(lambda: next(iter(deps.submissions.get_submission(stack.seed.agency_id, sid).files.values())).sha256,
                   what="the upload to be verified")
    citizen_uploads.complete(token, CompleteSubmission(), deps=deps)
    return sid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--callers", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--quick", action="store_true", help="10 callers, 1 round")
    args = parser.parse_args()
    callers, rounds = (10, 1) if args.quick else (args.callers, args.rounds)
    from chalicelib import bootstrap
    from infra.local_stack import LocalStack

    stack = LocalStack(log=lambda line: None, chalice_log=ROOT / ".local" / "bench-chalice.log").start()
    try:
        assert stack.seed
        sid = seeded_submission(stack)
        statuses: Counter[int] = Counter()
        latencies: list[float] = []
        for _ in range(rounds):
            got, ms = burst(stack.api_url, stack.seed.officer_key, sid, callers=callers)
            statuses.update(got)
            latencies += ms
        report = chain_report(bootstrap.deps(), stack.seed.agency_id)
    finally:
        stack.stop()
    refused = sum(n for status, n in statuses.items() if status not in (200, 201))
    print(f"callers {callers} rounds {rounds} requests {sum(statuses.values())} statuses {dict(statuses)}")
    print(f"refused {refused}")
    print(f"latency_ms p50 {percentile(latencies, 50):.0f} p95 {percentile(latencies, 95):.0f} "
          f"p99 {percentile(latencies, 99):.0f}")
    print(f"chain entries {report['entries']} waiting {report['waiting']} intact {report['intact']} "
          f"chained_after_s {report['chained_after_s']}")


if __name__ == "__main__":
    main()
