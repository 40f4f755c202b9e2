"""The TTL reaper's handler (awslab/reaper/app.py) on moto's in-process mock: every lab (and
example) deployed twice, as two stacks, each with its reaper (awslab/ttl.py); one reaper run
deletes its own stack entirely (versioned objects, rules, schedules, mappings, roles, log groups)
and then itself, but for its own role, stripped of its policy (a role cannot delete itself: see
awslab/reaper/app.py), and leaves the other stack whole. Every AWS call it makes is one its role's
policy allows: the call's action, on the ARN it acts on, under the statement's conditions."""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from awslab import ttl
from awslab.engine.execute import apply_plan
from awslab.engine.plan import plan_changes
from awslab.engine.sweep import find_orphans
from awslab.reaper import app
from awslab.resources.base import Context, kind_class
from awslab.spec import LabSpec, builtin_labs, load_spec
from awslab.state import StateStore
from awslab.target import Target

REPO = Path(__file__).resolve().parents[2]
LABS = ["crud", "upload", "messaging", "workflow", "image"]
EXAMPLES = sorted(p.stem for p in (REPO / "examples").glob("*.yaml"))
# botocore operation -> IAM action, where the names differ
ACTIONS = {
    ("s3", "ListObjectVersions"): "s3:ListBucketVersions",
    ("s3", "DeleteObjects"): "s3:DeleteObject",
    ("s3", "PutBucketNotificationConfiguration"): "s3:PutBucketNotification",
    ("resourcegroupstaggingapi", "GetResources"): "tag:GetResources",
    ("stepfunctions", "DeleteStateMachine"): "states:DeleteStateMachine",
    ("apigateway", "GetRestApis"): "apigateway:GET",
    ("apigateway", "DeleteRestApi"): "apigateway:DELETE",
    ("apigatewayv2", "GetApis"): "apigateway:GET",
    ("apigatewayv2", "DeleteApi"): "apigateway:DELETE",
}


@pytest.fixture(autouse=True)
def _dirs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWSLAB_STATE_DIR", str(tmp_path / "state-dir"))
    monkeypatch.setenv("AWSLAB_CACHE_DIR", str(tmp_path / "cache"))


def spec_of(name: str, tmp_path: Path) -> LabSpec:
    if name in EXAMPLES:
        return load_spec(REPO / "examples" / f"{name}.yaml")
    if name != "image":
        return load_spec(builtin_labs()[name])
    # the image lab's handler needs Pillow, which a target other than the local cloud would bundle
    # (from a package index): the same lab with a handler without requirements
    text = (REPO / "configs" / "image.yaml").read_text().replace("../handlers/image", "handlers/image")
    (tmp_path / "image.yaml").write_text(text)
    (tmp_path / "handlers" / "image").mkdir(parents=True)
    shutil.copy(REPO / "handlers" / "image" / "app.py", tmp_path / "handlers" / "image" / "app.py")
    return load_spec(tmp_path / "image.yaml")


def deploy(spec: LabSpec, state: Path, target: Target) -> tuple[LabSpec, StateStore]:
    store = StateStore(state, {"kind": "aws", "region": "us-east-1"})
    stack = store.ensure_lab(spec.name, str(spec.path)).stack_id
    expires = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(hours=1)
    with_reaper = ttl.add_reaper(spec, stack, target, ttl.Ttl("1h", expires))
    apply_plan(plan_changes(with_reaper, store, target), store, target)
    return with_reaper, store


def live(store: StateStore, lab: str, target: Target) -> dict[str, bool]:
    state = store.lab(lab)
    assert state is not None
    ctx = Context(target=target, lab=lab, stack_id=state.stack_id, base_dir=Path.cwd())
    return {rec.logical: kind_class(rec.kind).read(ctx, rec) is not None for rec in state.resources.values()}


@dataclass(frozen=True)
class Call:
    """What IAM authorizes for one request: its action, the ARN it acts on, that resource's tags
    (aws:ResourceTag/...) and other condition keys (lambda:FunctionArn)."""

    action: str
    arn: str
    tags: tuple[tuple[str, str], ...] = ()
    keys: tuple[tuple[str, str], ...] = ()


def requests_of(target: Target, service: str, op: str, p: dict[str, Any]) -> list[Call]:
    """The IAM requests (Service Authorization Reference: action, resource type, condition keys)
    of one call of the reaper, read before it runs (the resource still there, with its tags)."""
    c = target.client
    region, account = target.region, "123456789012"

    def arn(svc: str, resource: str, *, regional: bool = True, acct: bool = True) -> str:
        return f"arn:aws:{svc}:{region if regional else ''}:{account if acct else ''}:{resource}"

    def tagged(action: str, resource: str, tags: Any) -> Call:
        items = tags.items() if isinstance(tags, dict) else ((t["Key"], t["Value"]) for t in tags)
        return Call(action, resource, tuple(sorted(items)))

    prefix = "states" if service == "stepfunctions" else service
    action = ACTIONS.get((service, op), f"{prefix}:{op}")
    unscoped = {"GetResources", "ListRoles", "ListEventSourceMappings", "ListScheduleGroups",
                "ListSchedules", "ListRules"}  # fmt: skip
    if op in unscoped:
        return [Call(action, "*")]
    if service == "iam":
        role = arn("iam", f"role/{p['RoleName']}", regional=False)
        return [tagged(f"iam:{op}", role, c("iam").list_role_tags(RoleName=p["RoleName"])["Tags"])]
    if service == "lambda" and op == "DeleteFunction":
        fn = arn("lambda", f"function:{p['FunctionName']}")
        return [tagged(action, fn, c("lambda").list_tags(Resource=fn)["Tags"])]
    if service == "lambda" and op == "DeleteEventSourceMapping":
        function = c("lambda").get_event_source_mapping(UUID=p["UUID"])["FunctionArn"]
        return [Call(action, arn("lambda", f"event-source-mapping:{p['UUID']}"),
                     keys=(("lambda:FunctionArn", function),))]  # fmt: skip
    if service == "s3" and op == "DeleteObjects":
        return [Call("s3:DeleteObjectVersion" if o.get("VersionId") else "s3:DeleteObject",
                     arn("s3", f"{p['Bucket']}/{o['Key']}", regional=False, acct=False))
                for o in p["Delete"]["Objects"]]  # fmt: skip
    if service == "s3":
        return [Call(action, arn("s3", p["Bucket"], regional=False, acct=False))]
    if service == "sqs":
        name = p["QueueName"] if op == "GetQueueUrl" else p["QueueUrl"].rsplit("/", 1)[-1]
        return [Call(action, arn("sqs", name))]
    if service == "sns":
        return [Call(action, p["TopicArn"])]
    if service == "stepfunctions":
        tags = c("stepfunctions").list_tags_for_resource(resourceArn=p["stateMachineArn"])["tags"]
        return [Call(action, p["stateMachineArn"], tuple(sorted((t["key"], t["value"]) for t in tags)))]
    if service == "dynamodb":
        table = arn("dynamodb", f"table/{p['TableName']}")
        return [tagged(action, table, c("dynamodb").list_tags_of_resource(ResourceArn=table)["Tags"])]
    if service == "events" and op == "DeleteEventBus":
        return [Call(action, arn("events", f"event-bus/{p['Name']}"))]
    if service == "events" and op == "ListTagsForResource":
        return [Call(action, p["ResourceARN"])]
    if service == "events":
        bus, rule = p.get("EventBusName", "default"), p.get("Rule") or p["Name"]
        return [Call(action, arn("events", f"rule/{rule}" if bus == "default" else f"rule/{bus}/{rule}"))]
    if service == "scheduler" and op == "ListTagsForResource":
        return [Call(action, p["ResourceArn"])]
    if service == "scheduler" and op == "DeleteSchedule":
        return [Call(action, arn("scheduler", f"schedule/{p['GroupName']}/{p['Name']}"))]
    if service == "scheduler" and op == "DeleteScheduleGroup":
        return [Call(action, arn("scheduler", f"schedule-group/{p['Name']}"))]
    if service == "apigateway" and op == "GetRestApis":
        return [Call(action, arn("apigateway", "/restapis", acct=False))]
    if service == "apigatewayv2" and op == "GetApis":
        return [Call(action, arn("apigateway", "/apis", acct=False))]
    if service == "apigateway" and op == "DeleteRestApi":
        api = arn("apigateway", f"/restapis/{p['restApiId']}", acct=False)
        return [tagged(action, api, c("apigateway").get_rest_api(restApiId=p["restApiId"]).get("tags", {}))]
    if service == "apigatewayv2" and op == "DeleteApi":
        api = arn("apigateway", f"/apis/{p['ApiId']}", acct=False)
        return [tagged(action, api, c("apigatewayv2").get_api(ApiId=p["ApiId"]).get("Tags", {}))]
    if service == "logs" and op == "DeleteLogGroup":
        group = arn("logs", f"log-group:{p['logGroupName']}")
        return [tagged(action, group, c("logs").list_tags_for_resource(resourceArn=group)["tags"])]
    raise AssertionError(f"a call of the reaper this test cannot authorize: {service} {op}")


def recorded_calls(monkeypatch: pytest.MonkeyPatch, target: Target) -> list[Call]:
    """Every IAM request the reaper's calls make: its session's clients record each call."""
    import boto3

    calls: list[Call] = []

    def hook(model: Any, params: dict[str, Any], **_: Any) -> None:
        calls.extend(requests_of(target, model.service_model.service_name, model.name, params))

    session = boto3.session.Session()
    session.events.register("before-parameter-build", hook)  # `params`: the call's own
    monkeypatch.setattr(boto3.session, "Session", lambda: session)  # the module app.py calls
    return calls


def allowed(call: Call, policy: list[dict[str, Any]]) -> bool:
    """IAM's evaluation of Allow statements: action and ARN patterns (`*`, `?`, across `/` and `:`),
    StringEquals on aws:ResourceTag/..., ArnLike on other keys; every condition must hold."""
    tags, keys = dict(call.tags), dict(call.keys)

    def holds(condition: dict[str, dict[str, str]]) -> bool:
        for operator, pairs in condition.items():
            for key, want in pairs.items():
                have = tags.get(key.removeprefix("aws:ResourceTag/")) if key.startswith("aws:ResourceTag/") \
                    else keys.get(key)  # fmt: skip
                if have is None or not (have == want if operator == "StringEquals"
                                        else operator == "ArnLike" and fnmatch.fnmatchcase(have, want)):  # fmt: skip
                    return False
        return True

    return any(
        any(fnmatch.fnmatchcase(call.action.lower(), a.lower()) for a in s["actions"])
        and any(fnmatch.fnmatchcase(call.arn, r) for r in s["resources"])
        and holds(s.get("condition") or {})
        for s in policy
    )


# The labs the reaper is tried on: together they hold every kind of every lab and example (the
# test below says so), each deployed twice; the others add no kind, only seconds.
REAPED = ["crud", "image", "messaging", "workflow", "http-api-sqs", "scheduled-job"]


def test_the_labs_the_reaper_is_tried_on_hold_every_kind(tmp_path: Path) -> None:
    def kinds(labs: list[str], where: Path) -> set[str]:
        where.mkdir()
        return {r.kind for lab in labs for r in spec_of(lab, where).resources.values()}

    assert kinds(REAPED, tmp_path / "tried") == kinds(LABS + EXAMPLES, tmp_path / "all")


@pytest.mark.parametrize("lab", REAPED)
def test_the_reaper_deletes_its_stack_and_itself_and_nothing_else(
    lab: str, mocked_aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = Target(kind="aws", region="us-east-1")
    spec = spec_of(lab, tmp_path)
    doomed_spec, doomed = deploy(spec, tmp_path / "a.json", target)
    _, kept = deploy(spec, tmp_path / "b.json", target)
    stack = doomed.lab(spec.name).stack_id  # type: ignore[union-attr]
    assert set(ttl.LOGICALS) <= set(live(doomed, spec.name, target))
    role = doomed.lab(spec.name).resources[ttl.ROLE].physical  # type: ignore[union-attr]
    document = target.client("iam").get_role_policy(RoleName=role, PolicyName="awslab-inline")[
        "PolicyDocument"
    ]
    conditions = {a: s.get("Condition") for s in document["Statement"] for a in s["Action"]}
    assert conditions["apigateway:DELETE"] == {
        "StringEquals": {"aws:ResourceTag/awslab:stack": stack, "aws:ResourceTag/awslab:lab": spec.name}
    }
    # a bucket with versions and delete markers is emptied entirely
    s3 = target.client("s3")
    buckets = [r.physical for r in doomed.lab(spec.name).resources.values() if r.kind == "s3.bucket"]  # type: ignore[union-attr]
    for bucket in buckets:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        for body in (b"one", b"two"):
            s3.put_object(Bucket=bucket, Key="data/file.txt", Body=body)
        s3.delete_object(Bucket=bucket, Key="data/file.txt")

    fn = target.client("lambda").get_function_configuration(
        FunctionName=doomed.lab(spec.name).resources[ttl.FUNCTION].physical  # type: ignore[union-attr]
    )
    for key, value in fn["Environment"]["Variables"].items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", fn["FunctionName"])
    calls = recorded_calls(monkeypatch, target)
    result = app.handler({"lab": spec.name, "stack": stack}, None)

    assert result["stack"] == stack and result["deleted"]
    # what AWS leaves: the reaper's role, with no policy (it may do nothing, and costs nothing)
    left = live(doomed, spec.name, target)
    assert {logical for logical, there in left.items() if there} == {ttl.ROLE}, left
    iam = target.client("iam")
    assert iam.list_role_policies(RoleName=role)["PolicyNames"] == []
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []
    assert Call("iam:DeleteRole", f"arn:aws:iam::123456789012:role/{role}") not in [
        replace(c, tags=()) for c in calls
    ]
    assert all(live(kept, spec.name, target).values()), live(kept, spec.name, target)
    assert [o.physical for o in find_orphans(target, set()) if o.stack_id == stack] == [role]
    tagging = target.client("resourcegroupstaggingapi").get_resources(
        TagFilters=[{"Key": "awslab:stack", "Values": [stack]}]
    )
    assert tagging["ResourceTagMappingList"] == []
    logs = target.client("logs").describe_log_groups(logGroupNamePrefix=f"/aws/lambda/awslab-{lab}-")
    assert not [g for g in logs["logGroups"] if g["logGroupName"].endswith(stack)]
    groups = target.client("scheduler").list_schedule_groups()["ScheduleGroups"]
    assert not [g for g in groups if g["Name"].endswith(stack)]
    policy = doomed_spec.resources[ttl.ROLE].fields["allow"]
    assert calls and not [c for c in calls if not allowed(c, policy)], calls
    # Lambda writes the reaper's last lines with its role: it may not make its log group again
    assert "logs:CreateLogGroup" not in json.dumps(document)


def test_a_stray_event_deletes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWSLAB_LAB", "crud")
    monkeypatch.setenv("AWSLAB_STACK", "abc123")
    with pytest.raises(ValueError, match="not a reaper event"):
        app.handler({"Records": []}, None)
    with pytest.raises(ValueError, match="not a reaper event"):
        app.handler({"lab": "crud", "stack": "other1"}, None)


def test_a_busy_resource_is_retried_for_the_pauses_it_sums_then_reported() -> None:
    """The retry budget is the sum of the injected pauses, not a clock the pauses never move."""
    from botocore.exceptions import ClientError

    pauses: list[float] = []

    def sleep(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) > 100:  # the old loop, which read time.monotonic(), never ended here
            raise AssertionError("the retries never stop")

    def busy(name: str) -> None:
        raise ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "slow down"}}, "Delete")

    reaper = app.Reaper(None, "crud", "abc123", {}, sleep=sleep)
    reaper._do("REST API", "a1b2c3", busy)
    assert reaper.failed == {"REST API a1b2c3": "TooManyRequestsException: slow down"}
    assert pauses and sum(pauses) <= app.RETRY_SECONDS < sum(pauses) + min(pauses[-1] * 2, 30.0)
