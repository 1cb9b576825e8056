"""Least privilege, checked: for each Lambda Chalice packages, derive the AWS actions its code can
call and compare them with its policy in policies/: nothing missing, nothing extra, and every
resource inside the project's own names.

How the actions are derived (static analysis, not recorded calls: a recording only sees the paths
some test happened to drive, while the code of every path is here to read):
1. Entry points come from the Chalice app itself: each event source, the authorizer, and for
   `api_handler` every route's view function and the HTTP middleware.
2. From them, a call graph over chalicelib/ and app.py. A call `x.name(...)` or `name(...)` reaches
   every function or method of that name (an over-approximation), except where the receiver says
   more: `deps.<port>.name` reaches only the adapter bootstrap wires into that port, and
   `self.name` the method of the class (or its bases) when it has one.
3. A boto3 call is a call of a service operation on a client attribute (CLIENT_NAMES). Most map to
   the IAM action of the same name; the rest are in OPERATION_ACTIONS (paginators, presigners,
   S3's multi-action calls). A TransactWriteItems needs the action of each item kind
   (`{"Put": ...}` -> dynamodb:PutItem), read from the dict literals the reachable code builds.
4. What the code does not call but the function's trigger needs (reading its queue or stream) and
   logging come from EVENT_SOURCE_ACTIONS and ALWAYS.

Actions are compared per Lambda as a set; which table or bucket prefix an action reaches is not
derived (it is built at run time), so resources are checked against the project's own names
instead: no resource outside them unless the statement is one of the documented exceptions."""
from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import botocore.session
import pytest
from botocore import xform_name

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "citizen-evidence-prod"

# Attribute or parameter names that hold a boto3 client, and the service behind each.
CLIENT_NAMES = {"_db": "dynamodb", "db": "dynamodb", "client": "dynamodb", "_s3": "s3", "_browser": "s3",
                "_sqs": "sqs", "sqs": "sqs", "_sns": "sns", "_ses": "ses", "_kms": "kms"}
SERVICES = ("dynamodb", "s3", "sqs", "sns", "ses", "kms")
ALIASES = {"s3-public": "s3"}  # bootstrap's S3 client for presigning what browsers call

# boto3 calls whose IAM action is not the operation's own name (or that need more than one).
OPERATION_ACTIONS = {
    ("s3", "head_object"): {"s3:GetObject", "s3:GetObjectVersion"},  # evidence is read by pinned version
    ("s3", "get_object"): {"s3:GetObject", "s3:GetObjectVersion"},
    ("s3", "generate_presigned_url:get_object"): {"s3:GetObject", "s3:GetObjectVersion"},
    ("s3", "generate_presigned_post"): {"s3:PutObject"},
    ("s3", "generate_presigned_url:upload_part"): {"s3:PutObject"},
    ("s3", "create_multipart_upload"): {"s3:PutObject"},
    ("s3", "complete_multipart_upload"): {"s3:PutObject"},
    ("s3", "upload_part"): {"s3:PutObject"},
    ("s3", "list_parts"): {"s3:ListMultipartUploadParts"},
    ("s3", "list_multipart_uploads"): {"s3:ListBucketMultipartUploads"},
    ("s3", "list_object_versions"): {"s3:ListBucketVersions"},
    ("s3", "delete_objects"): {"s3:DeleteObject", "s3:DeleteObjectVersion"},
    ("s3", "copy_object"): {"s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:PutObjectTagging"},
    ("dynamodb", "transact_write_items"): set(),  # the items' own actions: TRANSACT_ITEMS
}
TRANSACT_ITEMS = {"Put": "dynamodb:PutItem", "Update": "dynamodb:UpdateItem", "Delete": "dynamodb:DeleteItem",
                  "ConditionCheck": "dynamodb:ConditionCheckItem"}
# A put_object with Tagging= also needs PutObjectTagging.
TAGGING_ACTION = "s3:PutObjectTagging"

# What Lambda itself calls with the function's role to feed it its trigger.
EVENT_SOURCE_ACTIONS = {
    "SQSEventConfig": {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"},
    "DynamoDBEventConfig": {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator",
                            "dynamodb:ListStreams"},
}
# The asynchronous functions' dead-letter queue (infra/package_merge.yaml) uses the AWS managed SQS
# key, so sending to it needs no KMS grant.
DLQ_ACTIONS = {"sqs:SendMessage"}
ALWAYS = {"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"}
# S3 objects and SQS messages are encrypted with the stack's key as the caller: whoever reads or
# writes them needs the key. DynamoDB uses the key through the grant it holds for the table, and
# texts go to phone numbers (no topic), so neither puts KMS in the caller's policy.
KMS_ACTIONS = {"kms:Decrypt", "kms:GenerateDataKey"}
NEEDS_KMS = re.compile(r"^(s3:(GetObject|PutObject)|sqs:(SendMessage|ReceiveMessage))")


@dataclass
class Function:
    module: str
    cls: str | None
    node: ast.FunctionDef | ast.AsyncFunctionDef

    @property
    def where(self) -> str:
        return f"{self.module}:{self.node.lineno} {self.node.name}"


@dataclass
class Codebase:
    by_name: dict[str, list[Function]] = field(default_factory=dict)
    by_class: dict[str, dict[str, Function]] = field(default_factory=dict)
    bases: dict[str, list[str]] = field(default_factory=dict)
    ports: dict[str, str] = field(default_factory=dict)  # deps field -> adapter class
    # per module: a name it defines or imports -> the module path (for a module) or (path, function)
    names: dict[str, dict[str, str | tuple[str, str]]] = field(default_factory=dict)

    def top_level(self, module: str, name: str) -> list[Function]:
        return [f for f in self.by_name.get(name, []) if f.module == module and f.cls is None]

    def resolve_name(self, module: str, name: str) -> list[Function]:
        """A bare name: defined in the module, or imported into it from ours (else not ours)."""
        own = self.top_level(module, name)
        target = self.names.get(module, {}).get(name)
        if own or not isinstance(target, tuple):
            return own
        return self.top_level(*target) or self._constructor(name)

    def _constructor(self, name: str) -> list[Function]:
        init = self.method(name, "__init__")
        return [init] if init else []

    def method(self, cls: str | None, name: str) -> Function | None:
        seen: set[str] = set()
        todo = [cls] if cls else []
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            found = self.by_class.get(current, {}).get(name)
            if found:
                return found
            todo += self.bases.get(current, [])
        return None


def _sources() -> Iterator[tuple[str, ast.Module]]:
    for path in [ROOT / "app.py", *sorted((ROOT / "chalicelib").rglob("*.py"))]:
        yield str(path.relative_to(ROOT)), ast.parse(path.read_text(), filename=str(path))


@cache
def codebase() -> Codebase:
    code = Codebase()
    for module, tree in _sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                code.bases[node.name] = [b.id for b in node.bases if isinstance(b, ast.Name)]
                for item in node.body:
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                        fn = Function(module, node.name, item)
                        code.by_class.setdefault(node.name, {})[item.name] = fn
                        code.by_name.setdefault(item.name, []).append(fn)
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                code.by_name.setdefault(node.name, []).append(Function(module, None, node))
        if module == "chalicelib/bootstrap.py":
            code.ports.update(_port_wiring(tree))
        code.names[module] = _imports(module, tree)
    return code


def _module_path(dotted: str) -> str | None:
    for candidate in (dotted.replace(".", "/") + ".py", dotted.replace(".", "/") + "/__init__.py"):
        if (ROOT / candidate).is_file():
            return candidate
    return None


def _imports(module: str, tree: ast.Module) -> dict[str, str | tuple[str, str]]:
    """What each imported name of a module stands for, if it is ours (imports inside functions too)."""
    package = module.rpartition("/")[0].replace("/", ".")
    names: dict[str, str | tuple[str, str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{parent}.{base}" if base else parent
            for alias in node.names:
                as_module = _module_path(f"{base}.{alias.name}")
                if as_module:
                    names[alias.asname or alias.name] = as_module
                elif _module_path(base):
                    names[alias.asname or alias.name] = (str(_module_path(base)), alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                found = _module_path(alias.name)
                if found and alias.asname:
                    names[alias.asname] = found
                elif found and "." not in alias.name:
                    names[alias.name] = found
    return names


def _port_wiring(tree: ast.Module) -> dict[str, str]:
    """`Deps(sms=SnsSms(...), ...)` in bootstrap, or `sms=lambda: a("messaging").SnsSms(...)` (built on
    first use): which adapter class serves each port."""
    wiring = {}
    for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
        for kw in call.keywords:
            value = kw.value.body if isinstance(kw.value, ast.Lambda) else kw.value
            if kw.arg and isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
                wiring[kw.arg] = value.func.id
            elif kw.arg and isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute):
                wiring[kw.arg] = value.func.attr
    return wiring


@cache
def operations(service: str) -> frozenset[str]:
    model = botocore.session.get_session().get_service_model(service)
    return frozenset(xform_name(name) for name in model.operation_names)


def _receiver_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return None


def _first_string(call: ast.Call) -> str | None:
    if call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
        return call.args[0].value
    return None


def aws_actions_of(call: ast.Call) -> set[str] | None:
    """The IAM actions one boto3 call needs, or None when it is not a boto3 call."""
    if not isinstance(call.func, ast.Attribute):
        return None
    service = CLIENT_NAMES.get(_receiver_name(call.func.value) or "")
    op = call.func.attr
    if service is None:
        return None
    if op in ("get_paginator", "generate_presigned_url"):
        named = _first_string(call)
        assert named, f"{op} with a computed operation name: name it literally so it can be checked"
        op = named if op == "get_paginator" else f"{op}:{named}"
    elif op != "generate_presigned_post" and op not in operations(service):
        return None
    actions = OPERATION_ACTIONS.get((service, op))
    if actions is None:
        base = op.split(":")[-1]
        assert base in operations(service), f"{service} has no operation {base}"
        actions = {f"{service}:{botocore_name(service, base)}"}
    if any(kw.arg == "Tagging" for kw in call.keywords) or (
            any(kw.arg is None for kw in call.keywords) and op == "put_object"):
        actions = actions | {TAGGING_ACTION}
    return set(actions)


def botocore_name(service: str, snake: str) -> str:
    model = botocore.session.get_session().get_service_model(service)
    return next(name for name in model.operation_names if xform_name(name) == snake)


@dataclass
class Reach:
    functions: dict[int, Function] = field(default_factory=dict)
    actions: dict[str, set[str]] = field(default_factory=dict)  # action -> where it is called


def reach(entries: list[Function]) -> Reach:
    code, found, todo = codebase(), Reach(), list(entries)
    while todo:
        fn = todo.pop()
        if id(fn.node) in found.functions:
            continue
        found.functions[id(fn.node)] = fn
        for node in ast.walk(fn.node):
            if isinstance(node, ast.Call):
                for action in aws_actions_of(node) or ():
                    found.actions.setdefault(action, set()).add(fn.where)
                todo += _callees(code, fn, node.func)
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
                own = code.method(fn.cls, node.attr)  # a property (or a bound method passed on)
                todo += [own] if own else []
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                todo += code.resolve_name(fn.module, node.id)  # a function passed as a callback
            elif isinstance(node, ast.Dict):
                for key in node.keys:
                    if isinstance(key, ast.Constant) and key.value in TRANSACT_ITEMS and _is_transact_item(node):
                        found.actions.setdefault(TRANSACT_ITEMS[key.value], set()).add(fn.where)
    return found


def _is_transact_item(node: ast.Dict) -> bool:
    """{"Put": {...}} as TransactWriteItems takes it: one key whose value is a dict or a call."""
    return len(node.keys) == 1 and not isinstance(node.values[0], ast.Constant)


def _callees(code: Codebase, caller: Function, func: ast.expr) -> list[Function]:
    if isinstance(func, ast.Name):
        return code.resolve_name(caller.module, func.id)
    if isinstance(func, ast.Attribute):
        receiver = func.value
        if isinstance(receiver, ast.Name):
            target = code.names.get(caller.module, {}).get(receiver.id)
            if isinstance(target, str):  # module.function
                return code.top_level(target, func.attr) or code._constructor(func.attr)
        if isinstance(receiver, ast.Attribute) and receiver.attr in code.ports:  # deps.<port>.<method>
            adapter = code.method(code.ports[receiver.attr], func.attr)
            if adapter:
                return [adapter]
        if isinstance(receiver, ast.Name) and receiver.id in ("self", "cls"):
            own = code.method(caller.cls, func.attr)
            if own:
                return [own]
        return [f for f in code.by_name.get(func.attr, []) if f.cls is not None]  # any method of that name
    return []


# --- the Lambdas and their policies ------------------------------------------------------------------


@cache
def chalice_app():  # type: ignore[no-untyped-def]
    import app

    return app.app


def _function(qualified: str) -> Function:
    module, _, name = qualified.rpartition(".")
    path = module.replace(".", "/") + ".py"
    found = [f for f in codebase().by_name.get(name, []) if f.module == path and f.cls is None]
    assert found, f"cannot find the handler {qualified}"
    return found[0]


def _by_object(func: object) -> Function:
    return _function(f"{func.__module__}.{func.__name__}")  # type: ignore[attr-defined]


def lambdas() -> dict[str, tuple[list[Function], set[str]]]:
    """Each Lambda Chalice packages: its entry functions and what its trigger needs."""
    app = chalice_app()
    found: dict[str, tuple[list[Function], set[str]]] = {}
    views = [_by_object(entry.view_function) for methods in app.routes.values() for entry in methods.values()]
    middleware = [_by_object(handler) for handler, _ in app.middleware_handlers]
    found["api_handler"] = (views + middleware, set())
    for authorizer in app.builtin_auth_handlers:
        found[authorizer.name] = ([_function(authorizer.handler_string)], set())
    for source in app.event_sources:
        trigger = EVENT_SOURCE_ACTIONS.get(type(source).__name__, set())
        found[source.name] = ([_function(source.handler_string)], set(trigger))
    for pure in app.pure_lambda_functions:
        found[pure.name] = ([_function(pure.handler_string)], set())
    return found


def configured() -> dict[str, dict]:  # type: ignore[type-arg]
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    functions: dict[str, dict] = config["stages"]["prod"].get("lambda_functions", {})  # type: ignore[type-arg]
    return functions


def policy(name: str) -> dict:  # type: ignore[type-arg]
    entry = configured().get(name)
    assert entry and entry.get("iam_policy_file"), (
        f"Lambda {name!r} has no policy: add \"{name}\": {{\"iam_policy_file\": \"../policies/{name}.json\"}} "
        f"to stages.prod.lambda_functions in .chalice/config.json and write policies/{name}.json with exactly "
        f"the actions this test derives for it (run it: the failure lists them)")
    path = (ROOT / ".chalice" / entry["iam_policy_file"]).resolve()
    assert path.is_file(), f"{name}: {entry['iam_policy_file']} does not exist (relative to .chalice/)"
    loaded: dict = json.loads(path.read_text())  # type: ignore[type-arg]
    return loaded


def _statements(document: dict) -> list[dict]:  # type: ignore[type-arg]
    statements = document["Statement"]
    return statements if isinstance(statements, list) else [statements]


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def granted(document: dict) -> set[str]:  # type: ignore[type-arg]
    actions: set[str] = set()
    for statement in _statements(document):
        assert statement["Effect"] == "Allow", "policies here only allow"
        assert "NotAction" not in statement, "NotAction grants everything else: list the actions"
        for action in _listed(statement["Action"]):
            assert "*" not in action, f"{action}: name each action"
            actions.add(action)
    return actions


@cache
def needed(name: str) -> tuple[set[str], dict[str, set[str]]]:
    entries, trigger = lambdas()[name]
    found = reach(entries)
    actions = set(found.actions) | trigger | ALWAYS
    if any(NEEDS_KMS.match(action) for action in actions):
        actions |= KMS_ACTIONS
    if "DeadLetterQueue" in packaged_properties(name):
        actions |= DLQ_ACTIONS  # Lambda sends what failed with the function's role
    return actions, found.actions


def logical_id(name: str) -> str:
    """The resource `chalice package` makes for a Lambda."""
    return "APIHandler" if name == "api_handler" else "".join(p.capitalize() for p in name.split("_"))


def packaged_properties(name: str) -> dict:  # type: ignore[type-arg]
    from infra.cfn import load

    merged: dict = load(ROOT / "infra" / "package_merge.yaml")["Resources"]  # type: ignore[type-arg]
    return merged.get(logical_id(name), {}).get("Properties", {})  # type: ignore[no-any-return]


# Resources: the project's own names, per service; anything else must be one of EXCEPTIONS.
def _own_resource(resource: str, sender: str) -> bool:
    table = rf"arn:aws:dynamodb:\*:\*:table/{PREFIX}-[a-z-]+(/index/[a-z0-9*]+|/stream/\*)?"
    bucket = rf"arn:aws:s3:::{PREFIX}-[a-z-]*\*(/[a-z]+/\*)?"
    patterns = [table, bucket, rf"arn:aws:sqs:\*:\*:{PREFIX}-[a-z-]+",
                rf"arn:aws:logs:\*:\*:log-group:/aws/lambda/{PREFIX}(-[a-z_]+)?(:\*)?",
                *(rf"arn:aws:ses:\*:\*:identity/{re.escape(identity)}" for identity in _identities(sender))]
    return any(re.fullmatch(pattern, resource) for pattern in patterns)


def _identities(sender: str) -> list[str]:
    return [sender, sender.partition("@")[2]]


def _exception(statement: dict) -> str | None:  # type: ignore[type-arg]
    """The statements allowed to name resources outside the project, and why."""
    actions = set(_listed(statement["Action"]))
    condition = statement.get("Condition", {})
    if actions == {"sns:Publish"} and statement.get("NotResource") == "arn:aws:sns:*:*:*":
        return "texts go to phone numbers, which have no ARN; NotResource refuses every topic"
    alias = condition.get("ForAnyValue:StringLike", {}).get("kms:ResourceAliases", "")
    if all(a.startswith("kms:") for a in actions) and re.fullmatch(rf"alias/{PREFIX}(-[a-z-]+)?", alias):
        return "the stack's keys are known by their aliases only (their ids are made at deploy)"
    if actions <= {"s3:PutObject", "s3:PutObjectTagging"} and condition == {
            "StringNotEquals": {"s3:ResourceAccount": "${aws:PrincipalAccount}"}}:
        return "exports to an agency's own bucket, in another account, named at run time"
    return None


def sender() -> str:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    address: str = config["stages"]["prod"]["environment_variables"]["EMAIL_SENDER"]
    return address


# --- the tests ------------------------------------------------------------------------------------


def test_every_lambda_chalice_packages_has_its_own_policy_file():
    names = set(lambdas())
    for name in sorted(names):
        policy(name)
    stale = set(configured()) - names
    assert not stale, f"policies configured for Lambdas the app no longer has: {sorted(stale)}"
    unused = {p.stem for p in (ROOT / "policies").glob("*.json")} - names
    assert not unused, f"policies/ files no Lambda uses: {sorted(unused)}"


@pytest.mark.parametrize("name", sorted(lambdas()))
def test_the_policy_grants_exactly_the_actions_the_code_calls(name):
    actions, where = needed(name)
    have = granted(policy(name))
    missing = {a: sorted(where.get(a, {"its trigger or logging"})) for a in sorted(actions - have)}
    extra = sorted(have - actions)
    print(f"{name}: {len(actions)} actions derived, policy grants {len(have)}")
    assert not missing, f"policies/{name}.json lacks actions its code calls: {missing}"
    assert not extra, f"policies/{name}.json grants actions no code of {name} calls: {extra}"


@pytest.mark.parametrize("name", sorted(lambdas()))
def test_every_resource_is_the_projects_own_or_a_documented_exception(name):
    for statement in _statements(policy(name)):
        resources = _listed(statement.get("Resource", []))
        foreign = [r for r in resources if not _own_resource(r, sender())]
        if "NotResource" in statement or foreign:
            assert _exception(statement), (
                f"policies/{name}.json: {foreign or statement['NotResource']} is outside the project's names "
                f"({PREFIX}-* tables, buckets, queues and log groups; the SES identity of {sender()})")


def test_email_is_sent_only_as_the_configured_sender():
    for name in sorted(lambdas()):
        for statement in _statements(policy(name)):
            if "ses:SendEmail" in _listed(statement["Action"]):
                resources = set(_listed(statement["Resource"]))
                assert resources == {f"arn:aws:ses:*:*:identity/{i}" for i in _identities(sender())}, name
                assert statement["Condition"] == {"StringEquals": {"ses:FromAddress": sender()}}, name


@pytest.mark.parametrize("name", sorted(lambdas()))
def test_each_lambda_logs_only_to_its_own_log_group(name):
    group = f"arn:aws:logs:*:*:log-group:/aws/lambda/{function_name(name)}"
    for statement in _statements(policy(name)):
        if any(action.startswith("logs:") for action in _listed(statement["Action"])):
            assert sorted(_listed(statement["Resource"])) == [group, f"{group}:*"], (
                f"policies/{name}.json: logs go to {group} only (the function is named {function_name(name)})")


def function_name(name: str) -> str:
    """As `chalice deploy` names it, and infra/package_merge.yaml for `chalice package`."""
    return PREFIX if name == "api_handler" else f"{PREFIX}-{name}"


def test_the_key_policy_lets_the_services_use_the_key_for_the_account():
    """DynamoDB-only Lambdas carry no KMS grant: the tables use the key through DynamoDB."""
    from infra.cfn import load

    key = load()["Resources"]["EvidenceKey"]["Properties"]["KeyPolicy"]
    [via] = [s for s in key["Statement"] if "kms:ViaService" in s.get("Condition", {}).get("StringEquals", {})]
    assert "kms:Decrypt" in via["Action"]


def test_every_boto3_client_the_code_makes_is_one_the_analysis_reads():
    """A client of a new service, or held under a new name, would be invisible: fail instead."""
    made, unknown = set(), []
    for module, tree in _sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _receiver_name(node.func) in ("client", "_LazyClient"):
                made.add(_first_string(node))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(
                    node.func.value, ast.Attribute) and isinstance(node.func.value.value, ast.Name) \
                    and node.func.value.value.id == "self" and node.func.value.attr not in CLIENT_NAMES \
                    and "_" in node.func.attr and any(node.func.attr in operations(s) for s in SERVICES):
                unknown.append(f"{module}:{node.lineno} self.{node.func.value.attr}.{node.func.attr}")
    made = {ALIASES.get(service, service) for service in made if service}
    assert made <= set(SERVICES), f"clients of {sorted(made - set(SERVICES))}: add them to SERVICES and CLIENT_NAMES"
    assert not unknown, f"boto3 calls on attributes the analysis does not know: {unknown}; add them to CLIENT_NAMES"


def test_the_analysis_sees_a_transaction_and_a_presigned_download():
    """The derivation itself: known calls give their actions (a guard against it quietly seeing nothing)."""
    api, _ = needed("api_handler")
    assert {"dynamodb:ConditionCheckItem", "dynamodb:PutItem", "s3:GetObjectVersion", "ses:SendEmail",
            "sns:Publish", "sqs:SendMessage"} <= api
    sweep, _ = needed("retention_sweep")
    assert "s3:DeleteObjectVersion" in sweep and "sns:Publish" not in sweep
