"""The embedded AWS stack on one machine.

`./dev start` runs this module: a moto server on loopback, infra/template.yaml provisioned into it
through CloudFormation, the properties moto drops applied and verified (infra/reconcile.py), a demo
agency with API keys, and `chalice local` serving app.py against it. Under `chalice local` nothing
delivers EventBridge events, so a local rule routes S3 "Object Created" events to an SQS queue and
a pump thread hands each one to the very handler Lambda runs in AWS. The e2e tests use the same
class with free ports."""
from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from infra.relay import Relay

ROOT = Path(__file__).resolve().parent.parent
REGION, ACCOUNT = "us-east-1", "123456789012"
EVENTS_QUEUE = "citizen-evidence-local-upload-events"
CLI_ENV = ROOT / ".local" / "stack.env"
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def chalice_stage_env(stage: str = "local") -> dict[str, str]:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    return {**config.get("environment_variables", {}), **config["stages"][stage].get("environment_variables", {})}


@dataclass
class Seed:
    agency_id: str
    officer_key: str
    admin_key: str
    operator_key: str


class LocalStack:
    def __init__(self, *, moto_port: int = 0, api_port: int = 0, log: Callable[[str], None] = print,
                 chalice_log: Path | None = None, run_schedules: bool = False, s3_relay: bool = False,
                 extra_env: dict[str, str] | None = None) -> None:
        self.run_schedules = run_schedules
        self.moto_port, self.api_port = moto_port or free_port(), api_port or free_port()
        # s3_relay: browsers reach S3 through a relay tests can cut or freeze (infra/relay.py)
        self.relay = Relay(self.moto_port) if s3_relay else None
        self.extra_env = extra_env or {}
        self.log, self.chalice_log = log, chalice_log
        self._stop = threading.Event()
        self._paused = threading.Event()
        self._delivering = threading.Lock()  # held by the pump while it delivers
        self._threads: list[threading.Thread] = []
        self._moto: Any = None
        self._chalice: subprocess.Popen[bytes] | None = None
        self.seed: Seed | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.moto_port}"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def env(self) -> dict[str, str]:
        return {
            **chalice_stage_env(),
            "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_SESSION_TOKEN": "local",
            "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION, "AWS_ENDPOINT_URL": self.endpoint,
            "PUBLIC_BASE_URL": self.api_url, "POWERTOOLS_METRICS_DISABLED": "true",
            **({"S3_PUBLIC_ENDPOINT_URL": self.relay.url} if self.relay else {}), **self.extra_env,
        }

    # --- start and stop -------------------------------------------------------------------

    def start(self) -> LocalStack:
        os.environ.update(self.env())
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per AWS call is noise here
        importlib.import_module("infra.moto_tx").install()  # transactions copy the items they touch, not tables

        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=self.moto_port, verbose=False)
        self._moto.start()
        self.log(f"moto server      {self.endpoint}")
        from infra.provision import provision

        names = provision(page_origin=self.api_url, report=lambda line: self.log(f"  {line}"))
        self._inbox_table = names["AuditInboxTable"]
        self._route_upload_events(names["EvidenceBucket"])
        self._prove_upload_events(names["EvidenceBucket"])
        self.seed = self._seed()
        self._start_chalice()
        self._spawn(self._pump_events)
        if self.run_schedules:
            self._spawn(self._schedules)
        return self

    SCHEDULES = {"retention_sweep": 3600, "license_daily": 86400, "daily_digest": 86400, "program_notices": 86400,
                 "abandoned_uploads": 3600, "program_extract": 86400, "program_delete": 86400}

    def _schedules(self) -> None:
        """What EventBridge schedules do in AWS: call each scheduled handler, at start and then on
        its period. `./dev cli run-schedule NAME --now ...` runs one by hand, with time travel."""
        app = importlib.import_module("app")
        next_run = dict.fromkeys(self.SCHEDULES, 0.0)
        while not self._stop.wait(1):
            for name, period in self.SCHEDULES.items():
                if time.monotonic() >= next_run[name]:
                    next_run[name] = time.monotonic() + period
                    try:
                        result = getattr(app, name)(scheduled_event(name), _LambdaContext())
                        self.log(f"schedule         {name}: {result}")
                    except Exception:
                        self.log(f"schedule {name} failed:\n" + traceback.format_exc())

    def stop(self) -> None:
        self._stop.set()
        if self._chalice and self._chalice.poll() is None:
            self._chalice.terminate()
            try:
                self._chalice.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._chalice.kill()
        for thread in self._threads:
            thread.join(timeout=5)
        if self._moto:
            self._moto.stop()
        if self.relay:
            self.relay.close()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what AWS would do for us ---------------------------------------------------------

    def _route_upload_events(self, bucket: str) -> None:
        from chalicelib.events import UPLOAD_EVENT_PATTERN

        sqs, events = _client("sqs"), _client("events")
        queue_url = sqs.create_queue(QueueName=EVENTS_QUEUE, Attributes={"VisibilityTimeout": "5"})["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        pattern = {**UPLOAD_EVENT_PATTERN, "detail": {"bucket": {"name": [bucket]}}}
        events.put_rule(Name="local-upload-created", EventPattern=json.dumps(pattern))
        events.put_targets(Rule="local-upload-created", Targets=[{"Id": "pump", "Arn": arn}])
        _client("ses").verify_email_identity(EmailAddress=os.environ["EMAIL_SENDER"])
        self._queue_url = queue_url

    def _prove_upload_events(self, bucket: str) -> None:
        """Upload a probe object and receive its Object Created event: bucket notifications,
        the rule and the queue all work. The probe is then removed with its versions."""
        s3, sqs, key = _client("s3"), _client("sqs"), "probe/eventbridge"
        version = s3.put_object(Bucket=bucket, Key=key, Body=b"probe").get("VersionId")
        received = self.wait_for(lambda: sqs.receive_message(QueueUrl=self._queue_url, WaitTimeSeconds=1)
                                 .get("Messages"), timeout=10, what="the probe's S3 event")
        event = json.loads(received[0]["Body"])
        if event["detail"]["object"]["key"] != key:
            raise RuntimeError(f"unexpected event while probing: {event}")
        sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=received[0]["ReceiptHandle"])
        s3.delete_object(Bucket=bucket, Key=key, **({"VersionId": version} if version else {}))
        self.log("  proved   S3 -> EventBridge -> local queue")

    def deliver_pending_events(self, wait_seconds: int = 0) -> int:
        """Hand queued messages to their handlers in app.py, as Lambda would: S3 events (through
        the local EventBridge rule) to ingest_upload, export chunks to export_chunk, and waiting
        audit events to the sequencer."""
        app = importlib.import_module("app")
        delivered = self._deliver(self._queue_url, wait_seconds,
                                  lambda m: app.ingest_upload(json.loads(m["Body"]), _LambdaContext()))
        delivered += self._deliver(self._export_queue_url(), 0,
                                   lambda m: app.export_chunk(_sqs_event(m), _LambdaContext()))
        return delivered + self.sequence_audit()

    def sequence_audit(self) -> int:
        """What the inbox's stream does in AWS: wake the sequencer for each agency with waiting
        events. The inbox only holds events not chained yet, so scanning it stays small."""
        app = importlib.import_module("app")
        pages = _client("dynamodb").get_paginator("scan").paginate(
            TableName=self._inbox_table, ProjectionExpression="agency_id, event_id")
        keys = [item for page in pages for item in page["Items"]]
        if keys:
            app.sequence_audit(_stream_event(self._inbox_table, keys), _LambdaContext())
        self._trim_inbox_stream()
        return len(keys)

    def _trim_inbox_stream(self) -> None:
        """moto keeps every stream record in memory for good, and nothing reads this stream here (the
        pump above stands in for it), so drop them: a long-running stack stays bounded. (Disabling
        the stream instead breaks moto's writes to the table: it keeps the shard but forgets its view type.)"""
        from moto.dynamodb.models import dynamodb_backends

        shard = dynamodb_backends[ACCOUNT][REGION].tables[self._inbox_table].stream_shard
        if shard is not None:
            shard.items.clear()

    def _deliver(self, queue_url: str, wait_seconds: int, handle: Callable[[dict[str, Any]], Any]) -> int:
        sqs = _client("sqs")
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                       WaitTimeSeconds=wait_seconds).get("Messages", [])
        for message in messages:
            try:
                result = handle(message)
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                self.log(f"delivered        {queue_url.rsplit('/', 1)[-1]}: {result}")
            except Exception:  # left on the queue: redelivered after its visibility timeout, as in AWS
                self.log("handler failed:\n" + traceback.format_exc())
        return len(messages)

    def _export_queue_url(self) -> str:
        if not hasattr(self, "_exports_url"):
            self._exports_url = _client("sqs").get_queue_url(QueueName=os.environ["EXPORT_QUEUE_NAME"])["QueueUrl"]
        return self._exports_url

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Hold the pump (upload events, export chunks, the sequencer) while a test delivers by hand."""
        self._paused.set()
        with self._delivering:  # a delivery already under way finishes first
            pass
        try:
            yield
        finally:
            self._paused.clear()

    def _pump_events(self) -> None:
        while not self._stop.is_set():
            if self._paused.is_set():
                time.sleep(0.1)
                continue
            try:
                with self._delivering:
                    self.deliver_pending_events(wait_seconds=0 if self._paused.is_set() else 1)
                time.sleep(0.05)
            except Exception:
                if not self._stop.is_set():
                    self.log("event pump error:\n" + traceback.format_exc())
                time.sleep(0.5)

    # --- chalice local and the demo agency ------------------------------------------------

    def _seed(self) -> Seed:
        from chalicelib import bootstrap
        from chalicelib.domain.licensing import LicenseKind
        from chalicelib.domain.models import OPERATOR_AGENCY, Role
        from chalicelib.services import agencies

        deps = bootstrap.deps()
        # OSP 7+ keeps both Citizen features after the emergency program, so the demo still sends links.
        agency = agencies.create_agency("Demo Police Department", "US", license=LicenseKind.OSP7_PLUS, deps=deps)
        deps.agencies.save_agency(agency.model_copy(update={"contact_email": "desk@demo-pd.example"}))
        _, officer = agencies.issue_key(agency.agency_id, Role.OFFICER, "demo officer",
                                        email="officer@demo-pd.example", deps=deps)
        _, admin = agencies.issue_key(agency.agency_id, Role.AGENCY_ADMIN, "demo admin", deps=deps)
        _, operator = agencies.issue_key(OPERATOR_AGENCY, Role.OPERATOR, "demo operator", deps=deps)
        return Seed(agency.agency_id, officer, admin, operator)

    def _start_chalice(self) -> None:
        chalice = Path(sys.executable).parent / "chalice"
        command = [str(chalice), "local", "--stage", "local", "--host", "127.0.0.1", "--port", str(self.api_port),
                   "--no-autoreload"]
        output = open(self.chalice_log, "ab") if self.chalice_log else None  # noqa: SIM115 - lives with the process
        self._chalice = subprocess.Popen(command, cwd=ROOT, env=os.environ.copy(), stdout=output, stderr=output)
        self.wait_for(self._api_answers, timeout=60, what="chalice local to answer")
        self.log(f"chalice local    {self.api_url}")

    def _api_answers(self) -> bool:
        import urllib.error
        import urllib.request

        if self._chalice and self._chalice.poll() is not None:
            raise RuntimeError(f"chalice local exited with {self._chalice.returncode}; see {self.chalice_log}")
        try:
            urllib.request.urlopen(f"{self.api_url}/agency/settings", timeout=2)  # noqa: S310 - loopback
        except urllib.error.HTTPError as exc:
            return exc.code == 401  # up, and refusing a call without a key
        except OSError:
            return False
        return False

    # --- for people and tests -------------------------------------------------------------

    def sms_messages(self) -> list[tuple[str, str]]:
        from moto.sns.models import sns_backends

        return list(sns_backends[ACCOUNT][REGION].sms_messages.values())

    def emails(self) -> list[dict[str, Any]]:
        from moto.ses.models import ses_backends

        return [{"to": m.destinations["ToAddresses"], "subject": m.subject, "body": m.body}
                for m in ses_backends[ACCOUNT][REGION].sent_messages]

    def wait_for(self, predicate: Callable[[], T], timeout: float = 20, what: str = "condition") -> T:
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
            time.sleep(0.1)

    def _spawn(self, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        self._threads.append(thread)

    def echo_outbox(self) -> None:
        """Print each text message and email as moto's SNS/SES accept it (the local phone)."""
        seen_sms, seen_mail = 0, 0
        while not self._stop.wait(0.5):
            sms, mail = self.sms_messages(), self.emails()
            for phone, text in sms[seen_sms:]:
                self.log(f"SMS to {phone}: {text}")
            for message in mail[seen_mail:]:
                self.log(f"email to {', '.join(message['to'])}: {message['subject']}")
            seen_sms, seen_mail = len(sms), len(mail)


class _LambdaContext:
    """The part of Lambda's context object the handlers use."""

    function_name = "ingest_upload"
    aws_request_id = "local"

    def __init__(self, budget_ms: int = 900_000) -> None:
        self._deadline = time.monotonic() + budget_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def scheduled_event(name: str) -> dict[str, Any]:
    """The event EventBridge delivers to a scheduled function."""
    from datetime import datetime, timezone

    return {"version": "0", "id": f"local-{name}-{time.time_ns()}", "detail-type": "Scheduled Event",
            "source": "aws.events", "account": ACCOUNT, "region": REGION, "detail": {},
            "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{name}"]}


def _sqs_event(message: dict[str, Any]) -> dict[str, Any]:
    """An SQS message in the shape Lambda's SQS integration delivers it."""
    return {"Records": [{"messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"],
                         "body": message["Body"], "attributes": {}, "messageAttributes": {},
                         "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:local", "awsRegion": REGION}]}


def _stream_event(table: str, keys: list[dict[str, Any]]) -> dict[str, Any]:
    """INSERT records in the shape Lambda's DynamoDB stream integration delivers them."""
    arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}/stream/local"
    return {"Records": [{"eventID": str(n), "eventName": "INSERT", "eventSource": "aws:dynamodb",
                         "awsRegion": REGION, "eventSourceARN": arn,
                         "dynamodb": {"Keys": key, "SequenceNumber": str(n), "SizeBytes": 100,
                                      "StreamViewType": "KEYS_ONLY", "ApproximateCreationDateTime": time.time()}}
                        for n, key in enumerate(keys)]}


def _client(service: str) -> Any:
    import boto3

    return boto3.client(service)


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the whole system locally on moto.")
    parser.add_argument("--moto-port", type=int, default=5000)
    parser.add_argument("--api-port", type=int, default=8000)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    stack = LocalStack(moto_port=args.moto_port, api_port=args.api_port, run_schedules=True).start()
    stack._spawn(stack.echo_outbox)
    _write_env_for_cli(stack)
    _banner(stack)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    print("\nstopping...")
    CLI_ENV.unlink(missing_ok=True)
    stack.stop()


def _write_env_for_cli(stack: LocalStack) -> None:
    """`./dev cli --stage local` reads where the running stack is from here."""
    CLI_ENV.parent.mkdir(exist_ok=True)
    keep = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION",
            "AWS_ENDPOINT_URL", "PUBLIC_BASE_URL")
    CLI_ENV.write_text("".join(f"{k}={v}\n" for k, v in stack.env().items() if k in keep))


def _banner(stack: LocalStack) -> None:
    assert stack.seed
    key = stack.seed.officer_key
    print(f"""
The local stack is up.
  API (chalice local)  {stack.api_url}
  AWS (moto server)    {stack.endpoint}
  demo agency          {stack.seed.agency_id}
  officer API key      {key}
  admin API key        {stack.seed.admin_key}
  operator API key     {stack.seed.operator_key}

Send a citizen a link (the SMS is printed here, as SNS accepted it):
  curl -s -X POST {stack.api_url}/agency/citizen-links \\
    -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' \\
    -d '{{"case_ref": "CASE-2024-001", "phone": "+15555550123"}}'

Open the "url" it returns in a browser to upload. Ctrl-C stops everything.
""", flush=True)


if __name__ == "__main__":
    main()
