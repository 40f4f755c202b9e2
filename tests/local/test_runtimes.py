"""Honest runtimes: a function runs on the Python its runtime declares (or says, in its logs and in
`awslab up`, that it does not), sees AWS's reserved variables, and meets Lambda's payload, timeout
and memory limits as AWS's answers. Each test makes the interpreters it needs findable (a PATH of
its own with a link named python3.X), rather than relying on where this machine keeps them."""

from __future__ import annotations

import base64
import json
import os
import platform
import re
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from awslab.local import deps, runtimes
from awslab.local.executor import LambdaExecutor
from awslab.local.moto_patches import install, uninstall
from awslab.local.worker_process import WorkerProcess
from tests.e2e.conftest import Cli, clean_env, free_port, stop_local_cloud
from tests.local.conftest import RunningCloud
from tests.local.lambda_helpers import ENDPOINT, invoke, process_gone, zip_of
from tests.local.test_deps import WHEEL, tiny_wheel

# Fixtures: lambda_client, lambda_role (the executor is installed here, with a finder of each test's).
pytest_plugins = ["tests.local.lambda_fixtures"]

OWN_MINOR = f"{sys.version_info[0]}.{sys.version_info[1]}"
OWN_RUNTIME = f"python{OWN_MINOR}"
# Runtimes the local cloud's own boto3 supports first: those need no pip install to run.
PREFERRED = sorted(
    (r for r in runtimes.SUPPORTED if r != OWN_RUNTIME), key=lambda r: (r == "python3.9", r), reverse=False
)
VERSION_OF = "import sys\ndef handler(event, context):\n    return '%d.%d' % sys.version_info[:2]\n"


def real_python(runtime: str) -> str | None:
    """A Python of `runtime` on this machine (looked up where a user's would be), else None."""
    found = runtimes.RuntimeFinder().resolve(runtime)
    return os.path.realpath(found.executable) if found.native and not found.own else None


def other_runtime() -> tuple[str, str]:
    """A runtime other than the local cloud's own Python's that is installed here, and its Python."""
    for runtime in PREFERRED:
        python = real_python(runtime)
        if python:
            return runtime, python
    pytest.skip(f"no Python but {OWN_MINOR} is installed here")


def path_with(tmp_path: Path, runtime: str, python: str) -> str:
    """A PATH holding only a link named after `runtime` (python3.X) to `python`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / runtime).symlink_to(python)
    return str(bin_dir)


@pytest.fixture
def executor_for(
    mocked_aws: None, tmp_path: Path
) -> Iterator[Callable[[runtimes.RuntimeFinder], LambdaExecutor]]:
    """Installs the executor into moto's in-process mock with a given runtime finder."""
    made: list[LambdaExecutor] = []

    def make(finder: runtimes.RuntimeFinder) -> LambdaExecutor:
        made.append(install(tmp_path / "work", ENDPOINT, deps_cache=tmp_path / "deps", runtime_finder=finder))
        return made[-1]

    try:
        yield make
    finally:
        pids = [w.pid for ex in made for w in ex.workers()]
        uninstall()
    assert all(process_gone(pid) for pid in pids), "a worker outlived the test"


def create(
    lam: Any, role: str, name: str, files: dict[str, str | bytes], runtime: str, **options: Any
) -> None:
    lam.create_function(FunctionName=name, Runtime=runtime, Role=role, Handler="app.handler",
                        Code={"ZipFile": zip_of(files)}, **options)  # fmt: skip


def log_streams(name: str) -> list[list[str]]:
    """Each log stream's messages (one stream per execution environment), oldest stream first."""
    logs = boto3.client("logs", region_name="us-east-1")
    group = f"/aws/lambda/{name}"
    streams = logs.describe_log_streams(logGroupName=group, orderBy="LastEventTime")["logStreams"]
    return [
        [
            e["message"]
            for e in logs.get_log_events(logGroupName=group, logStreamName=s["logStreamName"])["events"]
        ]
        for s in streams
    ]


# ---- the declared Python --------------------------------------------------------------------------
def test_a_function_runs_on_the_python_its_runtime_declares(
    executor_for: Callable[[runtimes.RuntimeFinder], LambdaExecutor], lambda_client: Any, lambda_role: str,
    tmp_path: Path,
) -> None:  # fmt: skip
    runtime, python = other_runtime()
    search = path_with(tmp_path, runtime, python)
    executor_for(runtimes.RuntimeFinder(search_path=search, places=[]))
    code = "import sys, boto3\ndef handler(e, c):\n    return [list(sys.version_info[:2]), sys.executable]\n"
    create(lambda_client, lambda_role, "declared", {"app.py": code}, runtime)
    (version, executable), resp = invoke(lambda_client, "declared", LogType="Tail")
    assert "FunctionError" not in resp
    assert f"python{version[0]}.{version[1]}" == runtime
    assert executable == str(Path(search) / runtime)  # found on the PATH it was given
    assert "awslab:" not in base64.b64decode(resp["LogResult"]).decode()  # nothing to say


def test_requirements_are_installed_for_the_functions_python(
    executor_for: Callable[[runtimes.RuntimeFinder], LambdaExecutor], lambda_client: Any, lambda_role: str,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # the wheel is in the bundle: no index needed
    runtime, python = other_runtime()
    finder = runtimes.RuntimeFinder(search_path=path_with(tmp_path, runtime, python), places=[])
    executor_for(finder)
    pythons: list[str] = []
    real_run_pip = deps._run_pip
    monkeypatch.setattr(deps, "_run_pip", lambda *a: (pythons.append(a[3].version), real_run_pip(*a)))
    code = (
        "import sys, tinypkg\n"
        "def handler(e, c):\n    return [tinypkg.VALUE, '%d.%d' % sys.version_info[:2]]\n"
    )
    bundle = {"app.py": code, "requirements.txt": f"./vendor/{WHEEL}\n", f"vendor/{WHEEL}": tiny_wheel()}
    create(lambda_client, lambda_role, "withdeps", bundle, runtime)
    assert invoke(lambda_client, "withdeps")[0] == ["tiny", runtime.removeprefix("python")]
    assert [".".join(v.split(".")[:2]) for v in pythons] == [runtime.removeprefix("python")]
    # The same requirements on the local cloud's own Python are another install.
    root = tmp_path / "work" / "code"
    (code_dir,) = [p for p in root.iterdir() if (p / "requirements.txt").is_file()]
    text = (code_dir / "requirements.txt").read_text()
    own = runtimes.own_interpreter(OWN_RUNTIME)
    assert deps.install(text, code_dir, tmp_path / "deps", own) != deps.install(
        text, code_dir, tmp_path / "deps", finder.resolve(runtime)
    )


@pytest.mark.parametrize("runtime", runtimes.SUPPORTED)
def test_the_worker_runs_on_each_supported_python(runtime: str, tmp_path: Path) -> None:
    """worker.py's own code (the child's part) on every Python the local cloud may start it on."""
    python = sys.executable if runtime == OWN_RUNTIME else real_python(runtime)
    if python is None:
        pytest.skip(f"{runtime} is not installed here")
    (tmp_path / "app.py").write_text(VERSION_OF)
    env = {"PATH": os.environ.get("PATH", ""), "LAMBDA_TASK_ROOT": str(tmp_path), "_HANDLER": "app.handler"}
    config = {"paths": [], "allowed": [], "isolate": True, "runtime_paths": []}
    minor = int(runtime.rsplit(".", 1)[1])
    worker = WorkerProcess.spawn(config, tmp_path, env, "stream", python=python, safe_path=minor >= 11)
    try:
        ready = worker.reply(30)
        assert isinstance(ready, dict) and ready["type"] == "ready", ready
        worker.send({"id": "r1", "event": {}, "deadline_ms": int(time.time() * 1000) + 30000, "arn": "arn",
                     "trace_id": "Root=1-00000000-000000000000000000000000"})  # fmt: skip
        reply = worker.reply(30)
        assert isinstance(reply, dict) and reply["ok"], reply
        assert json.loads(reply["payload"]) == runtime.removeprefix("python")
    finally:
        worker.kill()


def test_a_missing_runtime_runs_on_the_local_clouds_python_and_says_so_in_its_logs(
    executor_for: Callable[[runtimes.RuntimeFinder], LambdaExecutor], lambda_client: Any, lambda_role: str,
) -> None:  # fmt: skip
    executor = executor_for(runtimes.RuntimeFinder(search_path="", places=[]))  # no Python to find
    runtime = PREFERRED[0]
    create(lambda_client, lambda_role, "standin", {"app.py": VERSION_OF}, runtime)
    note = f"awslab: runtime {runtime} is not installed here; running on Python {platform.python_version()}"

    assert invoke(lambda_client, "standin")[0] == OWN_MINOR  # the lab still works
    warm, resp = invoke(lambda_client, "standin", LogType="Tail")
    assert warm == OWN_MINOR and note not in base64.b64decode(resp["LogResult"]).decode()
    executor.reap_idle(max_idle_s=0)
    invoke(lambda_client, "standin")
    first, second = log_streams("standin")
    assert first[0] == note and second[0] == note  # the first line of each cold start
    assert first.count(note) == 1


# ---- awslab up -------------------------------------------------------------------------------------
@pytest.fixture
def cli_without(tmp_path: Path) -> Iterator[tuple[Cli, str]]:
    """The CLI on a local cloud of its own whose PATH has no Python of some supported runtime (the
    one returned, searched as the local cloud will); stopped afterwards, nothing left running."""
    home = tmp_path / "home"
    home.mkdir()
    env = clean_env(home)
    env.update(
        AWSLAB_LOCAL_PORT=str(free_port()), PATH=os.pathsep.join([str(Path(sys.executable).parent), "/bin"])
    )
    finders = {r: runtimes.RuntimeFinder(env["PATH"], runtimes.common_places(r.removeprefix("python"), env))
               for r in PREFERRED}  # fmt: skip
    missing = [r for r, finder in finders.items() if not finder.resolve(r).native]
    if not missing:
        pytest.skip("every supported runtime is installed in this machine's common places")
    cli = Cli(env, home)
    try:
        yield cli, missing[0]
    finally:
        stop_local_cloud(cli, home)


def test_up_names_each_function_that_runs_on_another_python(
    cli_without: tuple[Cli, str], tmp_path: Path
) -> None:
    cli, missing = cli_without
    code = tmp_path / "code"
    code.mkdir()
    (code / "app.py").write_text(VERSION_OF)
    spec = tmp_path / "runtimes.yaml"
    spec.write_text(
        textwrap.dedent(f"""\
        name: runtimes
        description: one function on a runtime installed here, one on a missing one
        resources:
          role:
            type: iam.role
            service: lambda
          native:
            type: lambda.function
            code: ./code
            role: "${{role.arn}}"
            runtime: {OWN_RUNTIME}
          stand-in:
            type: lambda.function
            code: ./code
            role: "${{role.arn}}"
            runtime: {missing}
        """)
    )
    up = cli("up", str(spec), "--yes")
    warnings = [line for line in up.stderr.splitlines() if "not installed here" in line]
    assert warnings == [
        f"warning: function 'stand-in' declares {missing}, which is not installed here: it runs on Python "
        f"{platform.python_version()} (install {missing} to run it as on AWS)"
    ]
    invoked = cli("invoke", "runtimes", "stand-in", "--output", "json").json()
    assert json.dumps(invoked).count(f"awslab: runtime {missing} is not installed here") == 1
    assert cli("teardown", "--yes", "--output", "json").json()["ok"]


# ---- reserved variables ----------------------------------------------------------------------------
ENV_DUMP = """
import os, sys
def handler(event, context):
    import extra  # from the function's own PYTHONPATH
    return {"env": dict(os.environ), "extra": extra.VALUE, "sys_path": sys.path}
"""
DEFINED = ("_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
           "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
           "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
           "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_LAMBDA_RUNTIME_API",
           "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "TZ", "LANG", "PATH", "LD_LIBRARY_PATH",
           "PYTHONPATH")  # fmt: skip
TRACE = re.compile(r"^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$")


def test_reserved_variables_are_set_as_on_aws_and_cannot_be_overridden(
    executor_for: Callable[[runtimes.RuntimeFinder], LambdaExecutor], lambda_client: Any, lambda_role: str,
) -> None:  # fmt: skip
    executor_for(runtimes.RuntimeFinder(search_path="", places=[]))
    # moto's CreateFunction accepts reserved keys (the local cloud's front refuses them: see below).
    attempts = {"AWS_REGION": "eu-west-9", "AWS_SESSION_TOKEN": "mine", "LAMBDA_RUNTIME_DIR": "/nowhere",
                "_HANDLER": "other.handler", "AWS_LAMBDA_RUNTIME_API": "example.com:1",
                "_X_AMZN_TRACE_ID": "x",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "10240", "AWS_ACCESS_KEY_ID": "AKIAREAL"}  # fmt: skip
    allowed = {"TZ": "Europe/Paris", "PYTHONPATH": "vendor", "APP_SETTING": "1"}  # not reserved on AWS
    files = {"app.py": ENV_DUMP, "vendor/extra.py": "VALUE = 'vendored'\n"}
    create(lambda_client, lambda_role, "reserved", files, OWN_RUNTIME, MemorySize=192,
           Environment={"Variables": {**attempts, **allowed}})  # fmt: skip
    out, _ = invoke(lambda_client, "reserved")
    env = out["env"]
    assert set(DEFINED) <= set(env)
    assert {k: env[k] for k in allowed} == allowed and out["extra"] == "vendored"
    assert env["LANG"] == "en_US.UTF-8"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["AWS_SESSION_TOKEN"] != "mine" and env["AWS_ACCESS_KEY_ID"] != "AKIAREAL"
    assert env["_HANDLER"] == "app.handler" and env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "192"
    assert env["AWS_EXECUTION_ENV"] == f"AWS_Lambda_{OWN_RUNTIME}"
    assert env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand"
    assert env["AWS_LAMBDA_RUNTIME_API"] == ENDPOINT.removeprefix("http://")  # nothing else is contacted
    runtime_dir = Path(env["LAMBDA_RUNTIME_DIR"])
    assert (runtime_dir / "bootstrap.py").is_file() and str(runtime_dir) not in out["sys_path"]
    assert env["LAMBDA_TASK_ROOT"] in env["LD_LIBRARY_PATH"].split(os.pathsep)
    assert env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)  # the runtime's python first
    assert TRACE.match(env["_X_AMZN_TRACE_ID"])
    again, _ = invoke(lambda_client, "reserved")
    assert (
        TRACE.match(again["env"]["_X_AMZN_TRACE_ID"])
        and again["env"]["_X_AMZN_TRACE_ID"] != env["_X_AMZN_TRACE_ID"]
    )


def test_the_local_cloud_refuses_reserved_variables_as_lambda_does(
    running_cloud: RunningCloud, unique: Callable[[str], str]
) -> None:
    lam, iam = running_cloud.client("lambda"), running_cloud.client("iam")
    name = unique("reserved")
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    with pytest.raises(ClientError) as refused:
        create(lam, role, name, {"app.py": VERSION_OF}, "python3.11",
               Environment={"Variables": {"OK": "1", "AWS_REGION": "x",
                                          "AWS_SESSION_TOKEN": "y"}})  # fmt: skip
    error = refused.value.response["Error"]
    assert (error["Code"], refused.value.response["ResponseMetadata"]["HTTPStatusCode"]) == (
        "InvalidParameterValueException", 400)  # fmt: skip
    assert error["Message"] == (
        "Lambda was unable to configure your environment variables because the environment variables you "
        "have provided contains reserved keys that are currently not supported for modification. Reserved "
        "keys used in this request: AWS_REGION, AWS_SESSION_TOKEN"
    )
    create(lam, role, name, {"app.py": VERSION_OF}, "python3.11", Environment={"Variables": {"TZ": "UTC"}})
    with pytest.raises(ClientError, match="Reserved keys used in this request: _HANDLER"):
        lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"_HANDLER": "a.b"}})
    lam.delete_function(FunctionName=name)


# ---- payload limits ---------------------------------------------------------------------------------
def _json_of_size(size: int) -> bytes:
    return b'"' + b"a" * (size - 2) + b'"'


def _length_function(running_cloud: RunningCloud, name: str) -> str:
    """An Active function that answers the length of its event."""
    lam, iam = running_cloud.client("lambda"), running_cloud.client("iam")
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    create(lam, role, name, {"app.py": "def handler(event, context):\n    return len(event)\n"}, "python3.11")
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    return name


def test_invoke_payloads_over_lambdas_limits_are_refused_with_its_answers(
    running_cloud: RunningCloud, unique: Callable[[str], str]
) -> None:
    lam = running_cloud.client("lambda")
    name = _length_function(running_cloud, unique("limits"))

    at_limit = lam.invoke(FunctionName=name, Payload=_json_of_size(6291456))
    assert json.loads(at_limit["Payload"].read()) == 6291454  # 6 MB reaches the handler
    cases = [
        (lambda: lam.invoke(FunctionName=name, Payload=_json_of_size(6291457)),
         "Request must be smaller than 6291456 bytes for the InvokeFunction operation"),
        (lambda: lam.invoke(FunctionName=name, InvocationType="Event", Payload=_json_of_size(1048577)),
         "1048577 byte payload is too large for the Event invocation type (limit 1048576 bytes)"),
        (lambda: lam.invoke_async(FunctionName=name, InvokeArgs=_json_of_size(262145)),
         "Request must be smaller than 262144 bytes for the InvokeAsync operation"),
    ]  # fmt: skip
    for call, message in cases:
        with pytest.raises(ClientError) as refused:
            call()
        response = refused.value.response
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 413
        assert (response["Error"]["Code"], response["Error"]["Message"]) == (
            "RequestEntityTooLargeException",
            message,
        )
    accepted = lam.invoke(FunctionName=name, InvocationType="Event", Payload=_json_of_size(1048576))
    assert accepted["StatusCode"] == 202
    lam.delete_function(FunctionName=name)


def test_a_chunked_invoke_cannot_slip_past_the_limit(
    running_cloud: RunningCloud, unique: Callable[[str], str]
) -> None:
    """Without Content-Length (Transfer-Encoding: chunked) the body is measured as it arrives."""
    import http.client
    from urllib.parse import urlsplit

    lam = running_cloud.client("lambda")
    name = _length_function(running_cloud, unique("chunked"))
    url = urlsplit(running_cloud.endpoint)

    def send_chunked(payload: bytes) -> tuple[int, dict[str, Any]]:
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
        headers = {  # the guard asks for an AWS signature's shape; the local cloud does not verify it
            "Authorization": "AWS4-HMAC-SHA256 Credential=awslab/20261130/us-east-1/lambda/aws4_request, "
            "SignedHeaders=host, Signature=0",
            "Content-Type": "application/json",
        }
        pieces = (payload[i : i + 65536] for i in range(0, len(payload), 65536))
        conn.request("POST", f"/2015-03-31/functions/{name}/invocations", body=pieces, headers=headers,
                     encode_chunked=True)  # fmt: skip
        resp = conn.getresponse()
        answer = json.loads(resp.read() or b"null")
        conn.close()
        return resp.status, answer

    assert send_chunked(_json_of_size(1000)) == (200, 998)  # small: reaches the handler whole
    status, answer = send_chunked(_json_of_size(6291457))
    assert status == 413
    assert answer["message"] == "Request must be smaller than 6291456 bytes for the InvokeFunction operation"
    lam.delete_function(FunctionName=name)


def test_a_response_over_6_mb_is_lambdas_error_for_every_invoke_path(
    executor_for: Callable[[runtimes.RuntimeFinder], LambdaExecutor], lambda_client: Any, lambda_role: str,
) -> None:  # fmt: skip
    """Not only the Invoke API (moto checks there, roughly): an event source's invoke too."""
    from moto.awslambda.models import lambda_backends

    executor = executor_for(runtimes.RuntimeFinder(search_path="", places=[]))
    code = "def handler(event, context):\n    return 'x' * event['size']\n"
    create(lambda_client, lambda_role, "big", {"app.py": code}, OWN_RUNTIME)
    fn = lambda_backends["123456789012"]["us-east-1"].get_function("big")
    payload, errored, _ = executor.invoke(fn, {"size": 6291556 - 2})  # the JSON string's quotes count
    assert not errored and len(payload) == 6291556
    payload, errored, _ = executor.invoke(fn, {"size": 6291556})
    assert errored and json.loads(payload) == {
        "errorMessage": "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }


# ---- timeout and memory --------------------------------------------------------------------------------
def test_a_timeout_is_answered_as_lambda_does(
    running_cloud: RunningCloud, unique: Callable[[str], str]
) -> None:
    lam, iam = running_cloud.client("lambda"), running_cloud.client("iam")
    name = unique("slow")
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    create(lam, role, name, {"app.py": "import time\ndef handler(e, c):\n    time.sleep(60)\n"}, "python3.11",
           Timeout=1)  # fmt: skip
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    resp = lam.invoke(FunctionName=name, LogType="Tail")
    assert resp["StatusCode"] == 200 and resp["FunctionError"] == "Unhandled"
    out = json.loads(resp["Payload"].read())
    timed_out = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (\S+) Task timed out after (\d+\.\d\d) seconds$"
    match = re.match(timed_out, out["errorMessage"])
    assert set(out) == {"errorMessage"} and match
    lines = base64.b64decode(resp["LogResult"]).decode().splitlines()
    report = next(line for line in lines if line.startswith("REPORT"))
    duration_ms = float(re.search(r"Duration: ([\d.]+) ms", report).group(1))  # type: ignore[union-attr]
    assert float(match.group(2)) == round(duration_ms / 1000, 2) >= 1.0  # AWS says how long it ran
    assert lines[-1] == out["errorMessage"] and lines[-2] == report and match.group(1) in report
    lam.delete_function(FunctionName=name)


HOG = """
import os, time
def handler(event, context):
    hog = b"x" * (event["mb"] * 1024 * 1024)  # written, so resident
    time.sleep(event.get("linger", 0))
    return len(hog)
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="memory is watched through /proc (Linux)")
@pytest.mark.parametrize("linger", [0, 8], ids=["over-then-returns", "over-and-lingers"])
def test_a_function_over_its_memory_size_is_killed_as_on_aws(
    executor_for: Callable[[runtimes.RuntimeFinder], LambdaExecutor], lambda_client: Any, lambda_role: str,
    linger: int,
) -> None:  # fmt: skip
    executor = executor_for(runtimes.RuntimeFinder(search_path="", places=[]))
    create(lambda_client, lambda_role, "hog", {"app.py": HOG}, OWN_RUNTIME, MemorySize=128, Timeout=10)
    out, resp = invoke(lambda_client, "hog", {"mb": 200, "linger": linger}, LogType="Tail")
    assert resp["FunctionError"] == "Unhandled"
    assert out["errorType"] == "Runtime.ExitError"
    assert re.match(r"^RequestId: \S+ Error: Runtime exited with error: signal: killed$", out["errorMessage"])
    tail = base64.b64decode(resp["LogResult"]).decode().splitlines()
    assert re.search(
        r"\tMemory Size: 128 MB\tMax Memory Used: 128 MB", next(x for x in tail if x.startswith("REPORT"))
    )
    assert tail[-2:] == [out["errorMessage"], "Runtime.ExitError"]
    assert executor.workers() == []  # the environment is gone; the next invoke starts a new one
    ok, resp = invoke(lambda_client, "hog", {"mb": 16}, LogType="Tail")
    assert ok == 16 * 1024 * 1024 and "FunctionError" not in resp


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="memory is watched through /proc (Linux)")
def test_a_function_over_its_memory_size_during_init_is_killed_as_on_aws(
    executor_for: Callable[[runtimes.RuntimeFinder], LambdaExecutor], lambda_client: Any, lambda_role: str,
) -> None:  # fmt: skip
    executor_for(runtimes.RuntimeFinder(search_path="", places=[]))
    code = "import time\nhog = b'x' * (200 * 1024 * 1024)\ntime.sleep(5)\ndef handler(e, c):\n    return 1\n"
    create(lambda_client, lambda_role, "inithog", {"app.py": code}, OWN_RUNTIME, MemorySize=128)
    out, resp = invoke(lambda_client, "inithog")
    assert resp["FunctionError"] == "Unhandled" and out["errorType"] == "Runtime.ExitError"
    assert out["errorMessage"].endswith("Error: Runtime exited with error: signal: killed")


def test_max_memory_used_is_the_real_peak(
    executor_for: Callable[[runtimes.RuntimeFinder], LambdaExecutor], lambda_client: Any, lambda_role: str,
) -> None:  # fmt: skip
    executor_for(runtimes.RuntimeFinder(search_path="", places=[]))
    create(lambda_client, lambda_role, "peak", {"app.py": HOG}, OWN_RUNTIME, MemorySize=512)
    used = []
    for mb in (1, 120):
        _, resp = invoke(lambda_client, "peak", {"mb": mb}, LogType="Tail")
        report = next(
            x for x in base64.b64decode(resp["LogResult"]).decode().splitlines() if x.startswith("REPORT")
        )
        used.append(int(re.search(r"Max Memory Used: (\d+) MB", report).group(1)))  # type: ignore[union-attr]
    assert used[0] < 120 <= used[1] < 512


def test_the_health_report_never_waits_for_a_lookup(tmp_path: Path) -> None:
    """The health document is what `awslab` polls while the local cloud starts: runtimes still
    being looked up are "pending" (and named by no `up` warning), never waited for."""
    from awslab.local.runtimes import PENDING, SUPPORTED, RuntimeFinder, stand_ins

    finder = RuntimeFinder(search_path=str(tmp_path), places=[])
    report = finder.report()
    assert set(report["runtimes"].values()) == {PENDING}
    assert stand_ins({"fn": SUPPORTED[-1]}, report) == []
    finder.resolve(SUPPORTED[-1])  # nothing on the search path: the own Python stands in
    after = finder.report()["runtimes"]
    own = "python" + ".".join(platform.python_version().split(".")[:2])
    assert after[SUPPORTED[-1]] is None or SUPPORTED[-1] == own
