"""`call: METHOD /path`: an HTTP request to the lab's API (or function URL)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, Field

from awslab.exercise.actions.base import Action, Check, CheckRun, Observation, register
from awslab.exercise.defaults import HTTP_KINDS


class CallOptions(BaseModel):
    api: str | None = None  # logical name of the API when the lab has several (call, upload)
    json_: Any = Field(default=None, alias="json")  # a JSON body
    body: str | None = None  # a raw body
    headers: dict[str, str] = Field(default_factory=dict)


@register
class Call(Action):
    key = "call"
    order = 10
    value_type = str
    Options = CallOptions
    observes: ClassVar[frozenset[str]] = frozenset({"status", "json_", "body_contains"})

    @classmethod
    def resources(cls, check: Check) -> list[tuple[str, tuple[str, ...]]]:
        api = check.options(CallOptions).api
        return [] if api is None else [(api, HTTP_KINDS)]

    @classmethod
    def run(cls, check: Check, run: CheckRun) -> Observation:
        from awslab.exercise import http

        o = check.options(CallOptions)
        method, _, path = str(run.resolve(check.value)).strip().partition(" ")
        api = http.api_record(run.lab, o.api)
        body = {"json_body": run.resolve(o.json_)} if o.json_ is not None else {}
        resp = http.call(
            api.attrs["url"],
            method,
            path.strip() or "/",
            data=run.resolve(o.body),
            headers=run.resolve(o.headers),
            **body,
        )
        return Observation({"status": resp.status, "json_": resp.json, "body": resp.body}, resp)
