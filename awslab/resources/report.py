"""How a resource's calls tell whoever runs them that they wait for AWS or retry, and why.

The engine sets a reporter for the step it runs (`reporting_to`); retry.py reports through it
while it waits ("function awslab-crud-fn-1a2b: Pending") or retries a propagation error ("role
propagating, retry 3 in 0.5 s: InvalidParameterValueException"). A context variable, not a
global: steps run in parallel threads, each reports to its own. Nothing is printed here; with no
reporter set (a test, sweep) a report goes nowhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Literal

Phase = Literal["waiting", "retrying"]
Reporter = Callable[[Phase, str], None]

_reporter: ContextVar[Reporter | None] = ContextVar("awslab_reporter", default=None)
# what AWS last said about a resource being polled ("Pending"), for the next "waiting" report
_observed: ContextVar[str] = ContextVar("awslab_observed", default="")


@contextmanager
def reporting_to(reporter: Reporter) -> Iterator[None]:
    """Reports made in this context (and in threads started with a copy of it) go to `reporter`."""
    token = _reporter.set(reporter)
    try:
        yield
    finally:
        _reporter.reset(token)


def report(phase: Phase, detail: str) -> None:
    reporter = _reporter.get()
    if reporter is not None:
        reporter(phase, detail)


def observe(state: str) -> None:
    """What a poll saw (a function's "Pending"): the wait's next report says it."""
    _observed.set(state)


def take_observed() -> str:
    state = _observed.get()
    _observed.set("")
    return state
