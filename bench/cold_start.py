"""Cold start: what a citizen opening a link waits for before the first byte, beside the floor any
Chalice app that talks to AWS pays. Each sample is a fresh interpreter that times, from its first
line, the import of the app plus its first handled request (an API Gateway proxy event passed to
`app(event, context)`, as Lambda does); interpreter start-up is the same for both and left out.
Each app runs from a copy of what Chalice packages (app.py, chalicelib/) with no .pyc and with
PYTHONDONTWRITEBYTECODE=1: Lambda's /var/task is read-only and `chalice package` ships sources only,
so an app's own modules are compiled on every cold start (installed libraries keep their .pyc here).

  minimal   a generated Chalice app (temp dir): `import boto3` + Chalice, one boto3 client built
            at import, one route that makes one DynamoDB GetItem and answers.
  libraries the minimal app that also imports pydantic (BaseModel, Field) and Powertools (Logger,
            Metrics): the floor for an app built on them, before any of its own code runs.
  ours      app.py: GET /c/{token}/session for a live link (authorizer-free, the citizen's first
            call): settings, the AWS clients, the DynamoDB reads, licence rules, models validated.

AWS is a moto server this script runs on loopback, seeded with an agency and a live link, so the
first request is a real 200 down the real path. So that the timing is the Python work and not
moto's: both apps reach it through a replaying proxy here that records each distinct AWS request
once (a warm-up sample per app) and then answers it from memory (about a millisecond). `warm` is
the same request again in the same process. Samples interleave the apps. Prints medians and the
ratio; asserts nothing (the suite runs `--quick` only to keep it working).

    .venv/bin/python bench/cold_start.py [--runs 15] [--quick] [--pyc] [--bare-import]
        [--importtime FILE] [--profile FILE] [--modules]

`--pyc` measures what `./dev package` ships (infra/package.py): chalicelib/ with unchecked-hash .pyc,
compiled by the same call; app.py stays source in every app, as Chalice packages it.

`--bare-import` also prints the old bare-import comparison (`python -c "import app"` beside
`import boto3, chalice`, interpreter start-up included), which bench/cold_import.py printed.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parents[1]
REGION = "us-east-1"

MINIMAL_APP = '''
import os

import boto3
from chalice import Chalice

app = Chalice(app_name="minimal")
db = boto3.client("dynamodb")


@app.route("/items/{item_id}")
def get_item(item_id):
    found = db.get_item(TableName=os.environ["TABLE_NAME"], Key={"pk": {"S": item_id}, "sk": {"S": item_id}})
    return {"found": "Item" in found}
'''

# The libraries app.py needs on every request beyond boto3 and Chalice: what a cold start pays before
# any of our code runs. Same minimal app; it only imports them (Logger and Metrics, as we build them;
# BaseModel and Field, as any model with a constraint needs: Field alone loads pydantic.types and
# annotated_types, about 25 ms here).
LIBRARIES = """from aws_lambda_powertools import Logger, Metrics  # noqa
from pydantic import BaseModel, Field  # noqa
"""

# Runs in the fresh interpreter: times `import app` and the first request, then a warm second one.
CHILD = '''
import json, sys, time
started = time.perf_counter()
import app as module
imported = time.perf_counter()
ours = lambda: sorted(name for name in sys.modules if name.startswith("chalicelib"))
at_import = ours()
event, context = {event!r}, type("Context", (), {{"aws_request_id": "bench", "function_name": "api_handler",
    "memory_limit_in_mb": 512, "invoked_function_arn": "arn:aws:lambda:us-east-1:1:function:api_handler",
    "get_remaining_time_in_millis": lambda self: 30000}})()
first = module.app(event, context)
cold = time.perf_counter()
module.app(event, context)
warm = time.perf_counter()
print("COLD_START", first["statusCode"], (cold - started) * 1000, (warm - cold) * 1000, (imported - started) * 1000)
print("LOADED", json.dumps({{"import": at_import, "request": [name for name in ours() if name not in at_import]}}))
'''


def proxy_event(resource: str, path: str, params: dict[str, str]) -> dict[str, Any]:
    return {"resource": resource, "path": path, "httpMethod": "GET",
            "headers": {"host": "bench.example", "user-agent": "bench", "accept-language": "en"},
            "multiValueHeaders": None, "queryStringParameters": None, "multiValueQueryStringParameters": None,
            "pathParameters": params, "stageVariables": None, "body": None, "isBase64Encoded": False,
            "requestContext": {"resourcePath": resource, "httpMethod": "GET", "requestId": "bench-request",
                               "stage": "api", "identity": {"sourceIp": "127.0.0.1"}}}


def start_moto() -> tuple[Any, dict[str, str]]:
    import logging

    from moto.server import ThreadedMotoServer

    from infra.local_stack import chalice_stage_env, free_port

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per AWS call is noise here
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    # The local stage's settings (table and bucket names), on this server.
    env = chalice_stage_env("local") | {
        "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_SESSION_TOKEN": "bench",
        "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "POWERTOOLS_LOG_LEVEL": "WARNING"}  # one JSON log line per request is noise here
    return server, env


class ReplayProxy:
    """Loopback HTTP proxy to moto that answers a request it has seen before from memory."""

    def __init__(self, upstream: str) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import urlsplit

        self.seen: dict[tuple[str, str, str, bytes], tuple[int, list[tuple[str, str]], bytes]] = {}
        self.forwarded = 0
        host, port = urlsplit(upstream).hostname, urlsplit(upstream).port
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as botocore's connection pool expects
            disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms ACK wait

            def handle_one_request(self) -> None:
                self.raw_requestline = self.rfile.readline(65537)
                if not self.raw_requestline or not self.parse_request():
                    self.close_connection = True
                    return
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                key = (self.command, self.path, self.headers.get("X-Amz-Target", ""), body)
                if key not in proxy.seen:
                    proxy.seen[key] = proxy.forward(host, port, self.command, self.path, dict(self.headers), body)
                status, headers, content = proxy.seen[key]
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def forward(self, host: Any, port: Any, method: str, path: str, headers: dict[str, str],
                body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        import http.client

        self.forwarded += 1
        connection = http.client.HTTPConnection(host, port, timeout=30)
        connection.request(method, path, body=body, headers=headers)
        answer = connection.getresponse()
        content = answer.read()
        connection.close()
        skip = {"content-length", "transfer-encoding", "connection", "date", "server"}
        return answer.status, [(k, v) for k, v in answer.getheaders() if k.lower() not in skip], content


def seed() -> str:
    """Tables as the template declares them, an agency, and a live link; returns the link's token."""
    import boto3

    from chalicelib import bootstrap
    from chalicelib.domain import ids
    from chalicelib.domain.licensing import LicenseKind
    from chalicelib.domain.models import CitizenLink
    from chalicelib.services import agencies
    from infra import cfn

    db = boto3.client("dynamodb")
    for resource in cfn.load()["Resources"].values():
        if resource["Type"] != "AWS::DynamoDB::Table":
            continue
        p = resource["Properties"]
        name = p["TableName"]["Fn::Sub"].replace("${Stage}", "local")
        extra = {"GlobalSecondaryIndexes": p["GlobalSecondaryIndexes"]} if "GlobalSecondaryIndexes" in p else {}
        db.create_table(TableName=name, BillingMode="PAY_PER_REQUEST", AttributeDefinitions=p["AttributeDefinitions"],
                        KeySchema=p["KeySchema"], **extra)
    boto3.client("s3").create_bucket(Bucket=os.environ["EVIDENCE_BUCKET"])
    deps = bootstrap.deps()
    # OSP 7+ keeps the Citizen features after the program: the link stays usable whatever today is.
    agency = agencies.create_agency("Cold Start PD", "US", license=LicenseKind.OSP7_PLUS, deps=deps)
    now, token = datetime.now(timezone.utc), ids.new_token()
    link = CitizenLink(link_id=ids.new_id(now), agency_id=agency.agency_id, case_ref="CASE-1", language="en",
                       created_by="bench", created_at=now, expires_at=now + timedelta(days=1),
                       max_files=agency.max_files_per_link)
    deps.links.create_link(link, ids.digest(token))
    return token


class Sample(NamedTuple):
    cold: float  # import + first request, ms
    warm: float  # the same request again
    imported: float  # import alone
    loaded: dict[str, list[str]]  # our modules loaded by the import, and those the first request added


def sample(cwd: Path, env: dict[str, str], event: dict[str, Any], importtime: Path | None = None,
           profile: Path | None = None) -> Sample:
    """One fresh interpreter; `importtime` keeps its -X importtime report, `profile` its cProfile stats."""
    flags = ["-X", "importtime"] if importtime else []
    code = ["-c", CHILD.format(event=event)]
    if profile:  # cProfile runs a file, not -c
        (cwd / "cold_start_child.py").write_text(CHILD.format(event=event))
        code = ["-m", "cProfile", "-o", str(profile), "cold_start_child.py"]
    done = subprocess.run([sys.executable, *flags, *code], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)
    lines = [line.split(maxsplit=1) for line in done.stdout.splitlines()]
    timed = [values.split() for tag, values in lines if tag == "COLD_START"]
    if done.returncode != 0 or not timed or timed[-1][0] != "200":
        raise SystemExit(f"the sample in {cwd} failed:\n{done.stdout}\n{done.stderr}")
    if importtime:
        importtime.write_text(done.stderr)
    loaded = json.loads([values for tag, values in lines if tag == "LOADED"][-1])
    return Sample(*(float(value) for value in timed[-1][1:4]), loaded)


def bare_import(code: str, env: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="3 runs each (the suite runs this)")
    parser.add_argument("--pyc", action="store_true", help="chalicelib/ with the bytecode ./dev package ships")
    parser.add_argument("--bare-import", action="store_true", help="also print the bare import comparison")
    parser.add_argument("--importtime", type=Path, help="write one sample of app.py's -X importtime report here")
    parser.add_argument("--profile", type=Path, help="write one sample of app.py's cProfile stats here")
    parser.add_argument("--modules", action="store_true",
                        help="only print which of our modules the import and the first request load (JSON)")
    args = parser.parse_args()
    runs = 3 if args.quick else args.runs
    sys.path.insert(0, str(ROOT))
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):  # never a running stack's server or a real account
        os.environ.pop(name, None)
    server, aws = start_moto()
    os.environ.update(aws)
    try:
        token = seed()
        proxy = ReplayProxy(aws["AWS_ENDPOINT_URL"])
        env = os.environ | {"AWS_ENDPOINT_URL": proxy.url, "PYTHONDONTWRITEBYTECODE": "1"}
        with tempfile.TemporaryDirectory() as tmp:
            packages = {name: Path(tmp) / name for name in ("minimal", "libraries", "ours")}
            shutil.copytree(ROOT / "chalicelib", packages["ours"] / "chalicelib",
                            ignore=shutil.ignore_patterns("__pycache__"))
            shutil.copy(ROOT / "app.py", packages["ours"] / "app.py")
            packages["minimal"].mkdir()
            (packages["minimal"] / "app.py").write_text(MINIMAL_APP)
            packages["libraries"].mkdir()
            (packages["libraries"] / "app.py").write_text(LIBRARIES + MINIMAL_APP)
            if args.pyc:  # the apps' app.py stays source: Chalice packages it alone
                from infra.package import compile_for_lambda

                compile_for_lambda(packages["ours"] / "chalicelib")
            minimal_event = proxy_event("/items/{item_id}", "/items/x", {"item_id": "x"})
            events = {"minimal": minimal_event, "libraries": minimal_event,
                      "ours": proxy_event("/c/{token}/session", f"/c/{token}/session", {"token": token})}
            for name, package in packages.items():  # a warm-up sample each: records their AWS calls
                warmed = sample(package, env, events[name])
                if args.modules and name == "ours":
                    print("MODULES", json.dumps(warmed.loaded))
                    return
            recorded = proxy.forwarded
            samples: dict[str, list[Sample]] = {name: [] for name in packages}
            for _ in range(runs):  # interleaved, so drift in the machine's load hits all alike
                for name, package in packages.items():
                    samples[name].append(sample(package, env, events[name]))
            if args.importtime:  # where the time goes: import and first request, per module
                sample(packages["ours"], env, events["ours"], importtime=args.importtime)
            if args.profile:  # where the time goes, per function: .venv/bin/python -m pstats FILE
                sample(packages["ours"], env, events["ours"], profile=args.profile)
        missed = proxy.forwarded - recorded
        if args.bare_import:
            floor, app = bare_import("import boto3, chalice", env, runs), bare_import("import app", env, runs)
    finally:
        server.stop()  # the proxy's thread is a daemon
    cold, warm, imported = ({name: statistics.median(row[i] for row in rows) for name, rows in samples.items()}
                            for i in range(3))
    loaded = samples["ours"][-1].loaded
    labels = {"minimal": "minimal Chalice app + 1 boto3 client",
              "libraries": "  the same + import pydantic, Powertools", "ours": "app.py GET /c/{token}/session"}
    shipped = "chalicelib .pyc shipped, as ./dev package does" if args.pyc else "sources, as chalice package ships"
    print(f"median of {runs} fresh interpreters, import + first request (ms; interpreter start-up excluded; "
          f"{shipped}):")
    for name, label in labels.items():
        print(f"  {label:42} cold {cold[name]:7.1f}   warm {warm[name]:6.1f}   (import alone {imported[name]:6.1f})")
    print(f"AWS calls replayed from memory after a warm-up sample of each; {missed} went to moto while measuring")
    print(f"our modules loaded: {len(loaded['import'])} by the import, {len(loaded['request'])} more by the first "
          f"request (of {sum(1 for _ in (ROOT / 'chalicelib').rglob('*.py'))})")
    print(f"ratio {cold['ours'] / cold['minimal']:.2f} (target <= 1.25); "
          f"pydantic + Powertools alone: {cold['libraries'] / cold['minimal']:.2f}")
    if args.bare_import:
        print(f"bare import, interpreter start-up included: import boto3, chalice {floor:.1f}; import app {app:.1f}")

if __name__ == "__main__":
    main()
