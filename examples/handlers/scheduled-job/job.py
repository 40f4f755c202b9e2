"""The scheduled job: records each run in the runs table.

EventBridge Scheduler invokes it with the schedule's `input` as the event ({"task": ..., "source":
...}); the nightly EventBridge rule with its input transformer's output. A rule without an input
would send the whole "Scheduled Event" (detail-type "Scheduled Event", source "aws.events"): that
is recorded too, as task "scheduled-event".
"""

import os
import uuid
from datetime import UTC, datetime

import boto3

TABLE = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def handler(event, context):
    if event.get("detail-type") == "Scheduled Event":
        task, source, scheduled = "scheduled-event", event.get("source", "aws.events"), event.get("time")
    else:
        task, source, scheduled = (
            event.get("task", "unnamed"),
            event.get("source", "unknown"),
            event.get("scheduled"),
        )
    run = {
        "id": str(uuid.uuid4()),
        "task": str(task),
        "source": str(source),
        "ran_at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    if scheduled:
        run["scheduled"] = str(scheduled)
    TABLE.put_item(Item=run)
    print(f"ran {run['task']} from {run['source']}")
    return {"recorded": True, **run}
