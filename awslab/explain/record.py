"""Record the calls `awslab up LAB` makes, without any cloud: the lab is built on moto's
in-process mock as for a real account, one resource at a time, with the recording hook on every
client; each call is labelled with the resource it was made for."""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from awslab.explain.hook import Call, Recorder
from awslab.spec import LabSpec

READS_FIRST = ""  # the label of the calls made before any resource (the values a spec reads)
# what could send the mock's requests elsewhere, or pick credentials that are not the mock's
_OUTSIDE = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


@dataclass
class Recorded:
    resource: str  # "kind 'logical'", or READS_FIRST
    call: Call


@dataclass
class Recording:
    spec: LabSpec
    stack_id: str
    region: str
    calls: list[Recorded]


def record_up(spec: LabSpec, *, region: str = "us-east-1") -> Recording:
    """Build the lab on moto's mock as `up` would on a real account and return its calls."""
    from moto import mock_aws

    from awslab.engine.execute import apply_plan
    from awslab.engine.plan import plan_changes
    from awslab.engine.progress import Progress
    from awslab.local import moto_fidelity
    from awslab.state import StateStore
    from awslab.target import Target

    calls: list[Recorded] = []
    lock = threading.Lock()
    current = [READS_FIRST]

    def on_call(call: Call) -> None:
        with lock:
            calls.append(Recorded(current[0], call))

    def on_progress(p: Progress) -> None:
        if p.phase == "start":  # one worker: every call until the next start is this resource's
            current[0] = f"{p.kind} '{p.logical}'"

    moto_fidelity.install()
    with _isolated(), mock_aws(), tempfile.TemporaryDirectory(prefix="awslab-explain-") as tmp:
        target = Target(kind="aws", region=region)
        _seed_externals(spec, target)
        target.on_client = Recorder(on_call).install
        store = StateStore(Path(tmp) / "state.json", {"kind": "aws", "region": region})
        plan = plan_changes(spec, store, target, check_live=False)
        apply_plan(plan, store, target, on_progress=on_progress, workers=1)
    calls.sort(key=lambda r: r.call.seq)
    return Recording(spec, plan.stack_id, region, calls)


@contextmanager
def _isolated() -> Iterator[None]:
    """Nothing of the user's AWS setup applies while the mock runs: no endpoint (the mock only
    answers AWS's own hosts), no profile."""
    saved = {k: v for k, v in os.environ.items() if k in _OUTSIDE or k.startswith("AWS_ENDPOINT_URL")}
    for k in saved:
        del os.environ[k]
    try:
        yield
    finally:
        os.environ.update(saved)


def _seed_externals(spec: LabSpec, target: object) -> None:
    """`${ssm:...}` and `${secretsmanager:...}` values the spec reads exist in the mock (with a
    stand-in value), so that the script shows how to read them."""
    import boto3

    region = getattr(target, "region", "us-east-1")
    secrets: dict[str, dict[str, str]] = {}  # name -> its JSON keys ({} when used whole)
    for ref in spec.externals:
        service, _, rest = ref[2:-1].partition(":")
        if service == "ssm":
            boto3.client("ssm", region_name=region).put_parameter(
                Name=rest, Value=f"value-of-{rest.strip('/')}", Type="SecureString", Overwrite=True
            )
        else:
            name, _, key = rest.partition(":")
            keys = secrets.setdefault(name, {})
            if key:
                keys[key] = f"value-of-{name}-{key}"
    for name, keys in secrets.items():
        boto3.client("secretsmanager", region_name=region).create_secret(
            Name=name, SecretString=json.dumps(keys) if keys else f"value-of-{name}"
        )
