"""Lambda workers forked from a template process that has imported the runtime's boto3 (issue 9:
ten warm workers each importing boto3 cost 45 MB apiece; forked, they share those pages). A forked
worker keeps a spawned one's isolation: its own process, session, environment and directory, the
handler imported afresh, a function's own boto3 over the preloaded one."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from awslab.local.executor import LambdaExecutor
from awslab.local.worker_template import can_fork
from tests.local.lambda_helpers import invoke, process_gone, wait_for

pytest_plugins = ["tests.local.lambda_fixtures"]

WHO = """
import os, sys
loaded = 0
loaded += 1
def handler(event, context):
    import boto3
    return {"pid": os.getpid(), "ppid": os.getppid(), "sid": os.getsid(0), "cwd": os.getcwd(),
            "marker": os.environ.get("MARKER"), "loaded": loaded, "boto3": getattr(boto3, "MINE", "runtime"),
            "boto3_file": boto3.__file__}
"""


def _parent(pid: int) -> int:
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[1])


def test_workers_are_forked_from_one_template_and_stay_isolated(
    lambda_executor: LambdaExecutor, lambda_client: Any, make_lambda: Callable[..., str]
) -> None:
    make_lambda("one", WHO, Environment={"Variables": {"MARKER": "one"}})
    make_lambda("two", WHO, Environment={"Variables": {"MARKER": "two"}})
    make_lambda("own", {"app.py": WHO, "boto3/__init__.py": "MINE = 'bundled'\n"})
    one, two, own = (invoke(lambda_client, name)[0] for name in ("one", "two", "own"))
    templates = list(lambda_executor._templates.values())
    assert len(templates) == 1
    template = templates[0].proc.pid
    assert one["ppid"] == two["ppid"] == own["ppid"] == template != os.getpid()
    assert one["pid"] != two["pid"] and one["sid"] == one["pid"] and two["sid"] == two["pid"]
    assert (one["marker"], two["marker"], own["marker"]) == ("one", "two", None)
    assert one["cwd"] == two["cwd"] != own["cwd"] and Path(one["cwd"]).is_dir()  # by code hash
    assert one["loaded"] == two["loaded"] == 1  # each imported its handler itself
    assert (one["boto3"], own["boto3"]) == ("runtime", "bundled")  # the bundled copy wins, as on AWS
    assert own["boto3_file"].startswith(own["cwd"])
    lambda_executor.shutdown()
    assert wait_for(lambda: process_gone(template))
    assert all(process_gone(w["pid"]) for w in (one, two, own))


def test_a_worker_killed_is_seen_to_exit(
    lambda_executor: LambdaExecutor, lambda_client: Any, make_lambda: Callable[..., str]
) -> None:
    """The template reaps its workers and says how each ended: the executor sees the signal."""
    make_lambda("dies", "import os, signal\ndef handler(e, c):\n    os.kill(os.getpid(), signal.SIGSEGV)\n")
    out, resp = invoke(lambda_client, "dies")
    assert resp["FunctionError"] == "Unhandled"
    assert out["errorType"] == "Runtime.ExitError" and "signal: segmentation fault" in out["errorMessage"]


def test_what_a_process_reads_at_its_start_gets_a_process_of_its_own(tmp_path: Path) -> None:
    assert can_fork({"MARKER": "x", "PYTHONPATH": "lib"}, tmp_path)
    for variable in ("PYTHONHASHSEED", "LD_PRELOAD", "LC_ALL", "LANG", "MALLOC_ARENA_MAX"):
        assert not can_fork({variable: "1"}, tmp_path), variable
    (tmp_path / "native.so").write_bytes(b"")
    assert not can_fork({}, tmp_path)
    (tmp_path / "native.so").unlink()
    (tmp_path / "lib").mkdir()
    assert not can_fork({}, tmp_path)


def test_a_function_with_native_libraries_is_spawned(
    lambda_executor: LambdaExecutor, lambda_client: Any, make_lambda: Callable[..., str]
) -> None:
    make_lambda("native", {"app.py": WHO, "lib/libthing.so.1": b""})
    out, _ = invoke(lambda_client, "native")
    assert out["ppid"] == os.getpid() and _parent(out["pid"]) == os.getpid()
    assert not lambda_executor._templates


READS = """
import sys
opened = []
sys.addaudithook(lambda event, args: opened.append(str(args[0]))
                 if event == "open" and "botocore" in str(args[0]) and "/data/" in str(args[0]) else None)
def handler(event, context):
    import boto3
    client = boto3.client("sqs")
    first = [p.rsplit("/data/", 1)[1] for p in opened]
    boto3.session.Session().client("sqs")  # another session: its own parse, as on AWS
    return {"opened": first, "then": [p.rsplit("/data/", 1)[1] for p in opened[len(first):]],
            "region": client.meta.region_name}
"""


def test_a_forked_worker_takes_the_templates_parse_of_botocore_s_shared_tables(
    lambda_executor: LambdaExecutor, lambda_client: Any, make_lambda: Callable[..., str]
) -> None:
    """The endpoint table and the other files every first client reads are parsed once, in the
    template (awslab.local.worker.share_botocore_data): a worker's client reads only its service's
    own files, and works; a second session in the worker parses its own copy."""
    make_lambda("reads", READS)
    result = invoke(lambda_client, "reads")[0]
    assert result["region"] == "us-east-1"
    assert any(p.startswith("sqs/") for p in result["opened"])  # its own service model, read here
    shared = ("endpoints.json", "partitions.json", "sdk-default-configuration.json")
    assert not [p for p in result["opened"] if p.split(".gz")[0] in shared], result["opened"]
    # each parse goes to one session: botocore writes into the endpoint table as it resolves
    assert "endpoints.json" in [p.split(".gz")[0] for p in result["then"]], result["then"]
