"""Sweep: find and delete resources awslab created that no state file knows (the state was lost,
or the lab was deployed from another machine).

A candidate is found by its `awslab-` name and is only claimed when it carries the awslab tags
(`awslab:lab`, `awslab:stack`): a lookalike name without them belongs to someone else. Resources
without tags of their own are claimed through a tagged owner: an untagged event source mapping
through its (orphaned) function, a bucket notification through its awslab bucket. Deletes go
through each kind's own `delete` from a "creating" record, as for a create that died half-way.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from awslab.engine.plan import Progress, ProgressFn
from awslab.errors import ProvisionError
from awslab.resources.base import (
    NAME_PREFIX,
    TAG_LAB,
    TAG_LOGICAL,
    TAG_STACK,
    Context,
    Record,
    error_code,
    is_not_found,
    kind_class,
    physical_name,
)
from awslab.resources.idempotent import tag_map
from awslab.target import Target

PREFIX = f"{NAME_PREFIX}-"
LOG_GROUP_KIND = "logs.log_group"  # no resource kind: Function.delete removes its group itself
LAMBDA_LOG_PREFIX = f"/aws/lambda/{PREFIX}"
# Dependents before what they depend on; log groups last, after the functions that write them.
DELETE_ORDER = (
    ("lambda.event_source", "s3.notification"),
    ("apigateway.rest_api",),
    ("sns.topic", "stepfunctions.state_machine"),
    ("lambda.function",),
    ("sqs.queue",),
    ("dynamodb.table",),
    ("s3.bucket",),
    ("iam.role",),
    (LOG_GROUP_KIND,),
)
# Errors that mean "this candidate cannot be ours here": gone meanwhile, no access, other region.
_NOT_OURS = ("AccessDenied", "AccessDeniedException", "PermanentRedirect", "AuthorizationHeaderMalformed")


@dataclass
class Orphan:
    kind: str
    physical: str
    lab: str
    stack_id: str
    logical: str
    detail: str = ""
    # what the kind's delete needs besides the name (a mapping's uuid, a notification's bucket)
    attrs: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "physical": self.physical,
            "lab": self.lab,
            "stack_id": self.stack_id,
            "logical": self.logical,
            "detail": self.detail,
        }


@dataclass
class SweepResult:
    deleted: list[str] = field(default_factory=list)  # physical names
    failed: dict[str, str] = field(default_factory=dict)  # physical name -> one-line error
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_dict(self) -> dict[str, Any]:
        return {"deleted": list(self.deleted), "failed": dict(self.failed), "seconds": round(self.seconds, 3)}


# ---- finding --------------------------------------------------------------------------------
def find_orphans(
    target: Target, known: set[tuple[str, str]], owned: frozenset[tuple[str, str]] = frozenset()
) -> list[Orphan]:
    """Resources on `target` tagged (or, for untaggable ones, owned) by awslab whose
    (kind, physical name) is not in `known` and whose (lab, stack id) is not in `owned`: a stack
    another state file records is that state's, even where its records lag behind (a resource
    being created right now). IAM is global: on a real account `known` and `owned` should come
    from every region's state of that account."""
    scan = _Scan(target, known)
    found: list[Orphan] = []
    found += scan.roles()
    functions = scan.functions()
    found += functions
    found += scan.event_source_mappings({o.physical: o for o in functions})
    found += scan.rest_apis()
    found += scan.tables()
    buckets, bucket_owners = scan.buckets()
    found += buckets
    found += scan.notifications(bucket_owners)
    found += scan.queues()
    found += scan.topics()
    found += scan.state_machines()
    found += scan.log_groups()
    return sorted((o for o in found if (o.lab, o.stack_id) not in owned), key=_order_key)


Owner = tuple[str, str, str]  # lab, stack id, logical


def owner_of(tags: dict[str, str], name: str) -> Owner | None:
    """(lab, stack, logical) from awslab tags; None when the tags do not say awslab made it.
    A missing logical tag is read back from the name `awslab-<lab>-<logical>-<stack>`."""
    lab, stack = tags.get(TAG_LAB), tags.get(TAG_STACK)
    if not lab or not stack:
        return None
    logical = tags.get(TAG_LOGICAL) or _logical_from_name(name, lab, stack)
    return lab, stack, logical


def _logical_from_name(name: str, lab: str, stack: str) -> str:
    head, tail = f"{PREFIX}{lab}-".lower(), f"-{stack}".lower()
    low = name.lower()
    if low.startswith(head) and low.endswith(tail) and len(low) > len(head) + len(tail):
        return name[len(head) : len(name) - len(tail)]
    return ""


def _tags_or_none(call: Callable[[], dict[str, str]], *untagged: str) -> dict[str, str] | None:
    """The tags `call` returns; {} for the codes that mean "no tags"; None when the resource
    went away or cannot be read here (then it is not claimed)."""
    try:
        return call()
    except ClientError as exc:
        if error_code(exc) in untagged:
            return {}
        if is_not_found(exc) or error_code(exc) in _NOT_OURS:
            return None
        raise


Candidate = tuple[str, Callable[[], dict[str, str]], str, dict[str, Any]]  # name, tags, detail, attrs


class _Scan:
    def __init__(self, target: Target, known: set[tuple[str, str]]) -> None:
        self.target = target
        self.known = known
        self.function_names: set[str] = set()  # every live awslab- function, ours or not

    def _claim(self, kind: str, name: str, tags: dict[str, str] | None, detail: str = "") -> Orphan | None:
        owner = owner_of(tags, name) if tags and (kind, name) not in self.known else None
        return Orphan(kind, name, *owner, detail=detail) if owner else None

    def _tagged(self, kind: str, candidates: Iterable[Candidate], prefix: str = PREFIX) -> list[Orphan]:
        """The candidates with the awslab prefix, not known, whose tags say awslab made them."""
        out: list[Orphan] = []
        for name, tags, detail, attrs in candidates:
            if not name.startswith(prefix) or (kind, name) in self.known:
                continue  # known ones are not even asked for their tags
            if orphan := self._claim(kind, name, _tags_or_none(tags), detail):
                orphan.attrs = attrs
                out.append(orphan)
        return out

    def _pages(self, service: str, operation: str, key: str, **params: Any) -> Iterable[Any]:
        paginator = self.target.client(service).get_paginator(operation)
        for page in paginator.paginate(**params):
            yield from page.get(key, [])

    def roles(self) -> list[Orphan]:
        iam = self.target.client("iam")

        def tags(name: str) -> dict[str, str]:
            pages = iam.get_paginator("list_role_tags").paginate(RoleName=name)
            return tag_map(t for page in pages for t in page["Tags"])

        roles = self._pages("iam", "list_roles", "Roles")
        return self._tagged(
            "iam.role", ((r["RoleName"], partial(tags, r["RoleName"]), r["Arn"], {}) for r in roles)
        )

    def functions(self) -> list[Orphan]:
        lam = self.target.client("lambda")
        functions = list(self._pages("lambda", "list_functions", "Functions"))
        self.function_names = {f["FunctionName"] for f in functions if f["FunctionName"].startswith(PREFIX)}
        named = ((f["FunctionName"], f["FunctionArn"]) for f in functions)
        return self._tagged("lambda.function", ((n, partial(_lambda_tags, lam, a), a, {}) for n, a in named))

    def event_source_mappings(self, orphan_functions: dict[str, Orphan]) -> list[Orphan]:
        """Mappings to awslab functions: claimed by their own tags, or (untagged, e.g. on an
        endpoint without mapping tags) when their function is itself an orphan."""
        lam = self.target.client("lambda")
        rule = kind_class("lambda.event_source").name_rule
        out: list[Orphan] = []
        for m in self._pages("lambda", "list_event_source_mappings", "EventSourceMappings"):
            function = _function_name(m["FunctionArn"])
            if not function.startswith(PREFIX) or m.get("State") == "Deleting":
                continue
            # endpoints without tags on mappings refuse the ARN: untagged
            tags = _tags_or_none(
                partial(_lambda_tags, lam, _mapping_arn(m)),
                "InvalidParameterValueException",
                "ValidationException",
            )
            owner = owner_of(tags or {}, "")
            detail, attrs = f"{m.get('EventSourceArn', '')} -> {function} ({m['UUID']})", {"uuid": m["UUID"]}
            if tags is not None and owner and owner[2]:
                physical = physical_name(owner[0], owner[2], owner[1], rule)
                if ("lambda.event_source", physical) not in self.known:
                    out.append(Orphan("lambda.event_source", physical, *owner, detail, attrs))
            elif function in orphan_functions:
                fn = orphan_functions[function]
                physical = f"{function}-mapping-{m['UUID']}"  # no logical name to build one from
                out.append(Orphan("lambda.event_source", physical, fn.lab, fn.stack_id, "", detail, attrs))
        return out

    def rest_apis(self) -> list[Orphan]:
        apis = self._pages("apigateway", "get_rest_apis", "items")
        return self._tagged(
            "apigateway.rest_api",
            ((a.get("name", ""), partial(dict, a.get("tags") or {}), a["id"], {"id": a["id"]}) for a in apis),
        )

    def tables(self) -> list[Orphan]:
        ddb = self.target.client("dynamodb")

        def tags(name: str) -> dict[str, str]:
            table = ddb.describe_table(TableName=name)["Table"]
            if table.get("TableStatus") == "DELETING":
                raise ClientError({"Error": {"Code": "ResourceNotFoundException"}}, "DescribeTable")
            pages = ddb.get_paginator("list_tags_of_resource").paginate(ResourceArn=table["TableArn"])
            return tag_map(t for page in pages for t in page.get("Tags", []))

        names = self._pages("dynamodb", "list_tables", "TableNames")
        return self._tagged("dynamodb.table", ((n, partial(tags, n), "", {}) for n in names))

    def buckets(self) -> tuple[list[Orphan], dict[str, Owner]]:
        """Orphan buckets, and the owner of every awslab bucket in this region (known or not),
        where notifications are looked for."""
        s3, region = self.target.client("s3"), self.target.region
        out: list[Orphan] = []
        owners: dict[str, Owner] = {}
        page = {"PageSize": 1000}
        for b in self._pages(
            "s3", "list_buckets", "Buckets", Prefix=PREFIX, BucketRegion=region, PaginationConfig=page
        ):
            name = b["Name"]
            if not name.startswith(PREFIX):
                continue
            tags = _tags_or_none(
                lambda n=name: tag_map(s3.get_bucket_tagging(Bucket=n).get("TagSet", [])), "NoSuchTagSet"
            )
            owner = owner_of(tags, name) if tags else None
            # names are global: a bucket of another region belongs to that region's state
            if owner is None or _bucket_region(s3, b) != region:
                continue
            owners[name] = owner
            if orphan := self._claim("s3.bucket", name, tags):
                out.append(orphan)
        return out, owners

    def notifications(self, bucket_owners: dict[str, Owner]) -> list[Orphan]:
        """Lambda notifications named `awslab-...` on awslab buckets (they have no tags)."""
        s3 = self.target.client("s3")
        out: list[Orphan] = []
        for bucket, (lab, stack, _) in sorted(bucket_owners.items()):
            try:
                conf = s3.get_bucket_notification_configuration(Bucket=bucket)
            except ClientError as exc:
                if is_not_found(exc) or error_code(exc) in _NOT_OURS:
                    continue
                raise
            for entry in conf.get("LambdaFunctionConfigurations", []):
                nid = entry.get("Id", "")
                if not nid.startswith(PREFIX) or ("s3.notification", nid) in self.known:
                    continue
                logical = _logical_from_name(nid, lab, stack)
                # a notification of another lab on this bucket: its owner is not in the id
                owner = (lab, stack, logical) if logical else ("", "", "")
                detail = f"on bucket {bucket} -> {entry.get('LambdaFunctionArn', '')}"
                out.append(Orphan("s3.notification", nid, *owner, detail, {"id": nid, "bucket": bucket}))
        return out

    def queues(self) -> list[Orphan]:
        sqs = self.target.client("sqs")
        page = {"PageSize": 1000}  # without it SQS returns at most 1000 and no next token
        urls = self._pages("sqs", "list_queues", "QueueUrls", QueueNamePrefix=PREFIX, PaginationConfig=page)

        def tags(url: str) -> dict[str, str]:
            return dict(sqs.list_queue_tags(QueueUrl=url).get("Tags", {}))

        return self._tagged(
            "sqs.queue", ((u.rsplit("/", 1)[-1], partial(tags, u), u, {"url": u}) for u in urls)
        )

    def topics(self) -> list[Orphan]:
        sns = self.target.client("sns")

        def tags(arn: str) -> dict[str, str]:
            return tag_map(sns.list_tags_for_resource(ResourceArn=arn)["Tags"])

        arns = (t["TopicArn"] for t in self._pages("sns", "list_topics", "Topics"))
        return self._tagged(
            "sns.topic", ((a.rsplit(":", 1)[-1], partial(tags, a), a, {"arn": a}) for a in arns)
        )

    def state_machines(self) -> list[Orphan]:
        sfn = self.target.client("stepfunctions")

        def tags(arn: str) -> dict[str, str]:
            return tag_map(sfn.list_tags_for_resource(resourceArn=arn)["tags"])

        machines = (
            (m["name"], m["stateMachineArn"])
            for m in self._pages("stepfunctions", "list_state_machines", "stateMachines")
        )
        kind = "stepfunctions.state_machine"
        return self._tagged(kind, ((n, partial(tags, a), a, {"arn": a}) for n, a in machines))

    def log_groups(self) -> list[Orphan]:
        """`/aws/lambda/awslab-*` groups whose function is gone and not recorded (a recorded
        function's teardown removes its group)."""
        logs = self.target.client("logs")

        def tags(arn: str) -> dict[str, str]:
            return dict(logs.list_tags_for_resource(resourceArn=arn).get("tags", {}))

        candidates: list[Candidate] = []
        for g in self._pages(
            "logs", "describe_log_groups", "logGroups", logGroupNamePrefix=LAMBDA_LOG_PREFIX
        ):
            function = g["logGroupName"].removeprefix("/aws/lambda/")
            if function in self.function_names or ("lambda.function", function) in self.known:
                continue
            arn = g.get("logGroupArn") or str(g.get("arn", "")).removesuffix(":*")
            detail = f"log group of the deleted function {function}"
            candidates.append((g["logGroupName"], partial(tags, arn), detail, {}))
        out = self._tagged(LOG_GROUP_KIND, candidates, LAMBDA_LOG_PREFIX)
        for o in out:
            if not o.logical:  # the group's name is its function's
                o.logical = _logical_from_name(o.physical.removeprefix("/aws/lambda/"), o.lab, o.stack_id)
        return out


def _lambda_tags(lam: Any, arn: str) -> dict[str, str]:
    return dict(lam.list_tags(Resource=arn).get("Tags", {}))


def _function_name(arn: str) -> str:
    return arn.split(":")[6] if arn.startswith("arn:") else arn


def _mapping_arn(m: dict[str, Any]) -> str:
    if m.get("EventSourceMappingArn"):
        return str(m["EventSourceMappingArn"])
    parts = str(m["FunctionArn"]).split(":")  # older endpoints omit it: built the way Lambda does
    return f"arn:{parts[1]}:lambda:{parts[3]}:{parts[4]}:event-source-mapping:{m['UUID']}"


def _bucket_region(s3: Any, bucket: dict[str, Any]) -> str:
    if bucket.get("BucketRegion"):
        return str(bucket["BucketRegion"])
    location = s3.get_bucket_location(Bucket=bucket["Name"]).get("LocationConstraint")
    # S3's legacy answers: none for us-east-1, "EU" for eu-west-1
    return {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(location, location)


def _order_key(o: Orphan) -> tuple[int, str, str]:
    rank = next((i for i, kinds in enumerate(DELETE_ORDER) if o.kind in kinds), len(DELETE_ORDER))
    return rank, o.kind, o.physical


# ---- deleting -------------------------------------------------------------------------------
def sweep(target: Target, orphans: list[Orphan], *, on_progress: ProgressFn | None = None) -> SweepResult:
    """Delete `orphans`, dependents first, each through its kind's `delete`; carries on past
    failures. Progress names each resource by its physical name (orphans of several labs may
    share a logical name)."""
    started = time.monotonic()
    notify = on_progress or (lambda _p: None)
    result = SweepResult()
    contexts: dict[tuple[str, str], Context] = {}
    for o in sorted(orphans, key=_order_key):
        ctx = contexts.setdefault(
            (o.lab, o.stack_id), Context(target=target, lab=o.lab, stack_id=o.stack_id, base_dir=Path.cwd())
        )
        t0 = time.monotonic()
        notify(Progress(o.physical, o.kind, "delete", "start", o.detail))
        try:
            _delete(ctx, o)
        except Exception as exc:
            err = ProvisionError(o.kind, o.logical or o.physical, "deleting", exc)
            result.failed[o.physical] = str(err)
            notify(Progress(o.physical, o.kind, "delete", "failed", str(err), time.monotonic() - t0))
            continue
        result.deleted.append(o.physical)
        notify(Progress(o.physical, o.kind, "delete", "done", o.detail, time.monotonic() - t0))
    result.seconds = time.monotonic() - started
    return result


def _delete(ctx: Context, o: Orphan) -> None:
    if o.kind == LOG_GROUP_KIND:
        try:
            ctx.client("logs").delete_log_group(logGroupName=o.physical)
        except ClientError as exc:
            if not is_not_found(exc):
                raise
        return
    record = Record(o.kind, o.logical, o.physical, status="creating", attrs=dict(o.attrs))
    kind_class(o.kind).delete(ctx, record)
