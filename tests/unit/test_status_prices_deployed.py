"""`awslab status` prices what the last `up` deployed (issue 9): `up` records what the cost
depends on in the lab's state once its apply succeeded, and `status` prices that, without the
spec, its models or its YAML loader. A spec edited since is not what costs money. A state of an
older awslab, which records none, still gets a cost from its spec. On moto's in-process mock,
and a subprocess of its own for what `status` imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from typer.testing import CliRunner, Result

from awslab.cli.main import app
from awslab.pricing import Usage, table
from awslab.resources.sqs import Queue
from awslab.spec import builtin_labs, load_spec

REPO = Path(__file__).resolve().parents[2]
QUEUE_MONTH = 3 * Usage().requests * table()["sqs.requests"].usd / 1e6  # send, receive, delete


@pytest.fixture
def lab(mocked_aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AWSLAB_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("AWSLAB_CACHE_DIR", str(tmp_path / "cache"))
    spec = tmp_path / "q.yaml"
    spec.write_text("name: q\nresources:\n  q: {type: sqs.queue}\n")
    return spec


def _cli(state: Path, *argv: str) -> Result:
    return CliRunner().invoke(app, [*argv, "--target", "aws", "--state", str(state)])


def _cost(state: Path) -> dict[str, Any]:
    result = _cli(state, "status", "--output", "json")
    assert result.exit_code == 0, result.output
    cost: dict[str, Any] = json.loads(result.stdout)["labs"]["q"]["cost"]
    return cost


def _charged(cost: dict[str, Any]) -> list[str]:
    return sorted({line["resource"] for line in cost["lines"]})


def test_status_prices_what_up_deployed_not_the_spec_edited_since(
    lab: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "labs.json"
    assert _cli(state, "up", str(lab), "--yes").exit_code == 0
    # a queue and a table added to the spec, not deployed: the lab costs what it did
    lab.write_text(
        "name: q\nresources:\n  q: {type: sqs.queue}\n  big: {type: sqs.queue}\n"
        "  t: {type: dynamodb.table, key: {id: S}}\n"
    )
    cost = _cost(state)
    assert _charged(cost) == ["q"] and cost["monthly_usd"] == pytest.approx(QUEUE_MONTH, abs=1e-4)
    text = _cli(state, "status").stdout
    assert "Estimated cost: " in text and "$0.01 a month at list price" in text  # a queue's month
    recorded = json.loads(state.read_text())["labs"]["q"]["priced"]
    assert recorded == {"version": 1, "resources": {"q": {"kind": "sqs.queue", "facts": {
        "fifo": False, "dead_letter_of": []}}}}  # fmt: skip

    # an `up` of the edited spec that fails records nothing new: what it left is listed, not priced
    real_create = Queue.create

    def fail_big(self: Queue) -> dict[str, Any]:
        if self.logical == "big":
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "CreateQueue")
        return real_create(self)

    monkeypatch.setattr(Queue, "create", fail_big)
    assert _cli(state, "up", str(lab), "--yes").exit_code == 1
    doc = json.loads(state.read_text())["labs"]["q"]
    assert doc["priced"] == recorded
    cost = _cost(state)
    assert _charged(cost) == ["q"]
    left = sorted(set(doc["resources"]) - {"q"})
    assert left and cost["unpriced"] == [f"{name} ({doc['resources'][name]['kind']}; left by an 'up' that did "
                                         "not finish)" for name in left]  # fmt: skip
    assert "; not priced: " in _cli(state, "status").stdout

    # once it is applied, the lab costs what the spec says
    monkeypatch.setattr(Queue, "create", real_create)
    assert _cli(state, "up", str(lab), "--yes").exit_code == 0
    assert _charged(_cost(state)) == ["big", "q", "t"]


def test_up_reads_what_the_cost_depends_on_only_once_the_user_agrees(
    lab: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It stats every file uploaded and parses each state machine's definition: not for a 'no'."""
    import awslab.pricing

    read: list[str] = []
    real = awslab.pricing.priced_record
    monkeypatch.setattr(awslab.pricing, "priced_record", lambda spec: read.append(spec.name) or real(spec))
    monkeypatch.setattr("awslab.cli.common.can_ask", lambda: True)
    state = tmp_path / "labs.json"
    declined = CliRunner().invoke(
        app, ["up", str(lab), "--target", "aws", "--state", str(state)], input="n\n"
    )
    assert declined.exit_code == 1 and "Apply to" in declined.output and read == []
    assert _cli(state, "up", str(lab), "--yes").exit_code == 0 and read == ["q"]


def test_the_reaper_of_a_ttl_is_not_priced_nor_listed(lab: Path, tmp_path: Path) -> None:
    state = tmp_path / "labs.json"
    assert _cli(state, "up", str(lab), "--yes", "--ttl", "1h").exit_code == 0
    assert "reaper" in json.loads(state.read_text())["labs"]["q"]["resources"]
    cost = _cost(state)
    assert _charged(cost) == ["q"] and cost["unpriced"] == []


def test_a_resource_no_longer_there_is_not_priced(lab: Path, tmp_path: Path) -> None:
    """A teardown cut short leaves part of the lab: only what the state still records costs."""
    lab.write_text("name: q\nresources:\n  q: {type: sqs.queue}\n  r: {type: sqs.queue}\n")
    state = tmp_path / "labs.json"
    assert _cli(state, "up", str(lab), "--yes").exit_code == 0
    doc = json.loads(state.read_text())
    del doc["labs"]["q"]["resources"]["r"]
    state.write_text(json.dumps(doc))
    assert _charged(_cost(state)) == ["q"]


def test_a_state_of_an_older_awslab_is_priced_from_its_spec_or_says_why(lab: Path, tmp_path: Path) -> None:
    state = tmp_path / "labs.json"
    assert _cli(state, "up", str(lab), "--yes").exit_code == 0
    doc = json.loads(state.read_text())
    doc["labs"]["q"].pop("priced", None)  # as an awslab before this one wrote it
    state.write_text(json.dumps(doc))
    older = "the state records no cost of what was deployed (an older awslab's 'up')"
    cost = _cost(state)
    assert _charged(cost) == ["q"] and cost["monthly_usd"] == pytest.approx(QUEUE_MONTH, abs=1e-4)
    assert cost["note"] == f"the spec as it is now: {older}"  # not what was deployed: it says so
    assert f"; the spec as it is now: {older};" in _cli(state, "status").stdout
    lab.unlink()
    assert _cost(state)["error"].startswith(f"{older} and its spec cannot be read: ")

    # a record of a newer awslab's version this one does not read: not called an older one's
    lab.write_text("name: q\nresources:\n  q: {type: sqs.queue}\n")
    doc["labs"]["q"]["priced"] = {"version": 2, "resources": {"q": {"charges": []}}}
    state.write_text(json.dumps(doc))
    newer = "the state records what was deployed in a form this awslab does not read (a newer awslab's 'up'"
    cost = _cost(state)
    assert _charged(cost) == ["q"] and cost["note"].startswith(f"the spec as it is now: {newer}")
    lab.unlink()
    cost = _cost(state)
    assert "monthly_usd" not in cost and cost["error"].startswith(newer)


# Runs `status` on moto's mock in this fresh interpreter, then reports what it printed and imported.
_PROBE = """
import json, sys
from moto import mock_aws
from awslab.cli.main import app
with mock_aws():
    try:
        app(sys.argv[1:], prog_name="awslab")
    except SystemExit:
        pass
with open(sys.argv[0] + ".json", "w") as f:
    json.dump(sorted(sys.modules), f)
"""


def test_status_prices_without_the_spec_its_models_or_its_yaml_loader(lab: Path, tmp_path: Path) -> None:
    state = tmp_path / "labs.json"
    assert _cli(state, "up", str(lab), "--yes").exit_code == 0
    script = tmp_path / "probe.py"
    script.write_text(_PROBE)
    env = {**os.environ, "PYTHONPATH": str(REPO), "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip
    argv = ["status", "--output", "json", "--target", "aws", "--state", str(state)]
    proc = subprocess.run([sys.executable, str(script), *argv], env=env, capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    cost = json.loads(proc.stdout)["labs"]["q"]["cost"]  # its queue is missing from this fresh mock
    assert cost["monthly_usd"] == pytest.approx(QUEUE_MONTH, abs=1e-4)
    modules = json.loads(Path(str(script) + ".json").read_text())
    # (pydantic is there for the state's records, yaml for moto's mock)
    assert "awslab.spec" not in modules and "awslab.yamlmap" not in modules


@pytest.mark.parametrize("name", sorted(builtin_labs()))
def test_what_up_records_prices_every_built_in_lab_as_its_spec_does(name: str) -> None:
    """Through the state's JSON and back: each charge, quantity and note, without the spec."""
    from awslab.pricing import estimate, estimate_priced, priced_from_record, priced_record

    spec = load_spec(builtin_labs()[name])
    recorded = priced_from_record(json.loads(json.dumps(priced_record(spec))))
    assert recorded is not None
    assert estimate_priced(spec.name, recorded).to_dict() == estimate(spec).to_dict()


def test_a_fact_may_have_any_name_even_kind() -> None:
    from awslab.pricing import Priced

    resource = Priced("r", "sqs.queue", {"kind": "fifo", "fifo": True})
    assert Priced.from_dict("r", json.loads(json.dumps(resource.to_dict()))) == resource
