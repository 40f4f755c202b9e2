"""The functions of one new role take turns while it propagates: one CreateFunction probes, the
others wait for it (one zip upload at a time instead of one per function), then go at once."""

from __future__ import annotations

import functools
import threading
from pathlib import Path
from typing import Any

import pytest

from awslab.resources import awslambda
from awslab.resources.awslambda import Function, FunctionProps
from awslab.resources.base import Context
from awslab.resources.iam import Role, RoleProps
from awslab.resources.retry import Probes, retry_propagation

FUNCTIONS = 3


class GatedProbes(Probes):
    """Counts the claims: the probe's pause waits until every function has failed and either
    probes or waits for the probe, so that none comes late and probes on its own."""

    def __init__(self) -> None:
        super().__init__()
        self.claims = 0
        self.everyone_claimed = threading.Event()

    def claim(self, key: str, group: str) -> bool:
        with self._cond:
            self.claims += 1
            if self.claims >= FUNCTIONS:
                self.everyone_claimed.set()
        return super().claim(key, group)


@pytest.fixture(autouse=True)
def _cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWSLAB_CACHE_DIR", str(tmp_path / "cache"))


def test_the_functions_of_a_new_role_send_one_probe(
    ctx: Context, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = tmp_path / "handler"
    code.mkdir()
    (code / "app.py").write_text("def handler(event, context):\n    return 1\n")
    # moto refuses a role that does not exist the way AWS refuses a new one
    role = Role(ctx, "late-role", RoleProps(service="lambda"))
    arn = f"arn:aws:iam::123456789012:role/{role.physical}"
    lock = threading.Lock()
    creates: list[str] = []
    pauses: list[float] = []
    all_failed_once = threading.Barrier(FUNCTIONS)

    def counted(params: dict[str, Any], **_: Any) -> None:
        with lock:
            creates.append(params["FunctionName"])
            first_round = len(creates) <= FUNCTIONS
        if first_round:  # every function tries once before the role exists
            all_failed_once.wait(10)

    probes = GatedProbes()

    def pause(seconds: float) -> None:  # the role propagates during the first pause
        assert probes.everyone_claimed.wait(10)
        with lock:
            pauses.append(seconds)
            first = len(pauses) == 1
        if first:
            role.create()

    ctx.client("lambda").meta.events.register("provide-client-params.lambda.CreateFunction", counted)
    monkeypatch.setattr(
        awslambda, "retry_propagation", functools.partial(retry_propagation, sleep=pause, probes=probes)
    )
    made: list[str] = []
    functions = [Function(ctx, f"fn{n}", FunctionProps(code=str(code), role=arn)) for n in range(FUNCTIONS)]
    threads = [threading.Thread(target=lambda f=f: made.append(f.create()["name"])) for f in functions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
        assert not t.is_alive()
    assert sorted(made) == sorted(f.physical for f in functions)
    assert len(pauses) == 1  # one function probed; the others waited for its outcome
    assert len(creates) == FUNCTIONS + 1 + (FUNCTIONS - 1)
