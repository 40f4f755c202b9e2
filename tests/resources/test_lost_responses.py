"""Creates are idempotent under lost responses (issue 7, item 6).

AWS did the work but the response never arrived (a reset connection, a read timeout): botocore's
retry sends the same create again. Here every create-like call (Create*, Put*, Add*, Attach*,
Tag*, Subscribe) has its first successful response dropped after moto has acted on it, so
botocore retries each one once. Then each built-in lab must converge to exactly what its spec
plans (counted by listing every service), plan nothing more, and tear down to nothing (with the
answers of its deletes lost once each too).

Two shapes of the retry's answer: moto's own (it makes a second API, resource, mapping or
statement where AWS would refuse), and AWS's, where the retry of a call AWS does not repeat is
answered with the conflict AWS sends (CreateResource, PutMethod, PutMethodResponse, AddPermission,
CreateEventSourceMapping).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError, ConnectionClosedError
from moto.core.botocore_stubber import BotocoreStubber, MockRawResponse

from awslab.engine.execute import apply_plan
from awslab.engine.plan import plan_changes
from awslab.engine.teardown import teardown_lab
from awslab.resources.apigateway import RestApi, RestApiProps
from awslab.resources.base import Context, Record, error_code, kind_class
from awslab.resources.invoke_permission import ensure_invoke_permission
from awslab.resources.lambda_event_source import EventSource, EventSourceProps
from awslab.spec import LabSpec, builtin_labs, load_spec
from awslab.state import StateStore
from awslab.target import Target
from tests.resources.wiring_helpers import function_policy, make_function, make_queue, make_role, record_calls

CREATE_LIKE = re.compile(r"^(Create|Put|Add|Attach|Tag|Subscribe)")
DELETE_LIKE = re.compile(r"^(Delete|Remove|Detach|Unsubscribe|Untag)")
# What AWS answers when the retry of one of these repeats a call it carried out: (code, message)
AWS_REFUSALS = {
    "CreateResource": (
        "ConflictException",
        "Another resource with the same parent already has this name: {part}",
    ),
    "PutMethod": ("ConflictException", "Method already exists for this resource"),
    "PutMethodResponse": ("ConflictException", "Response already exists for this resource"),
    "AddPermission": (
        "ResourceConflictException",
        "The statement id ({sid}) provided already exists. Please explicitly specify a new statement id, "
        "or remove the existing statement.",
    ),
    "CreateEventSourceMapping": (
        "ResourceConflictException",
        "An event source mapping with SQS arn ({source}) and function ({function}) already exists. "
        "Please update or delete the existing mapping.",
    ),
}
REF = re.compile(r"^\$\{([a-z0-9-]+)\.[a-z_]+\}$")


class LostResponses:
    """Drops, once per distinct request, the successful response of every create-like call, after
    moto has carried it out: what botocore sees of a connection reset after the server acted."""

    def __init__(self, aws_like: bool = False) -> None:
        self.aws_like = aws_like
        self.active = True
        self.lossy = CREATE_LIKE
        self.dropped: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()
        self._seen: set[str] = set()
        self._refused: set[str] = set()
        self._lock = threading.Lock()

    @staticmethod
    def _key(request: Any) -> str:
        body = request.body if isinstance(request.body, bytes | str) else repr(request.body)
        body = body.encode() if isinstance(body, str) else body
        # the retry of a request carries the same body
        return hashlib.sha256(f"{request.method} {request.url} ".encode() + body).hexdigest()

    def refusal(self, event_name: str, request: Any) -> AWSResponse | None:
        """In AWS's shape, the answer AWS gives the retry of a call it does not repeat."""
        operation = event_name.rsplit(".", 1)[-1]
        if not (self.aws_like and operation in AWS_REFUSALS):
            return None
        key = self._key(request)
        with self._lock:
            if key not in self._seen or key in self._refused:
                return None
            self._refused.add(key)
            self.refused[operation] += 1
        sent = json.loads(request.body or b"{}")
        code, message = AWS_REFUSALS[operation]
        text = message.format(
            part=sent.get("pathPart"),
            sid=sent.get("StatementId"),
            source=sent.get("EventSourceArn"),
            function=sent.get("FunctionName"),
        )
        body = json.dumps({"message": text, "Type": "User"}).encode()
        headers = {"x-amzn-ErrorType": code, "Content-Type": "application/json"}
        return AWSResponse(request.url, 409, headers, MockRawResponse(body))

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Answers arrive (a test's own prerequisites)."""
        self.active = False
        try:
            yield
        finally:
            self.active = True

    def should_drop(self, event_name: str, request: Any, status: int) -> bool:
        operation = event_name.rsplit(".", 1)[-1]
        if not (self.active and status < 300 and self.lossy.match(operation)):
            return False
        key = self._key(request)
        with self._lock:
            if key in self._seen:  # the retry passes
                return False
            self._seen.add(key)
            self.dropped[operation] += 1
        return True


@pytest.fixture(params=["moto", "aws"], ids=["moto-answers-retries", "aws-answers-retries"])
def lost(
    request: pytest.FixtureRequest, mocked_aws: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[LostResponses]:
    losing = LostResponses(aws_like=request.param == "aws")
    call = BotocoreStubber.__call__

    def lossy(self: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> Any:
        refused = losing.refusal(event_name, request) if self.enabled else None
        if refused is not None:
            return refused
        response = call(self, event_name, request, **kwargs)
        if response is not None and losing.should_drop(event_name, request, response.status_code):
            raise ConnectionClosedError(endpoint_url=request.url)
        return response

    monkeypatch.setattr(BotocoreStubber, "__call__", lossy)
    yield losing


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StateStore:
    monkeypatch.setenv("AWSLAB_STATE_DIR", str(tmp_path / "state-dir"))
    monkeypatch.setenv("AWSLAB_CACHE_DIR", str(tmp_path / "cache"))
    return StateStore(tmp_path / "state.json", {"kind": "aws", "region": "us-east-1"})


# ---- what a spec plans, and what is there --------------------------------------------------
def _ref(value: str) -> str:
    m = REF.match(value)
    assert m, value
    return m.group(1)


def planned(spec: LabSpec) -> dict[str, Any]:
    """What the lab's spec makes, counted the way `inventory` lists it."""
    kinds = Counter(r.kind for r in spec.resources.values())
    apis: list[dict[str, Any]] = []
    statements: Counter[str] = Counter()  # function logical -> invoke permissions on it
    notifications: Counter[str] = Counter()  # bucket logical -> Lambda entries
    subscriptions = 0
    for r in spec.resources.values():
        if r.kind == "apigateway.rest_api":
            paths = {"/"}
            methods: Counter[str] = Counter()
            for route in r.fields["routes"]:
                path = route.split(" ")[1]
                segments = [s for s in path.split("/") if s]
                paths.update("/" + "/".join(segments[: i + 1]) for i in range(len(segments)))
                methods[path] += 1
            if r.fields.get("cors"):
                methods.update(methods.keys())  # an OPTIONS preflight per routed path
            apis.append({"paths": sorted(paths), "methods": sorted(methods.values())})
            statements.update(set(r.fields["routes"].values()))
        elif r.kind == "sns.topic":
            for sub in r.fields.get("subscriptions", []):
                subscriptions += 1
                if sub["protocol"] == "lambda":
                    statements[_ref(sub["endpoint"])] += 1
        elif r.kind == "s3.notification":
            statements[_ref(r.fields["function"])] += 1
            notifications[_ref(r.fields["bucket"])] += 1
    functions = [n for n, r in spec.resources.items() if r.kind == "lambda.function"]
    return {
        "rest_apis": sorted((a["paths"], a["methods"]) for a in apis),
        "event_source_mappings": kinds["lambda.event_source"],
        "functions": kinds["lambda.function"],
        "log_groups": kinds["lambda.function"],
        "invoke_permissions": sorted(statements[f] for f in functions),
        "roles": kinds["iam.role"],
        "inline_policies": kinds["iam.role"],
        "tables": kinds["dynamodb.table"],
        "queues": kinds["sqs.queue"],
        "topics": kinds["sns.topic"],
        "subscriptions": subscriptions,
        "buckets": kinds["s3.bucket"],
        "notification_entries": sorted(
            notifications[b] for b, r in spec.resources.items() if r.kind == "s3.bucket"
        ),
        "state_machines": kinds["stepfunctions.state_machine"],
    }


def inventory() -> dict[str, Any]:
    """Everything there is on the mock, listed service by service."""
    iam, lam, apigw, s3 = (
        boto3.client("iam"),
        boto3.client("lambda"),
        boto3.client("apigateway"),
        boto3.client("s3"),
    )
    apis = []
    for api in apigw.get_rest_apis()["items"]:
        items = apigw.get_resources(restApiId=api["id"], embed=["methods"], limit=500)["items"]
        apis.append((
            sorted(i["path"] for i in items),
            sorted(len(i.get("resourceMethods") or {}) for i in items if i.get("resourceMethods")),
        ))  # fmt: skip
    functions = [f["FunctionName"] for f in lam.list_functions()["Functions"]]
    permissions = []
    for name in functions:
        try:
            permissions.append(len(json.loads(lam.get_policy(FunctionName=name)["Policy"])["Statement"]))
        except lam.exceptions.ResourceNotFoundException:
            permissions.append(0)
    roles = [r["RoleName"] for r in iam.list_roles()["Roles"]]
    buckets = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    return {
        "rest_apis": sorted(apis),
        "event_source_mappings": len(lam.list_event_source_mappings()["EventSourceMappings"]),
        "functions": len(functions),
        "log_groups": len(boto3.client("logs").describe_log_groups()["logGroups"]),
        "invoke_permissions": sorted(permissions),
        "roles": len(roles),
        "inline_policies": sum(len(iam.list_role_policies(RoleName=r)["PolicyNames"]) for r in roles),
        "tables": len(boto3.client("dynamodb").list_tables()["TableNames"]),
        "queues": len(boto3.client("sqs").list_queues().get("QueueUrls", [])),
        "topics": len(boto3.client("sns").list_topics()["Topics"]),
        "subscriptions": len(boto3.client("sns").list_subscriptions()["Subscriptions"]),
        "buckets": len(buckets),
        "notification_entries": sorted(
            len(s3.get_bucket_notification_configuration(Bucket=b).get("LambdaFunctionConfigurations", []))
            for b in buckets
        ),
        "state_machines": len(boto3.client("stepfunctions").list_state_machines()["stateMachines"]),
    }


EMPTY = {
    "rest_apis": [], "event_source_mappings": 0, "functions": 0, "log_groups": 0, "invoke_permissions": [],
    "roles": 0, "inline_policies": 0, "tables": 0, "queues": 0, "topics": 0, "subscriptions": 0,
    "buckets": 0, "notification_entries": [], "state_machines": 0,
}  # fmt: skip


@pytest.mark.parametrize("lab", sorted(builtin_labs()))
def test_up_converges_and_teardown_leaves_nothing_when_every_create_response_is_lost_once(
    lab: str, lost: LostResponses, store: StateStore
) -> None:
    spec = load_spec(builtin_labs()[lab])
    target = Target(kind="aws", region="us-east-1")
    assert inventory() == EMPTY

    apply_plan(plan_changes(spec, store, target), store, target, workers=4)
    # every kind of create the lab makes had its response lost once
    assert lost.dropped, "no response was dropped: the hook is not in the path"
    if lost.aws_like and lab in ("crud", "messaging", "upload"):  # they make APIs (and a mapping)
        assert {"CreateResource", "PutMethod", "AddPermission"} <= set(lost.refused), lost.refused
    if lost.aws_like and lab == "messaging":
        assert lost.refused["CreateEventSourceMapping"] == 1
    assert inventory() == planned(spec), f"dropped once each: {dict(lost.dropped)}"
    # converged: a second plan has nothing to do (the recorded resources are the live ones)
    assert not plan_changes(load_spec(builtin_labs()[lab]), store, target).has_changes

    lost.lossy = DELETE_LIKE  # and a teardown whose deletes lose their answers once each
    result = teardown_lab(spec.name, store, target, workers=4)
    assert result.ok, result.failed
    assert lost.dropped["DeleteFunction"] + lost.dropped["DeleteStateMachine"] >= 1
    assert inventory() == EMPTY


def test_the_hook_loses_responses_of_each_create_once(lost: LostResponses) -> None:
    """The hook itself: the create is carried out, botocore retries it, and the second answer
    arrives (marked as a retry): without idempotent handling, a non-idempotent API doubles."""
    if lost.aws_like:
        pytest.skip("the hook's moto shape is what this shows")
    sqs = boto3.client("sqs")
    first = sqs.create_queue(QueueName="q")
    assert first["ResponseMetadata"]["RetryAttempts"] == 1
    assert lost.dropped == Counter({"CreateQueue": 1})
    apigw = boto3.client("apigateway")
    api = apigw.create_rest_api(name="twice")
    assert api["ResponseMetadata"]["RetryAttempts"] == 1
    assert [a["name"] for a in apigw.get_rest_apis()["items"]] == ["twice", "twice"]


# ---- one kind at a time: the duplicates a lost answer made before ---------------------------
def test_a_lost_create_rest_api_answer_leaves_one_api(lost: LostResponses, ctx: Context) -> None:
    with lost.paused():
        fn = make_function(ctx, ctx.physical_name("items-fn"))
    lab = replace(ctx, resolved={"items-fn": {"name": "items-fn", "arn": fn}})
    routes = {"GET /items": "items-fn", "POST /items": "items-fn", "GET /items/{id}": "items-fn"}
    res = RestApi(lab, "api", RestApiProps(routes=routes, cors={"allow_origins": ["*"]}))
    attrs = res.create()
    res.wait_ready()  # the tree, the deployment
    res.link()  # the permission
    assert lost.dropped["CreateRestApi"] == 1 and lost.dropped["CreateResource"] == 2
    apigw = ctx.client("apigateway")
    assert [a["id"] for a in apigw.get_rest_apis()["items"]] == [attrs["id"]]
    paths = [r["path"] for r in apigw.get_resources(restApiId=attrs["id"])["items"]]
    assert sorted(paths) == ["/", "/items", "/items/{id}"]
    assert [s["Sid"] for s in function_policy(ctx, fn)] == [f"awslab-apigw-{attrs['id']}"]
    RestApi.delete(ctx, Record(res.kind, "api", res.physical, "created", attrs))
    assert apigw.get_rest_apis()["items"] == [] and function_policy(ctx, fn) == []


def test_a_lost_create_event_source_mapping_answer_leaves_one_mapping(
    lost: LostResponses, ctx: Context
) -> None:
    with lost.paused():
        fn = make_function(ctx, "consumer")
        _, queue = make_queue(ctx, "orders")
    es = EventSource(ctx, "consume", EventSourceProps(function=fn, source=queue))
    attrs = es.create()
    assert lost.dropped["CreateEventSourceMapping"] == 1
    lam = ctx.client("lambda")
    assert [m["UUID"] for m in lam.list_event_source_mappings()["EventSourceMappings"]] == [attrs["uuid"]]
    EventSource.delete(ctx, Record(es.kind, "consume", es.physical, "created", attrs))
    assert lam.list_event_source_mappings()["EventSourceMappings"] == []


def test_a_lost_add_permission_answer_leaves_one_statement(lost: LostResponses, ctx: Context) -> None:
    with lost.paused():
        fn = make_function(ctx, "notifier")
    ensure_invoke_permission(
        ctx, fn, "awslab-sns-x", "sns.amazonaws.com", "arn:aws:sns:us-east-1:123456789012:x"
    )
    assert lost.dropped["AddPermission"] == 1
    assert [s["Sid"] for s in function_policy(ctx, fn)] == ["awslab-sns-x"]


@pytest.mark.parametrize("kind", ["iam.role", "dynamodb.table", "lambda.function"])
def test_a_lost_create_answer_adopts_what_was_made(kind: str, lost: LostResponses, ctx: Context) -> None:
    """The retried create finds the resource of its name already there: it is ours (our tags), so
    it is adopted, with the attributes a plain create returns."""
    with lost.paused():
        role = make_role(ctx, "fn-role")
    fields = {
        "iam.role": {"service": "lambda"},
        "dynamodb.table": {"key": {"id": "S"}},
        "lambda.function": {"code": "handlers/crud", "role": role},
    }[kind]
    cls = kind_class(kind)
    attrs = cls(ctx, "thing", cls.props_model.model_validate(fields)).create()
    create = {"iam.role": "CreateRole", "dynamodb.table": "CreateTable", "lambda.function": "CreateFunction"}
    assert lost.dropped[create[kind]] == 1
    assert attrs["name"] == ctx.physical_name("thing", cls.name_rule) and attrs["arn"]
    assert cls.read(ctx, Record(kind, "thing", attrs["name"], "created", attrs)) is not None


@pytest.mark.parametrize("kind", ["iam.role", "dynamodb.table", "lambda.function"])
def test_a_resource_of_the_name_that_is_not_ours_is_not_adopted(kind: str, ctx: Context) -> None:
    """ "Already exists" for a resource without this resource's tags is an error, as it was."""
    role = make_role(ctx, "fn-role")
    name = ctx.physical_name("thing")
    if kind == "iam.role":
        make_role(ctx, name)
        fields: dict[str, Any] = {"service": "lambda"}
    elif kind == "dynamodb.table":
        ctx.client("dynamodb").create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            Tags=[{"Key": "awslab:stack", "Value": "someone-else"}],
        )
        fields = {"key": {"id": "S"}}
    else:
        make_function(ctx, name, role)
        fields = {"code": "handlers/crud", "role": role}
    cls = kind_class(kind)
    with pytest.raises(ClientError) as info:
        cls(ctx, "thing", cls.props_model.model_validate(fields)).create()
    assert error_code(info.value) in (
        "EntityAlreadyExists",
        "ResourceInUseException",
        "ResourceConflictException",
    )


@pytest.mark.parametrize("case", ["ours", "untagged on a lab function", "untagged", "tagged by another"])
def test_an_existing_mapping_is_adopted_only_when_it_is_ours(case: str, ctx: Context) -> None:
    """AWS refuses a second mapping of a function and queue; the one there is taken over only when
    its tags say it is this resource, or it is untagged (its tagging was lost) on a function of
    this lab. A mapping another tool made for a function the spec names literally is left alone."""
    fn = make_function(ctx, "consumer")
    _, queue = make_queue(ctx, "orders")
    tags = {"ours": ctx.tags("consume"), "tagged by another": {"owner": "terraform"}}.get(case, {})
    lam = ctx.client("lambda")
    uuid = lam.create_event_source_mapping(FunctionName=fn, EventSourceArn=queue, Tags=tags)["UUID"]
    if case == "untagged on a lab function":
        ctx.resolved = {"consumer": {"name": fn.rsplit(":", 1)[-1], "arn": fn}}
    adopted = EventSource(ctx, "consume", EventSourceProps(function=fn, source=queue))._adopt()
    if case in ("ours", "untagged on a lab function"):
        assert adopted is not None and adopted["UUID"] == uuid
    else:
        assert adopted is None
        assert (
            lam.list_tags(Resource=lam.get_event_source_mapping(UUID=uuid)["EventSourceMappingArn"])["Tags"]
            == tags
        )


@pytest.mark.parametrize("recorded", ["nothing", "function and source"])
def test_teardown_of_an_interrupted_create_removes_every_mapping_it_made(recorded: str, ctx: Context) -> None:
    """The process died after a retried CreateEventSourceMapping made two mappings and before the
    duplicate was removed: the "creating" record's delete finds and removes both."""
    fn = make_function(ctx, "consumer")
    _, queue = make_queue(ctx, "orders")
    lam = ctx.client("lambda")
    for _ in range(2):
        lam.create_event_source_mapping(FunctionName=fn, EventSourceArn=queue, Tags=ctx.tags("consume"))
    attrs = {"function": fn, "source": queue} if recorded != "nothing" else {}
    EventSource.delete(
        ctx, Record(EventSource.kind, "consume", ctx.physical_name("consume"), "creating", attrs)
    )
    assert lam.list_event_source_mappings()["EventSourceMappings"] == []


def test_no_request_is_added_when_no_answer_was_lost(ctx: Context) -> None:
    fn = make_function(ctx, ctx.physical_name("items-fn"))
    _, queue = make_queue(ctx, "orders")
    calls = record_calls(ctx, "lambda", "apigateway")
    EventSource(ctx, "consume", EventSourceProps(function=fn, source=queue)).create()
    assert calls == ["lambda.CreateEventSourceMapping"]
    calls.clear()
    lab = replace(ctx, resolved={"items-fn": {"name": "items-fn", "arn": fn}})
    api = RestApi(lab, "api", RestApiProps(routes={"GET /items/{id}": "items-fn"}))
    api.create()
    api.wait_ready()
    api.link()
    # no listing of APIs nor of the new API's tree (CreateRestApi answers its root's id), and no
    # look at the function's policy for a statement id that is new
    assert calls.count("api-gateway.GetRestApis") == 0 and calls.count("api-gateway.GetResources") == 0
    assert calls.count("api-gateway.CreateResource") == 2
    assert [c for c in calls if c.startswith("lambda.")] == ["lambda.AddPermission"]
