"""Keyed propagation retries (retry_propagation with a key): the callers waiting for one role take
turns, one probe at a time instead of one request each; a probe that succeeds wakes the other
probes of its API at once. Grouped polls (poll_until with a group) share one pace, and one that
sees its resource ready wakes the others. No real waits: pauses are the test's, or are woken."""

from __future__ import annotations

import threading

import pytest
from botocore.exceptions import ClientError

from awslab.resources import retry
from awslab.resources.report import reporting_to
from awslab.resources.retry import (
    FIRST_DELAY,
    MAX_DELAY,
    POLL_MAX_DELAY,
    POLL_SPACING,
    PROBE_FAST_SECONDS,
    Probes,
    poll_until,
    retry_propagation,
)

ROLE = "arn:aws:iam::123456789012:role/awslab-lab-role"
NOT_YET = ClientError(
    {"Error": {"Code": "InvalidParameterValueException",
               "Message": "The role defined for the function cannot be assumed by Lambda."}},
    "CreateFunction",
)  # fmt: skip
CALLERS = 5


class CountingProbes(Probes):
    """Pauses return at once; the role propagates during the third pause, once every caller has
    failed and either probes or waits for the probe."""

    def __init__(self) -> None:
        super().__init__()
        self.claims = 0
        self.pauses: list[float] = []
        self.everyone_claimed = threading.Event()
        self.propagated = threading.Event()

    def claim(self, key: str, group: str) -> bool:
        with self._cond:
            self.claims += 1
            if self.claims >= CALLERS:
                self.everyone_claimed.set()
        return super().claim(key, group)

    def pause(self, group: str, seconds: float) -> None:
        assert self.everyone_claimed.wait(10)
        self.pauses.append(seconds)
        if len(self.pauses) == 3:
            self.propagated.set()


def test_the_functions_of_one_role_send_one_probe_at_a_time() -> None:
    probes = CountingProbes()
    first = threading.Barrier(CALLERS)
    calls: list[bool] = []
    lock = threading.Lock()
    done: list[str] = []

    def create(n: int) -> str:
        seen = threading.local()

        def call() -> str:
            with lock:
                calls.append(probes.propagated.is_set())
            if not getattr(seen, "once", False):
                seen.once = True
                first.wait(10)  # every caller fails once while the role is new
                raise NOT_YET
            if not probes.propagated.is_set():
                raise NOT_YET
            return f"function-{n}"

        return retry_propagation(call, role_arn=ROLE, group="lambda", probes=probes, deadline=30)

    threads = [threading.Thread(target=lambda n=n: done.append(create(n))) for n in range(CALLERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
        assert not t.is_alive()
    assert sorted(done) == [f"function-{n}" for n in range(CALLERS)]
    # one caller probed (three pauses, two more failures); the others waited for it, then made it
    assert len(probes.pauses) == 3
    assert len(calls) == CALLERS + 3 + (CALLERS - 1)
    assert all(FIRST_DELAY / 2 <= s <= FIRST_DELAY for s in probes.pauses)  # one role probing: its pace


class WatchedProbes(Probes):
    def __init__(self) -> None:
        super().__init__()
        self.pausing = threading.Event()

    def pause(self, group: str, seconds: float) -> None:
        with self._cond:  # reentrant: nothing is released before the pause waits
            self.pausing.set()
            super().pause(group, seconds)


def test_a_role_that_propagated_wakes_the_probes_of_the_other_roles() -> None:
    probes = WatchedProbes()
    first_done = threading.Event()
    results: list[str] = []

    def older_role() -> str:  # its probe pauses 60 s or more, unless woken
        if not first_done.is_set():
            raise NOT_YET
        return "older"

    tries = iter([True, False])

    def newer_role() -> str:
        if next(tries):
            raise NOT_YET
        first_done.set()
        return "newer"

    older = threading.Thread(target=lambda: results.append(retry_propagation(
        older_role, role_arn="role-a", group="lambda", probes=probes, first_delay=60, deadline=300)), daemon=True)  # fmt: skip
    older.start()
    assert probes.pausing.wait(10)  # role-a's probe pauses
    newer = threading.Thread(target=lambda: results.append(retry_propagation(
        newer_role, role_arn="role-b", group="lambda", probes=probes, first_delay=0)), daemon=True)  # fmt: skip
    newer.start()
    newer.join(10)
    older.join(10)  # far less than its pause: woken by role-b's success
    assert not older.is_alive()
    assert results == ["newer", "older"]


def test_the_polls_of_one_group_share_one_pace() -> None:
    """Three functions Pending at once: each polls a third as often as one alone would."""
    probes = Probes()
    polls = 3
    counted, paused = threading.Barrier(polls), threading.Barrier(polls)
    pauses: list[float] = []

    def poll() -> None:
        first = iter([True, False])

        def ready() -> bool:
            if next(first):
                counted.wait(10)  # every poll is waiting before any pauses
                return False
            return True

        def sleep(seconds: float) -> None:
            pauses.append(seconds)
            paused.wait(10)

        poll_until(
            ready,
            "function",
            group="lambda:GetFunction",
            probes=probes,
            first_delay=POLL_SPACING,
            sleep=sleep,
        )

    threads = [threading.Thread(target=poll) for _ in range(polls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
        assert not t.is_alive()
    assert len(pauses) == polls
    assert all(polls * POLL_SPACING / 2 <= s <= polls * POLL_SPACING for s in pauses)


def test_a_function_seen_ready_wakes_the_polls_of_the_others() -> None:
    probes = WatchedProbes()
    seen_ready = threading.Event()
    order: list[str] = []

    def older() -> bool:
        return seen_ready.is_set()

    def newer() -> bool:
        assert probes.pausing.wait(10)  # the other poll pauses
        seen_ready.set()
        return True

    def wait_older() -> None:
        poll_until(older, "older", group="g", probes=probes, first_delay=60)  # a minute or more, unless woken
        order.append("older")

    waiting = threading.Thread(target=wait_older, daemon=True)
    waiting.start()
    assert probes.pausing.wait(10)
    poll_until(newer, "newer", group="g", probes=probes)
    order.append("newer")
    waiting.join(10)  # far less than its pause: woken
    assert not waiting.is_alive()
    assert order == ["newer", "older"]


THROTTLED = ClientError(
    {"Error": {"Code": "TooManyRequestsException", "Message": "Rate exceeded"}}, "CreateFunction"
)


@pytest.mark.parametrize("role_arn", [ROLE, None], ids=["probe", "alone"])
def test_a_throttled_call_backs_off_instead_of_probing_at_the_propagation_pace(role_arn: str | None) -> None:
    """Throttled four times: each pause at least MAX_DELAY and doubling, not 4-8 requests a second."""
    answers = iter([THROTTLED] * 4 + [None])
    pauses: list[float] = []

    def create() -> str:
        answer = next(answers)
        if answer is not None:
            raise answer
        return "made"

    turns = {"role_arn": role_arn, "group": "lambda", "probes": Probes()} if role_arn else {}
    assert retry_propagation(create, sleep=pauses.append, **turns) == "made"  # type: ignore[arg-type]
    assert len(pauses) == 4
    assert all(pause >= MAX_DELAY * 2**n for n, pause in enumerate(pauses))


def test_a_probe_keeps_to_the_pace_it_is_given() -> None:
    pauses: list[float] = []
    answers = iter([NOT_YET, NOT_YET, None])

    def create() -> str:
        answer = next(answers)
        if answer is not None:
            raise answer
        return "made"

    retry_propagation(
        create, role_arn=ROLE, group="lambda", probes=Probes(), first_delay=2.0, sleep=pauses.append
    )
    assert len(pauses) == 2 and all(1.0 <= p <= 2.0 for p in pauses)


def test_a_group_without_a_role_to_take_turns_by_is_refused() -> None:
    with pytest.raises(ValueError, match="role_arn"):
        retry_propagation(lambda: "made", group="lambda")


def test_grouped_polls_slow_down_past_the_usual_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """A function Pending for 30 s: past PROBE_FAST_SECONDS its polls come at most every
    POLL_MAX_DELAY (jittered down to half), not ~13 a second however long it takes."""
    clock = [0.0]
    monkeypatch.setattr(retry, "time", type("Clock", (), {"monotonic": staticmethod(lambda: clock[0])}))
    late: list[float] = []

    def sleep(seconds: float) -> None:
        if clock[0] > PROBE_FAST_SECONDS:
            late.append(seconds)
        clock[0] += seconds

    poll_until(
        lambda: clock[0] >= 30.0,
        "function",
        group="g",
        probes=Probes(),
        first_delay=POLL_SPACING,
        sleep=sleep,
    )
    assert late and all(pause >= POLL_MAX_DELAY / 2 for pause in late)
    assert len(late) <= (30.0 - PROBE_FAST_SECONDS) / (POLL_MAX_DELAY / 2) + 1


def test_a_caller_waiting_for_the_probe_of_its_role_is_told_so_plainly() -> None:
    probes = Probes()
    claimed, release = threading.Event(), threading.Event()

    def other_function() -> None:  # probes the role, until the waiting caller has reported
        probes.claim(ROLE, "lambda")
        claimed.set()
        release.wait(10)
        probes.release(ROLE, succeeded=True)

    holder = threading.Thread(target=other_function)
    holder.start()
    assert claimed.wait(10)
    answers = iter([NOT_YET, None])

    def create() -> str:
        answer = next(answers)
        if answer is not None:
            raise answer
        return "made"

    reports: list[str] = []

    def told(_phase: str, detail: str) -> None:
        reports.append(detail)
        release.set()

    with reporting_to(told):
        assert retry_propagation(create, role_arn=ROLE, group="lambda", probes=probes, deadline=30) == "made"
    holder.join(10)
    assert not holder.is_alive()
    assert reports == [
        "role propagating: another resource using this role is retrying; going as soon as it succeeds"
    ]
