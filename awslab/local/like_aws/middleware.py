"""The AWS-like layer: a WSGI app between awslab's guard and moto (see the package doc).

A signed AWS call that a behaviour takes part in goes through that behaviour's `handle` (in the
order of BEHAVIOURS), then to moto; its answer comes back through them. Every other request goes
to moto untouched, streamed as before. POST /moto-api/reset also forgets every window.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from awslab.local.like_aws.answers import Answer, capture
from awslab.local.like_aws.apigw_quotas import ApiGatewayQuotas
from awslab.local.like_aws.base import Behaviour
from awslab.local.like_aws.calls import Call, identify
from awslab.local.like_aws.clock import Clock
from awslab.local.like_aws.dynamodb import DynamoDbTables
from awslab.local.like_aws.iam import IamPropagation
from awslab.local.like_aws.lambda_states import LambdaStates
from awslab.local.like_aws.names import SqsNameReuse, StateMachineDeleting
from awslab.local.like_aws.settings import LikeAws

log = logging.getLogger("awslab.local.like_aws")

# Order matters where two take part in one call: a throttled call goes no further; a Pending
# function's conflict comes before the role check of the same UpdateFunctionConfiguration.
BEHAVIOURS: tuple[type[Behaviour], ...] = (ApiGatewayQuotas, LambdaStates, IamPropagation, DynamoDbTables,
                                           SqsNameReuse, StateMachineDeleting)  # fmt: skip


class LikeAwsMiddleware:
    def __init__(self, app: Any, settings: LikeAws, *, clock: Clock = time.monotonic) -> None:
        self.app: Callable[[dict[str, Any], Any], Iterable[bytes]] = app
        self.settings = settings
        self.behaviours = [kind(settings, clock) for kind in BEHAVIOURS]
        self._chains: dict[tuple[str, str], list[Behaviour]] = {}
        for behaviour in self.behaviours:
            for operation in behaviour.operations:
                self._chains.setdefault(operation, []).append(behaviour)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith("/moto-api/reset"):
            self.reset()
            return self.app(environ, start_response)
        call = identify(environ)
        chain = self._chains.get((call.service, call.operation or "")) if call is not None else None
        if call is None or not chain:
            return self.app(environ, start_response)
        return self._run(call, chain, 0).send(start_response)

    def reset(self) -> None:
        for behaviour in self.behaviours:
            behaviour.reset()

    def _moto(self, environ: dict[str, Any]) -> Answer:
        return capture(self.app, environ)

    def _run(self, call: Call, chain: list[Behaviour], index: int) -> Answer:
        if index == len(chain):
            return self._moto(call.environ)
        answer = chain[index].handle(call, lambda: self._run(call, chain, index + 1), self._moto)
        if not answer.ok and 400 <= answer.status < 500:
            log.debug("%s %s: %d", call.service, call.operation, answer.status)
        return answer
