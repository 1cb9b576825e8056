"""The citizen upload page's throughput and what a cut connection costs, on the local stack.

1. The page (headless Chromium, multipart above the threshold, 4 parts at a time, hashing as it
   reads) uploads a file; in the same run boto3's `upload_file` (its defaults) sends the same file
   to the same S3 endpoint. Prints both times and their ratio (boto3 time / page time, to all bytes
   in S3 and assembled; target >= 0.9) and the time to the server's verdict. Beside them, the
   browser's floor on this machine: the same browser sending the same file in parts of the page's
   size, 6 at a time, with every URL signed before the click and no hashing and no API call. No
   page can beat it here; how close the page comes is what the page's own code costs.
2. The page uploads a larger file and the connection to S3 is cut (every connection reset, new ones
   refused) for a few seconds at 35%; prints the bytes the browser sent in all (target <= 1.1x the
   file) and whether the stored object is byte-identical with exactly one file record.

Browsers reach S3 through the stack's TCP relay (infra/relay.py), which counts their bytes.
Prints; asserts nothing (tests/integration/test_bench_scripts.py runs --quick and checks behaviour).

    .venv/bin/python bench/upload_page.py [--size-mib 512] [--rounds 3] [--cut-size-mib 1024] [--cut-s 5] [--quick]
        [--part-mib N] [--uplink-mbit N] [--set KEY=JSON ...] [--variant KEY=JSON,... ...]
        (--cut-size-mib 0: no cut run)
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

MIB = 1024 * 1024
MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking"]


def make_video(path: Path, size: int) -> str:
    """A file the server sniffs as MP4; returns its SHA-256."""
    digest = hashlib.sha256()
    block = os.urandom(8 * MIB)
    with path.open("wb") as out:
        out.write(MP4_HEAD)
        digest.update(MP4_HEAD)
        left = size - len(MP4_HEAD)
        while left:
            chunk = block[:min(left, len(block))]
            out.write(chunk)
            digest.update(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def new_link(stack: Any, case_ref: str) -> dict[str, Any]:
    response = requests.post(f"{stack.api_url}/agency/citizen-links", timeout=30,
                             headers={"Authorization": f"Bearer {stack.seed.officer_key}"},
                             json={"case_ref": case_ref, "phone": "+15555550123"})
    response.raise_for_status()
    link: dict[str, Any] = response.json()
    return link


def row_state(page: Any) -> str:
    return str(page.evaluate("() => (document.querySelector('.file') || {className: ''}).className"))


def sent_fraction(page: Any) -> float:
    return float(page.evaluate("() => { const b = document.querySelector('#overall-progress');"
                               " return b.max > 1 ? b.value / b.max : 0; }"))


def wait(predicate: Any, timeout: float) -> None:
    until = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > until:
            raise TimeoutError("the page did not get there in time")
        time.sleep(0.05)


def page_upload(browser: Any, stack: Any, path: Path, *, cut_at: float | None = None,
                cut_s: float = 0, tuning: dict[str, Any] | None = None) -> dict[str, Any]:
    """Upload through the page; times from the click to 'all in S3' and to the verdict."""
    link = new_link(stack, "BENCH-UPLOAD")
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(60_000)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text) if message.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: console.append(str(error)))
    page.goto(link["url"])
    page.wait_for_selector("#form:not([hidden])")
    page.set_input_files("#file-input", [str(path)])
    for key, value in (tuning or {}).items():  # an experiment: CitizenTransfer.cfg overrides
        if key == "no_hashing":  # an experiment: what the page costs without hashing or reading
            page.evaluate("() => { window.hashwasm = undefined; window.CitizenTransfer.cfg.hashInWorker = false; }")
        else:
            page.evaluate("([k, v]) => { window.CitizenTransfer.cfg[k] = v; }", [key, value])
    page.evaluate("() => performance.mark('click')")
    bytes_before = stack.relay.bytes_up
    started = time.perf_counter()
    page.click("#send")
    if cut_at is not None:
        wait(lambda: sent_fraction(page) >= cut_at, timeout=600)
        stack.relay.cut()
        time.sleep(cut_s)
        stack.relay.restore()
    try:
        wait(lambda: any(s in row_state(page) for s in ("is-checking", "is-verified", "is-refused", "is-failed")),
             timeout=float(os.environ.get("BENCH_WAIT_S", "3600")))
    except TimeoutError:
        raise TimeoutError(f"stuck at {row_state(page)!r}; the page said {console[-5:]}") from None
    sent_s = time.perf_counter() - started
    page.locator("#confirmation").wait_for(state="visible", timeout=600_000)
    verdict_s = time.perf_counter() - started
    sent_bytes = stack.relay.bytes_up - bytes_before
    marks = page.evaluate("() => performance.getEntriesByType('mark').map((m) => [m.name, m.startTime])")
    context.close()
    files = requests.get(f"{stack.api_url}/agency/submissions/{link['link_id']}", timeout=60,
                         headers={"Authorization": f"Bearer {stack.seed.officer_key}"}).json()["files"]
    return {"sent_s": sent_s, "verdict_s": verdict_s, "bytes": sent_bytes, "files": files, "marks": marks}


def where_time_went(marks: list[list[Any]]) -> str:
    """From the page's marks (cfg.trace): when hashing, signing and sending ran, in seconds from the
    first part's hashing; a part's hash, wait for its URL and PUT on average."""
    at: dict[str, float] = {name: ms / 1000 for name, ms in marks}
    if "hash:1" not in at:
        return "  (no marks)"
    zero = at.get("click", at["hash:1"])
    numbers = sorted(int(name.split(":")[1]) for name in at if name.startswith("sent:"))

    def mean(first: str, then: str) -> float:
        spans = [at[f"{then}:{n}"] - at[f"{first}:{n}"] for n in numbers if f"{first}:{n}" in at]
        return sum(spans) / max(1, len(spans))

    hashed = [at[f"hashed:{n}"] for n in numbers if f"hashed:{n}" in at]
    signing = [at["signed:" + name[5:]] - at[name] for name in at
               if name.startswith("sign:") and "signed:" + name[5:] in at]
    return (f"  marks (s from the click): parts {len(numbers)} first_hash {at['hash:1'] - zero:.2f} "
            f"last_hashed {max(hashed) - zero:.2f} first_put {at['put:1'] - zero:.2f} "
            f"last_sent {max(at[f'sent:{n}'] for n in numbers) - zero:.2f} complete {at['complete'] - zero:.2f} "
            f"completed {at.get('completed', 0) - zero:.2f} "
            f"signs {len(signing)} taking {sum(signing):.2f} s (longest {max(signing, default=0):.2f}) "
            f"| mean per part: hash "
            f"{mean('hash', 'hashed'):.2f} hashed->put {mean('hashed', 'put'):.2f} put {mean('put', 'sent'):.2f}")


def boto3_upload(stack: Any, path: Path) -> dict[str, float]:
    """boto3's upload_file with its defaults; its time, and its CompleteMultipartUpload call's."""
    import boto3
    from botocore.config import Config

    s3 = boto3.client("s3", endpoint_url=stack.relay.url, region_name="us-east-1",
                      config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
    completing: list[float] = []
    for when in ("before-call", "after-call"):
        s3.meta.events.register(f"{when}.s3.CompleteMultipartUpload",
                                lambda **_: completing.append(time.perf_counter()))
    started = time.perf_counter()
    s3.upload_file(str(path), os.environ["EVIDENCE_BUCKET"], f"bench/{path.name}")
    return {"sent_s": time.perf_counter() - started, "complete_s": completing[-1] - completing[0]}


FLOOR_JS = """async ([urls, partSize, parallel]) => {
  const file = document.querySelector('#floor-input').files[0];
  let next = 0;
  const put = (i) => new Promise((ok, fail) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', urls[i]);
    xhr.onload = () => (xhr.status < 300 ? ok() : fail(new Error('HTTP ' + xhr.status)));
    xhr.onerror = () => fail(new Error('network'));
    xhr.send(file.slice(i * partSize, Math.min(file.size, (i + 1) * partSize)));
  });
  const lane = async () => { while (next < urls.length) { const i = next; next += 1; await put(i); } };
  await Promise.all(Array.from({ length: parallel }, lane));
}"""


def browser_floor(browser: Any, stack: Any, path: Path, part_bytes: int, parallel: int = 6) -> dict[str, Any]:
    """What this browser on this box can do at best: the same file to the same S3 endpoint (through
    the relay) in parts of the page's size, `parallel` at a time, every URL signed before the click,
    no hashing, no checksums and no call to our API; completed with boto3. Time to all in S3 and
    assembled, as for the others."""
    import boto3
    from botocore.config import Config

    s3 = boto3.client("s3", endpoint_url=stack.relay.url, region_name="us-east-1",
                      config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
    bucket, key = os.environ["EVIDENCE_BUCKET"], f"bench/floor-{time.time_ns()}"
    link = new_link(stack, "BENCH-FLOOR")
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(link["url"])
    page.wait_for_selector("#form:not([hidden])")
    page.evaluate("() => { const i = document.createElement('input'); i.type = 'file'; i.id = 'floor-input';"
                  " document.body.append(i); }")  # the page's own input hands its files to the page's list
    page.set_input_files("#floor-input", [str(path)])
    size = path.stat().st_size
    started = time.perf_counter()
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    numbers = range(1, -(-size // part_bytes) + 1)
    urls = [s3.generate_presigned_url("upload_part", ExpiresIn=3600, Params={
        "Bucket": bucket, "Key": key, "UploadId": upload_id, "PartNumber": n}) for n in numbers]
    page.evaluate(FLOOR_JS, [urls, part_bytes, parallel])
    parts = s3.list_parts(Bucket=bucket, Key=key, UploadId=upload_id)["Parts"]
    s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={
        "Parts": [{"PartNumber": p["PartNumber"], "ETag": p["ETag"]} for p in parts]})
    sent_s = time.perf_counter() - started
    context.close()
    s3.delete_object(Bucket=bucket, Key=key)
    return {"sent_s": sent_s, "parts": len(parts)}


def parse_settings(text: str) -> dict[str, Any]:
    return {key: json.loads(value) for key, value in (item.split("=", 1) for item in text.split(",") if item)}


def cpu_seconds() -> dict[str, float]:
    """CPU seconds so far of this process (moto, the relay, boto3), its child processes that are
    Chromium, and the others (chalice local), read from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                text = (entry / "stat").read_text()
                name = (entry / "comm").read_text().strip()
            except OSError:
                continue
            fields = text[text.rindex(")") + 2:].split()
            stats[int(entry.name)] = (int(fields[1]), name, (int(fields[11]) + int(fields[12])) / tick)
    totals = {"bench": stats[os.getpid()][2], "chromium": 0.0, "chalice": 0.0}
    for pid, (ppid, name, cpu) in stats.items():
        parent = ppid
        while parent not in (0, 1, os.getpid()) and parent in stats:
            parent = stats[parent][0]
        if parent == os.getpid() and pid != os.getpid():
            totals["chromium" if "chrom" in name or "headless" in name else "chalice"] += cpu
    return totals


def measured(run: Any) -> dict[str, Any]:
    """`run()`'s result with the CPU seconds each kind of process spent meanwhile."""
    before = cpu_seconds()
    result: dict[str, Any] = run()
    after = cpu_seconds()
    return result | {"cpu": {kind: after[kind] - before.get(kind, 0.0) for kind in after}}


def cpu_text(results: list[dict[str, Any]]) -> str:
    best = min(results, key=lambda r: r["sent_s"])["cpu"]
    return " ".join(f"{kind} {seconds:.1f}" for kind, seconds in best.items() if seconds > 0)  # < 0: a process left


def one_verified_copy(result: dict[str, Any], sha256: str) -> bool:
    files = result["files"]
    return len(files) == 1 and files[0]["status"] == "verified" and files[0]["sha256"] == sha256


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=512)
    parser.add_argument("--cut-size-mib", type=int, default=1024)
    parser.add_argument("--cut-s", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=3, help="page and boto3 runs each, alternated; the best of each")
    parser.add_argument("--quick", action="store_true", help="24 and 30 MiB, 6 MiB threshold, 5 MiB parts, 1 s cut")
    parser.add_argument("--part-mib", type=int, default=0, help="the server's part size (default: the app's)")
    parser.add_argument("--uplink-mbit", type=float, default=0,
                        help="cap what every run sends to S3 at this rate (a phone's uplink; default: loopback)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=JSON",
                        help="an experiment: override the page's CitizenTransfer.cfg[KEY]")
    parser.add_argument("--variant", action="append", default=[], metavar="KEY=JSON,...",
                        help="an experiment: one more page run per round with these settings")
    args = parser.parse_args()
    size, cut_size, cut_s = (24, 30, 1.0) if args.quick else (args.size_mib, args.cut_size_mib, args.cut_s)
    args.rounds = 1 if args.quick else args.rounds
    small = {"MULTIPART_THRESHOLD_BYTES": str(6 * MIB), "MULTIPART_PART_BYTES": str(5 * MIB)} if args.quick else {}
    if args.part_mib:
        small["MULTIPART_PART_BYTES"] = str(args.part_mib * MIB)
    tuning = parse_settings(",".join(args.set))
    from playwright.sync_api import sync_playwright

    from chalicelib.config import Settings
    from chalicelib.domain import multipart
    from infra.local_stack import LocalStack

    stack = LocalStack(log=lambda line: None, chalice_log=ROOT / ".local" / "bench-upload-chalice.log",
                       s3_relay=True, extra_env=small).start()
    if args.uplink_mbit:
        stack.relay.uplink_bytes_per_s = args.uplink_mbit * 1e6 / 8
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        with tempfile.TemporaryDirectory() as tmp:
            video = Path(tmp) / "bench.mp4"
            digest = make_video(video, size * MIB)
            variants = [("as_built", tuning)] + [(text, {**tuning, **parse_settings(text)}) for text in args.variant]
            runs: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in variants}
            boto3_runs: list[dict[str, Any]] = []
            floor_runs: list[dict[str, Any]] = []
            part_bytes = multipart.part_size(size * MIB, int(small.get("MULTIPART_PART_BYTES", Settings.part_bytes)))
            for round_ in range(args.rounds):  # alternate the order: the box's load drifts
                turn: list[Any] = [None, "floor"] + variants
                for entry in turn[round_ % len(turn):] + turn[:round_ % len(turn)]:
                    if entry is None:
                        boto3_runs.append(measured(lambda: boto3_upload(stack, video)))
                    elif entry == "floor":
                        floor_runs.append(measured(lambda: browser_floor(browser, stack, video, part_bytes)))
                    else:
                        name, settings = entry
                        runs[name].append(measured(lambda s=settings: page_upload(browser, stack, video, tuning=s)))
            boto3_s = min(r["sent_s"] for r in boto3_runs)
            print(f"uplink_mbit {args.uplink_mbit or 'loopback'}")
            print(f"boto3 size_mib {size} best_s {boto3_s:.2f} each "
                  + " ".join(f"{r['sent_s']:.2f}" for r in boto3_runs) + " complete_s "
                  + " ".join(f"{r['complete_s']:.2f}" for r in boto3_runs) + f" | cpu_s {cpu_text(boto3_runs)}")
            floor_s = min(r["sent_s"] for r in floor_runs)
            print(f"browser_floor size_mib {size} part_mib {part_bytes / MIB:g} parallel 6 best_s {floor_s:.2f} "
                  f"ratio {boto3_s / floor_s:.2f} (the best any page can do here: no hashing, no API calls) each "
                  + " ".join(f"{r['sent_s']:.2f}" for r in floor_runs) + f" | cpu_s {cpu_text(floor_runs)}")
            for name, results in runs.items():
                page = min(results, key=lambda p: p["sent_s"])
                print(f"page_upload variant {name} size_mib {size} page_s {page['sent_s']:.2f} boto3_s {boto3_s:.2f} "
                      f"ratio {boto3_s / page['sent_s']:.2f} verdict_s {page['verdict_s']:.2f} "
                      f"verified {all(one_verified_copy(p, digest) for p in results)} rounds {args.rounds} "
                      f"load {os.getloadavg()[0]:.1f}")
                print("  each round: " + " ".join(f"{p['sent_s']:.2f}" for p in results)
                      + f" | cpu_s {cpu_text(results)}")
                if dict(variants)[name].get("trace"):
                    for result in results:
                        print(where_time_went(result["marks"]))
            video.unlink()
            if not cut_size:
                return
            digest = make_video(video, cut_size * MIB)
            cut = page_upload(browser, stack, video, cut_at=0.35, cut_s=cut_s)
            print(f"cut size_mib {cut_size} cut_at 0.35 cut_s {cut_s:g} sent_mib {cut['bytes'] / MIB:.0f} "
                  f"sent_ratio {cut['bytes'] / (cut_size * MIB):.3f} verified {one_verified_copy(cut, digest)}")
        browser.close()
    finally:
        playwright.stop()
        stack.stop()


if __name__ == "__main__":
    main()
