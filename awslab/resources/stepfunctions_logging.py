"""A state machine's `logging:` to a CloudWatch Logs log group, which the state machine makes
(tagged as its own) and deletes with itself.

Step Functions writes the logs with the state machine's role, which needs what AWS documents for
CloudWatch Logs logging (Step Functions Developer Guide, "IAM policies for logging to CloudWatch
Logs"): logs:CreateLogDelivery, GetLogDelivery, UpdateLogDelivery, DeleteLogDelivery,
ListLogDeliveries, PutResourcePolicy, DescribeResourcePolicies and DescribeLogGroups, on "*" (log
deliveries have no resource-level permissions). `ROLE_ACTIONS` lists them: the local cloud refuses
logging whose role lacks one, as AWS does (awslab/local/request_checks.py).
The default log group name is under /aws/vendedlogs/, as AWS recommends, so that its resource
policy stays within CloudWatch Logs' size limit.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from awslab.resources.base import TAG_LAB, TAG_STACK, Context, Props, arn_of, error_code

ROLE_ACTIONS = (
    "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
)  # fmt: skip
Level = Literal["ALL", "ERROR", "FATAL", "OFF"]


class LoggingProps(Props):
    level: Level = "ALL"
    include_execution_data: bool = False  # inputs and outputs in the log (they may hold secrets)
    # default /aws/vendedlogs/states/NAME
    log_group: str | None = Field(None, pattern=r"^[A-Za-z0-9_/.#-]+$", max_length=512)


def log_group_name(logging: LoggingProps, machine: str) -> str:
    return logging.log_group or f"/aws/vendedlogs/states/{machine}"


def log_group_arn(ctx: Context, name: str) -> str:
    """The ARN Step Functions takes: the log group's, with `:*` (every stream of it)."""
    return arn_of(ctx.target, "logs", f"log-group:{name}:*")


def made_here(ctx: Context, tags: dict[str, str]) -> bool:
    """Whether a log group's tags say this lab's stack made it: a group named in two labs' specs
    is made by the first and only used by the other, whose teardown and retag leave it alone."""
    return tags.get(TAG_LAB) == ctx.lab and tags.get(TAG_STACK) == ctx.stack_id


def ensure_log_group(ctx: Context, name: str, tags: dict[str, str]) -> None:
    """The log group, made with the state machine's tags unless it is there already."""
    from botocore.exceptions import ClientError

    try:
        ctx.client("logs").create_log_group(logGroupName=name, tags=tags)
    except ClientError as exc:
        if error_code(exc) != "ResourceAlreadyExistsException":
            raise


def configuration(ctx: Context, logging: LoggingProps | None, machine: str) -> dict[str, Any]:
    """loggingConfiguration for CreateStateMachine / UpdateStateMachine (OFF without `logging`)."""
    if logging is None or logging.level == "OFF":
        return {"level": "OFF", "includeExecutionData": False}
    arn = log_group_arn(ctx, log_group_name(logging, machine))
    return {
        "level": logging.level,
        "includeExecutionData": logging.include_execution_data,
        "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": arn}}],
    }


def live_settings(config: dict[str, Any] | None) -> dict[str, Any]:
    """The attributes a machine's live loggingConfiguration gives (for drift)."""
    config = config or {}
    destinations = config.get("destinations") or []
    arn = ((destinations[0] if destinations else {}).get("cloudWatchLogsLogGroup") or {}).get(
        "logGroupArn", ""
    )
    return {
        "logging_level": config.get("level", "OFF"),
        "include_execution_data": bool(config.get("includeExecutionData", False)),
        "log_group": _name_of(arn) or None,
    }


def _name_of(arn: str) -> str:
    """arn:aws:logs:REGION:ACCOUNT:log-group:NAME:* -> NAME."""
    if ":log-group:" not in arn:
        return ""
    name = arn.split(":log-group:", 1)[1]
    return name[:-2] if name.endswith(":*") else name


def delete_if_made(ctx: Context, name: str | None) -> None:
    """Delete the log group when this stack made it (its tags say so); one made by hand, or by
    another lab, stays."""
    from botocore.exceptions import ClientError

    if not name:
        return
    logs = ctx.client("logs")
    try:
        arn = log_group_arn(ctx, name)[: -len(":*")]
        tags = logs.list_tags_for_resource(resourceArn=arn).get("tags", {})
        if made_here(ctx, tags):
            logs.delete_log_group(logGroupName=name)
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
