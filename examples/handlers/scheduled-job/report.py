"""The job's report: has it run, how often, and its latest run.

`{"task": "cleanup", "wait_seconds": 60}` waits up to that long for a first run of that task: a
schedule runs its target within the minute it is due, so a check made right after `awslab up`
waits for it instead of failing.
"""

import os
import time

import boto3

TABLE = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def runs_of(task):
    items, kwargs = [], {}
    while True:
        page = TABLE.scan(**kwargs)
        items += page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return [i for i in items if task is None or i.get("task") == task]


def handler(event, context):
    task = event.get("task")
    # leave a few seconds of the function's own timeout to answer
    budget = min(float(event.get("wait_seconds", 0)), context.get_remaining_time_in_millis() / 1000 - 3)
    deadline = time.monotonic() + budget
    runs = runs_of(task)
    while not runs and time.monotonic() < deadline:
        time.sleep(0.5)
        runs = runs_of(task)
    if not runs:
        return {"ran": False, "runs": 0, "task": task}
    latest = max(runs, key=lambda r: r["ran_at"])
    return {
        "ran": True,
        "runs": len(runs),
        "task": latest["task"],
        "source": latest["source"],
        "latest": latest,
    }
