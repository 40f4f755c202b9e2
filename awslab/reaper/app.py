"""awslab's reaper: a Lambda function that deletes one lab's stack when its TTL runs out.

A one-time EventBridge Scheduler schedule invokes it at the lab's expiry. It finds every resource
carrying the lab's `awslab:lab` and `awslab:stack` tags and deletes them, dependents first, then
itself: its schedule, its function and log group, and last its own role's policy, not the role. IAM
refuses DeleteRole while a role has a policy, and a call signed with the role is allowed only by
its policies: once they are gone (as soon as IAM has caught up), the role may delete nothing, itself
included. So the role is left, granting nothing and costing nothing; `awslab teardown` deletes it.
Its role cannot make log groups either: the group deleted, Lambda makes no new one (untagged, which
no sweep would claim) for the lines written after. It runs on AWS Lambda's python3.12 runtime with
boto3 alone (awslab is not installed there), so it imports nothing else.

Resources are found with the Resource Groups Tagging API where it covers the service (Lambda,
DynamoDB, S3, SQS, SNS, Step Functions, CloudWatch Logs, EventBridge), and by each service's own
list otherwise (IAM roles, API Gateway, Scheduler groups, event source mappings). A candidate must
carry both tags; names are checked too (`awslab-<lab>-...-<stack>`), so nothing else is touched.
When something of the lab cannot be deleted, the reaper keeps itself and fails: Lambda retries
the invoke, and the lab stays visible to `awslab status` and `awslab teardown --sweep`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
from botocore.exceptions import ClientError

TAG_LAB = "awslab:lab"
TAG_STACK = "awslab:stack"
# what the tagging API is asked for: the services it covers (on AWS and on the local cloud); by
# service, not type, since emulators name some types otherwise (moto: logs:loggroup); the ARNs say
TAGGED_SERVICES = ["lambda", "dynamodb", "s3", "sqs", "sns", "states", "logs", "events"]
_GONE = {
    "ResourceNotFoundException", "NotFoundException", "NoSuchEntity", "NoSuchBucket",
    "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist", "StateMachineDoesNotExist", "NotFound",
}  # fmt: skip
# AWS is still busy with it (a table CREATING, a mapping being made, API Gateway's delete quota)
_BUSY = {"ResourceInUseException", "ResourceConflictException", "TooManyRequestsException",
         "ThrottlingException", "Throttling", "ConflictException", "DeleteConflict", "OperationAborted",
         "LimitExceededException"}  # fmt: skip
RETRY_SECONDS = 240.0  # API Gateway allows one DeleteRestApi per 30 s per account


class Reaper:
    """Deletes the stack `stack` of lab `lab`; `me` names the reaper's own resources."""

    def __init__(self, session: Any, lab: str, stack: str, me: dict[str, str],
                 sleep: Callable[[float], None] = time.sleep) -> None:  # fmt: skip
        self.session = session
        self.lab, self.stack, self.me = lab, stack, me
        self.sleep = sleep
        self.deleted: list[str] = []
        self.failed: dict[str, str] = {}
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service)
        return self._clients[service]

    # ---- what is ours -----------------------------------------------------------------------------
    def ours(self, tags: dict[str, str]) -> bool:
        return tags.get(TAG_LAB) == self.lab and tags.get(TAG_STACK) == self.stack

    def named_ours(self, name: str) -> bool:
        return name.startswith(f"awslab-{self.lab}-") and name.endswith(f"-{self.stack}")

    def tagged(self) -> dict[str, list[str]]:
        """ARNs by kind ("lambda:function", "s3", ...) of the resources the tagging API knows."""
        found: dict[str, list[str]] = {}
        pages = (
            self.client("resourcegroupstaggingapi")
            .get_paginator("get_resources")
            .paginate(
                TagFilters=[
                    {"Key": TAG_LAB, "Values": [self.lab]},
                    {"Key": TAG_STACK, "Values": [self.stack]},
                ],
                ResourceTypeFilters=TAGGED_SERVICES,
            )
        )
        for page in pages:
            for item in page.get("ResourceTagMappingList", []):
                arn = item["ResourceARN"]
                found.setdefault(_kind_of(arn), []).append(arn)
        return found

    # ---- the run ----------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        tagged = self.tagged()
        functions = [_last(a, ":") for a in tagged.get("lambda:function", [])]
        own_fn, own_log = self.me.get("function", ""), f"/aws/lambda/{self.me.get('function', '')}"
        buckets = [a.split(":::", 1)[-1] for a in tagged.get("s3", [])]
        log_groups = [_log_group(a) for a in tagged.get("logs:log-group", [])]
        roles = self.roles()
        steps: list[tuple[str, Callable[[str], None], list[str]]] = [
            ("event source mapping", self.delete_mapping, self.mappings(functions)),
            ("bucket notifications", self.delete_notifications, buckets),
            ("rule", self.delete_rule, self.rules(tagged.get("events:event-bus", []))),
            ("schedules", self.delete_schedules, self.schedule_groups()),
            ("REST API", self.delete_rest_api, self.rest_apis()),
            ("HTTP API", self.delete_http_api, self.http_apis()),
            ("topic", self.delete_topic, tagged.get("sns", [])),
            ("state machine", self.delete_state_machine, tagged.get("states:stateMachine", [])),
            ("function", self.delete_function, [f for f in functions if f != own_fn]),
            ("event bus", self.delete_bus, tagged.get("events:event-bus", [])),
            ("queue", self.delete_queue, tagged.get("sqs", [])),
            ("table", self.delete_table, [_last(a, "/") for a in tagged.get("dynamodb:table", [])]),
            ("bucket", self.delete_bucket, buckets),
            ("role", self.delete_role, [r for r in roles if r != self.me.get("role")]),
            ("log group", self.delete_log_group, [g for g in log_groups if g != own_log]),
        ]  # fmt: skip
        for what, delete, names in steps:
            for name in names:
                self._do(what, name, delete)
        if self.failed:  # keep the reaper, so that Lambda's retry of the invoke tries again
            raise RuntimeError(f"the reaper could not delete {len(self.failed)}: {json.dumps(self.failed)}")
        self.delete_self(own_fn, own_log)
        return {"lab": self.lab, "stack": self.stack, "deleted": self.deleted}

    def delete_self(self, function: str, log_group: str) -> None:
        """The reaper's schedule (and the lab's schedule group), its function (this invocation runs
        on), its log group, and its role's policies last: nothing more is allowed after them, not
        even the role's own DeleteRole (see the module doc). A failure here is logged, not raised:
        a retry could do no more."""
        steps: list[tuple[str, Callable[[str], None], str]] = [
            ("schedule group", self.delete_schedule_group, self.me.get("group", "")),
            ("function", self.delete_function, function),
            ("log group", self.delete_log_group, log_group),
            ("role policies", self.delete_role_policies, self.me.get("role", "")),
        ]
        for what, delete, name in steps:
            if name:
                self._do(what, name, delete)

    def _do(self, what: str, name: str, delete: Callable[[str], None]) -> None:
        """One delete, retried while AWS says the resource is busy, for RETRY_SECONDS of pauses
        (summed, not read off a clock: the pause is injectable); "not found" is success."""
        waited, pause = 0.0, 1.0
        while True:
            try:
                delete(name)
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code in _GONE or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                    break
                if code in _BUSY and waited + pause <= RETRY_SECONDS:
                    self.sleep(pause)
                    waited += pause
                    pause = min(pause * 2, 30.0)
                    continue
                self.failed[f"{what} {name}"] = f"{code}: {exc.response.get('Error', {}).get('Message', '')}"
                print(json.dumps({"failed": what, "name": name, "error": code}))
                return
            break
        self.deleted.append(f"{what} {name}")
        print(json.dumps({"deleted": what, "name": name}))

    # ---- listings the tagging API does not cover --------------------------------------------------
    def roles(self) -> list[str]:
        iam, out = self.client("iam"), []
        for page in iam.get_paginator("list_roles").paginate():
            for role in page.get("Roles", []):
                name = role["RoleName"]
                if self.named_ours(name) and self.ours(_tag_map(iam.list_role_tags(RoleName=name)["Tags"])):
                    out.append(name)
        return out

    def rules(self, buses: list[str]) -> list[str]:
        """ARNs of the lab's rules, on the default bus and on the lab's buses (the tagging API
        lists rules on AWS, not on every emulator: asked of EventBridge itself)."""
        events, out = self.client("events"), []
        for bus in ["default", *(_last(b, "/") for b in buses)]:
            token: dict[str, str] = {}
            while True:  # ListRules has no paginator in older botocore
                page = events.list_rules(NamePrefix=f"awslab-{self.lab}-", EventBusName=bus, **token)
                # the name first: the role may read tags of this stack's names only (another
                # stack's rule would be AccessDenied)
                for rule in (r for r in page.get("Rules", []) if self.named_ours(r["Name"])):
                    tags = events.list_tags_for_resource(ResourceARN=rule["Arn"]).get("Tags", [])
                    if self.ours(_tag_map(tags)):
                        out.append(rule["Arn"])
                if not page.get("NextToken"):
                    break
                token = {"NextToken": page["NextToken"]}
        return out

    def mappings(self, functions: list[str]) -> list[str]:
        lam, out = self.client("lambda"), []
        for function in functions:
            pages = lam.get_paginator("list_event_source_mappings").paginate(FunctionName=function)
            out += [m["UUID"] for page in pages for m in page.get("EventSourceMappings", [])]
        return out

    def schedule_groups(self) -> list[str]:
        scheduler, out = self.client("scheduler"), []
        pages = scheduler.get_paginator("list_schedule_groups").paginate(NamePrefix=f"awslab-{self.lab}-")
        groups = (g for page in pages for g in page.get("ScheduleGroups", []) if self.named_ours(g["Name"]))
        for group in groups:  # by name first, as rules
            tags = scheduler.list_tags_for_resource(ResourceArn=group["Arn"]).get("Tags", [])
            if self.ours(_tag_map(tags)):
                out.append(group["Name"])
        return out

    def rest_apis(self) -> list[str]:
        pages = self.client("apigateway").get_paginator("get_rest_apis").paginate()
        return [a["id"] for page in pages for a in page.get("items", []) if self.ours(a.get("tags") or {})]

    def http_apis(self) -> list[str]:
        pages = self.client("apigatewayv2").get_paginator("get_apis").paginate()
        return [a["ApiId"] for page in pages for a in page.get("Items", []) if self.ours(a.get("Tags") or {})]

    # ---- deletes ----------------------------------------------------------------------------------
    def delete_mapping(self, uuid: str) -> None:
        self.client("lambda").delete_event_source_mapping(UUID=uuid)

    def delete_notifications(self, bucket: str) -> None:
        """Before the bucket is emptied: deleting its objects must not invoke the lab's functions."""
        self.client("s3").put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={})

    def delete_rule(self, arn: str) -> None:
        events = self.client("events")
        path = arn.split(":rule/", 1)[1]
        bus, name = path.split("/", 1) if "/" in path else ("default", path)
        targets = [t["Id"] for page in events.get_paginator("list_targets_by_rule").paginate(
            Rule=name, EventBusName=bus) for t in page.get("Targets", [])]  # fmt: skip
        if targets:  # EventBridge refuses to delete a rule that has targets
            events.remove_targets(Rule=name, EventBusName=bus, Ids=targets, Force=True)
        events.delete_rule(Name=name, EventBusName=bus, Force=True)

    def delete_schedules(self, group: str) -> None:
        """The schedules of one of the lab's groups, but the reaper's own (it goes last); a group
        without the reaper's goes with them."""
        scheduler = self.client("scheduler")
        pages = scheduler.get_paginator("list_schedules").paginate(GroupName=group)
        for name in [s["Name"] for page in pages for s in page.get("Schedules", [])]:
            if (group, name) == (self.me.get("group"), self.me.get("schedule")):
                continue
            try:
                scheduler.delete_schedule(Name=name, GroupName=group)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in _GONE:
                    raise
        if group != self.me.get("group"):
            scheduler.delete_schedule_group(Name=group)

    def delete_schedule_group(self, group: str) -> None:
        """The reaper's own schedule (gone already when Scheduler deleted it after this invoke)
        and its group. Deleting a group deletes its schedules too, but only eventually."""
        scheduler = self.client("scheduler")
        try:
            scheduler.delete_schedule(Name=self.me.get("schedule", ""), GroupName=group)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in _GONE:
                raise
        scheduler.delete_schedule_group(Name=group)

    def delete_rest_api(self, api_id: str) -> None:
        self.client("apigateway").delete_rest_api(restApiId=api_id)

    def delete_http_api(self, api_id: str) -> None:
        self.client("apigatewayv2").delete_api(ApiId=api_id)

    def delete_topic(self, arn: str) -> None:
        self.client("sns").delete_topic(TopicArn=arn)

    def delete_state_machine(self, arn: str) -> None:
        self.client("stepfunctions").delete_state_machine(stateMachineArn=arn)

    def delete_function(self, name: str) -> None:
        self.client("lambda").delete_function(FunctionName=name)

    def delete_bus(self, arn: str) -> None:
        self.client("events").delete_event_bus(Name=_last(arn, "/"))

    def delete_queue(self, arn: str) -> None:
        parts = arn.split(":")
        sqs = self.client("sqs")
        url = sqs.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])["QueueUrl"]
        sqs.delete_queue(QueueUrl=url)

    def delete_table(self, name: str) -> None:
        self.client("dynamodb").delete_table(TableName=name)

    def delete_bucket(self, bucket: str) -> None:
        """Emptied first, every version and delete marker too."""
        s3 = self.client("s3")
        for batch in _batches(_versions(s3, bucket), 1000):
            s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
        s3.delete_bucket(Bucket=bucket)

    def delete_role(self, name: str) -> None:
        """Its policies first: IAM refuses to delete a role that has any."""
        self.delete_role_policies(name)
        self.client("iam").delete_role(RoleName=name)

    def delete_role_policies(self, name: str) -> None:
        iam = self.client("iam")
        for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=name):
            for policy in page.get("AttachedPolicies", []):
                iam.detach_role_policy(RoleName=name, PolicyArn=policy["PolicyArn"])
        for page in iam.get_paginator("list_role_policies").paginate(RoleName=name):
            for policy in page.get("PolicyNames", []):
                iam.delete_role_policy(RoleName=name, PolicyName=policy)

    def delete_log_group(self, name: str) -> None:
        self.client("logs").delete_log_group(logGroupName=name)


def _versions(s3: Any, bucket: str) -> Iterator[dict[str, str]]:
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
            yield {"Key": v["Key"], **({"VersionId": v["VersionId"]} if v.get("VersionId") else {})}


def _batches(items: Iterator[dict[str, str]], size: int) -> Iterator[list[dict[str, str]]]:
    batch: list[dict[str, str]] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _kind_of(arn: str) -> str:
    """'arn:aws:lambda:r:a:function:f' -> 'lambda:function'; S3, SQS and SNS ARNs name no type."""
    parts = arn.split(":")
    service, resource = parts[2], ":".join(parts[5:])
    if service in ("s3", "sqs", "sns"):
        return service
    kind = resource.split("/", 1)[0].split(":", 1)[0]
    return f"{service}:{kind}"


def _last(arn: str, sep: str) -> str:
    return arn.rsplit(sep, 1)[-1]


def _log_group(arn: str) -> str:
    return arn.split(":log-group:", 1)[1].removesuffix(":*")


def _tag_map(tags: list[dict[str, str]]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tags}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Invoked by the lab's reaper schedule with {"lab": ..., "stack": ...}: anything else (an
    event meant for another function) is refused, so that no stray invoke deletes the lab."""
    lab, stack = os.environ["AWSLAB_LAB"], os.environ["AWSLAB_STACK"]
    if not isinstance(event, dict) or event.get("lab") != lab or event.get("stack") != stack:
        raise ValueError(f"not a reaper event for lab {lab} stack {stack}: {json.dumps(event)[:200]}")
    me = {
        "function": os.environ.get("AWS_LAMBDA_FUNCTION_NAME", ""),
        "role": os.environ.get("AWSLAB_REAPER_ROLE", ""),
        "group": os.environ.get("AWSLAB_REAPER_GROUP", ""),
        "schedule": os.environ.get("AWSLAB_REAPER_SCHEDULE", ""),
    }
    result = Reaper(boto3.session.Session(), lab, stack, me).run()
    print(json.dumps({"reaped": lab, "stack": stack, "deleted": len(result["deleted"])}))
    return result
