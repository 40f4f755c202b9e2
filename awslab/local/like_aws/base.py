"""What every AWS-like behaviour is: the calls it takes part in, and how it answers them."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

from awslab.local.like_aws.answers import Answer, Forward
from awslab.local.like_aws.calls import Call
from awslab.local.like_aws.clock import Clock
from awslab.local.like_aws.settings import LikeAws

Proceed = Callable[[], Answer]  # the rest of the chain (in the end moto) for this call


class Behaviour(ABC):
    """One way AWS behaves between calls. `operations` are (signing name, operation) pairs; for
    each, `handle` either answers itself (AWS's error) or calls `proceed` and may rewrite moto's
    answer. `moto` runs another request straight through moto (a lookup)."""

    operations: frozenset[tuple[str, str]] = frozenset()

    def __init__(self, settings: LikeAws, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock

    @abstractmethod
    def handle(self, call: Call, proceed: Proceed, moto: Forward) -> Answer: ...

    def reset(self) -> None:  # noqa: B027 (most behaviours keep nothing to forget)
        """Forget everything (the local cloud was reset)."""


def name_from_arn(text: str, kind: str) -> str:
    """The name in an ARN or partial ARN of `kind` ("function", "role", "table"...), or `text`
    itself when it is a plain name: arn:aws:iam::1:role/path/r -> r, 1:function:f:3 -> f."""
    if "/" in text and f":{kind}/" in text:
        return text.rsplit("/", 1)[-1]
    parts = text.split(":")
    if kind in parts and parts.index(kind) + 1 < len(parts):
        return parts[parts.index(kind) + 1]
    return parts[0]
