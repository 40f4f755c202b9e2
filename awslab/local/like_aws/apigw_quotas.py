"""API Gateway's control-plane quotas: fixed per-account rates for creating, deploying and managing
APIs, and 429 TooManyRequestsException beyond them.

AWS: "Amazon API Gateway quotas" (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html),
section "API Gateway quotas for creating, deploying and managing an API" (these cannot be raised):
CreateRestApi 1 request every 3 s for a regional or private API, every 30 s for an edge-optimized
one (the default when no endpointConfiguration is given); DeleteRestApi 1 every 30 s;
CreateDeployment 1 every 5 s; CreateResource, DeleteResource, CreateApiKey, DeleteApiKey 5 per s;
GetResources 5 every 2 s; PutRestApi 1 per s; ImportRestApi as CreateRestApi; other operations
only the total: "10 requests per second, with a burst quota of 40 requests per second". Token
buckets, as API Gateway throttles. The answer: 429 TooManyRequestsException with the Retry-After
header (botocore's apigateway model: retryAfterSeconds) and the body {"message": "Too Many
Requests"}; botocore retries it (a throttling code) with its backoff, ignoring Retry-After.
Every interval is multiplied by AWSLAB_LIKE_AWS_SCALE; AWSLAB_LIKE_AWS_APIGW_QUOTAS=0 turns the
quotas off.
"""

from __future__ import annotations

import math
import threading
from typing import Any

from awslab.local.like_aws.answers import Answer, Forward, rest_json_error
from awslab.local.like_aws.base import Behaviour, Proceed
from awslab.local.like_aws.calls import Call, router
from awslab.local.like_aws.clock import Clock
from awslab.local.like_aws.settings import LikeAws

TOO_MANY = "Too Many Requests"
# operation -> (requests, per seconds): the bucket holds `requests` and refills over `per` seconds.
QUOTAS: dict[str, tuple[int, float]] = {
    "CreateRestApi": (1, 3.0),  # regional or private; edge-optimized: EDGE_CREATE
    "ImportRestApi": (1, 3.0),
    "DeleteRestApi": (1, 30.0),
    "CreateDeployment": (1, 5.0),
    "CreateResource": (5, 1.0),
    "DeleteResource": (5, 1.0),
    "CreateApiKey": (5, 1.0),
    "DeleteApiKey": (5, 1.0),
    "GetResources": (5, 2.0),
    "PutRestApi": (1, 1.0),
    "CreateDocumentationVersion": (1, 20.0),
    "CreateDomainName": (1, 30.0),
    "DeleteDomainName": (1, 30.0),
    "UpdateDomainName": (1, 30.0),
    "ImportDocumentationParts": (1, 30.0),
    "UpdateAccount": (1, 20.0),
    "UpdateUsagePlan": (1, 20.0),
}
EDGE_CREATE = (1, 30.0)
TOTAL = (40, 4.0)  # 10 per second, burst 40: a bucket of 40 refilled at 10/s


class _Bucket:
    def __init__(self, size: int, per: float, now: float) -> None:
        self.size, self.rate = size, size / per if per > 0 else math.inf
        self.tokens, self.at = float(size), now

    def refill(self, now: float) -> None:
        self.tokens = min(self.size, self.tokens + (now - self.at) * self.rate)
        self.at = now

    def wait(self) -> float:
        """Seconds until a token is there (0: one is)."""
        return 0.0 if self.tokens >= 1 - 1e-9 else (1 - self.tokens) / self.rate  # 1e-9: float sums


class ApiGatewayQuotas(Behaviour):
    def __init__(self, settings: LikeAws, clock: Clock) -> None:
        super().__init__(settings, clock)
        self.operations = (frozenset(("apigateway", op) for op in router("apigateway").operations())
                           if settings.apigw_quotas and settings.scale > 0 else frozenset())  # fmt: skip
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], _Bucket] = {}  # (region, quota) -> its bucket

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()

    def handle(self, call: Call, proceed: Proceed, moto: Forward) -> Answer:
        op = call.operation or ""
        quota = QUOTAS.get(op)
        if op in ("CreateRestApi", "ImportRestApi") and _edge(call):
            quota, op = EDGE_CREATE, f"{op}:EDGE"
        keys = [("total", TOTAL), *([(op, quota)] if quota else [])]
        with self._lock:
            now = self.clock()
            buckets = [self._bucket(call.region, name, size_per, now) for name, size_per in keys]
            wait = max(b.wait() for b in buckets)
            if wait == 0:
                for bucket in buckets:
                    bucket.tokens -= 1
        if wait > 0:
            retry_after = str(max(1, math.ceil(wait)))
            return rest_json_error(
                429, "TooManyRequestsException", TOO_MANY, extra_headers=[("Retry-After", retry_after)]
            )
        return proceed()

    def _bucket(self, region: str, name: str, size_per: tuple[int, float], now: float) -> _Bucket:
        bucket = self._buckets.get((region, name))
        if bucket is None:
            size, per = size_per
            bucket = self._buckets[(region, name)] = _Bucket(size, per * self.settings.scale, now)
        bucket.refill(now)
        return bucket


def _edge(call: Call) -> bool:
    """Whether a CreateRestApi / ImportRestApi makes an edge-optimized API (AWS's default)."""
    if call.operation == "ImportRestApi":
        wanted = call.query.get("endpointConfigurationTypes") or "EDGE"
        return "EDGE" in wanted.upper()
    config: Any = call.params().get("endpointConfiguration") or {}
    types = config.get("types") if isinstance(config, dict) else None
    return not types or "EDGE" in types
