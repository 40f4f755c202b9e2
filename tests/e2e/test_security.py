"""Only the user drives the local cloud, and the code it runs cannot see the user's secrets.

Attacks as a web page would make them (headless Chromium: another origin, a page served by the
local cloud itself, a DNS-rebound name), and as raw HTTP (a foreign Host, no Authorization); then
the clients that must keep working (boto3, the AWS CLI, presigned URLs). Then a local cloud
started with the user's real-looking AWS credentials in its environment, and a handler that
looks for them everywhere it can."""

from __future__ import annotations

import contextlib
import functools
import http.client
import http.server
import json
import os
import shutil
import stat
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from awslab.local import worker_template
from awslab.local.daemon import LocalCloud
from tests.e2e.conftest import Cli, free_port
from tests.e2e.inventory import inventory

pytestmark = pytest.mark.e2e

needs_chromium = pytest.mark.skipif(
    shutil.which("chromium") is None, reason="Debian's chromium is not installed (.ci/run installs it)"
)
# Looks like what an SDK sends; any page could compute a real one (the local credentials are public).
SIGNED_LOOKING = (
    "AWS4-HMAC-SHA256 Credential=awslab/20260101/us-east-1/s3/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=00"
)
FORGED_PRESIGN = (
    "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=awslab%2F20260101%2Fus-east-1%2Fs3%2Faws4_request"
    "&X-Amz-Date=20260101T000000Z&X-Amz-Expires=604800&X-Amz-SignedHeaders=host&X-Amz-Signature=00"
)
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def client(endpoint: str, service: str) -> Any:
    session = boto3.Session(
        aws_access_key_id="awslab", aws_secret_access_key="awslab-local", region_name="us-east-1"
    )
    return session.client(service, endpoint_url=endpoint)  # a new session: it reads this test's environment


def server_log(cli: Cli) -> Path:
    return cli.home / "state" / "local" / cli.env["AWSLAB_LOCAL_PORT"] / "server.log"


def refusals(cli: Cli, path: str) -> int:
    return sum(
        f" {path!r} (Host " in line and "refused" in line for line in server_log(cli).read_text().splitlines()
    )


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return condition()
        time.sleep(0.05)  # poll interval
    return True


def deploy_crud(cli: Cli) -> tuple[str, dict[str, Any], str]:
    """(endpoint, outputs, website bucket) of the crud lab, deployed."""
    outputs = cli("up", "crud", "--yes", "--output", "json").json()["outputs"]
    endpoint = cli("local", "status", "--output", "json").json()["endpoint"]
    bucket = urlsplit(outputs["website_url"]).path.strip("/").split("/")[-1]
    return endpoint, outputs, bucket


def everything(endpoint: str, bucket: str) -> dict[str, Any]:
    s3 = client(endpoint, "s3")
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))
    index = s3.get_object(Bucket=bucket, Key="index.html")["Body"].read()
    return {**inventory(endpoint), "site_keys": keys, "index.html": index}


@contextlib.contextmanager
def chromium(*args: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=shutil.which("chromium"),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic", *args],
        )  # fmt: skip
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def attacker_site(directory: Path) -> Iterator[str]:
    """A web server on another port of this machine: another origin, as any web page is."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep the test output clean

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(directory))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


ATTACK_PAGE = """<!doctype html><html><body><iframe name="sink"></iframe><script>
const base = %(base)s, alt = %(alt)s, bucket = %(bucket)s, signed = %(signed)s, forged = %(forged)s;
async function attempt(name, send) {
  try { const r = await send(); return [name, r && r.type ? r.type + " " + r.status : String(r)]; }
  catch (e) { return [name, "error: " + e.message]; }
}
async function run() {
  const results = await Promise.all([
    attempt("no-cors reset", () => fetch(base + "/moto-api/reset", {method: "POST", mode: "no-cors"})),
    attempt("no-cors reset, localhost", () => fetch(alt + "/moto-api/reset", {method: "POST", mode: "no-cors"})),
    attempt("beacon reset", () => navigator.sendBeacon(base + "/moto-api/reset", "x")),
    attempt("signed-looking reset", () => fetch(base + "/moto-api/reset",
            {method: "POST", headers: {"Authorization": signed, "X-Amz-Date": "20260101T000000Z"}})),
    attempt("forged presigned delete", () => fetch(base + "/" + bucket + "?delete&" + forged,
            {method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"},
             body: "<Delete><Object><Key>index.html</Key></Object></Delete>"})),
    attempt("forged presigned overwrite", () => fetch(base + "/" + bucket + "/index.html?" + forged,
            {method: "PUT", body: "pwned"})),
  ]);
  await new Promise(resolve => {  // a form posted into a frame: a navigation, which CORS does not cover
    const frame = document.querySelector("iframe"), form = document.createElement("form");
    frame.onload = resolve;
    form.method = "POST"; form.action = base + "/moto-api/reset"; form.target = "sink";
    document.body.appendChild(form); form.submit();
  });
  results.push(["form reset", "sent"]);
  window.results = Object.fromEntries(results);
}
run();
</script></body></html>"""


@needs_chromium
def test_web_pages_cannot_drive_the_local_cloud(local_cli: Cli, tmp_path: Path) -> None:
    endpoint, outputs, bucket = deploy_crud(local_cli)
    port = urlsplit(endpoint).port
    before = everything(endpoint, bucket)
    assert before["functions"] and before["tables"] and "index.html" in before["site_keys"]

    (tmp_path / "attack.html").write_text(ATTACK_PAGE % {
        "base": json.dumps(endpoint), "alt": json.dumps(f"http://localhost:{port}"), "bucket": json.dumps(bucket),
        "signed": json.dumps(SIGNED_LOOKING), "forged": json.dumps(FORGED_PRESIGN)})  # fmt: skip
    # A page the local cloud serves itself: same-origin with the control plane on localhost:PORT.
    same_origin = f"""<!doctype html><script>
      window.results = Promise.all(["/moto-api/reset", {json.dumps(endpoint)} + "/moto-api/reset"].map(url =>
        fetch(url, {{method: "POST", headers: {{"Authorization": {json.dumps(SIGNED_LOOKING)}}}}})
          .then(r => r.status, e => "error: " + e.message)));
    </script>"""
    client(endpoint, "s3").put_object(Bucket=bucket, Key="evil.html", Body=same_origin.encode(),
                                      ContentType="text/html")  # fmt: skip
    with (
        attacker_site(tmp_path) as attacker,
        chromium("--host-resolver-rules=MAP evil.test 127.0.0.1") as browser,
    ):
        page = browser.new_page()
        page.goto(f"{attacker}/attack.html")
        page.wait_for_function("window.results !== undefined", timeout=20000)
        results = page.evaluate("window.results")
        assert results["signed-looking reset"].startswith("error"), results  # its preflight was refused
        assert results["forged presigned overwrite"].startswith("error"), results

        page.goto(outputs["website_url"] + "evil.html")
        assert page.evaluate("window.results") == [403, "error: Failed to fetch"]

        # DNS rebinding: evil.test now resolves to 127.0.0.1; the page's script runs in its origin
        answer = page.goto(f"http://evil.test:{port}/_awslab/health")
        assert answer is not None and answer.status == 403
        rebound = page.evaluate("""Promise.all([["/moto-api/reset", "POST"], ["/_awslab/health", "GET"]].map(
            ([url, method]) => fetch(url, {method}).then(r => r.status)))""")
        assert rebound == [403, 403]

    # Every attempt reached the server and was refused there (not merely hidden by the browser).
    assert wait_for(lambda: refusals(local_cli, "/moto-api/reset") >= 8), server_log(local_cli).read_text()[
        -3000:
    ]
    assert refusals(local_cli, f"/{bucket}") >= 1
    assert everything(endpoint, bucket) == {
        **before,
        "site_keys": sorted([*before["site_keys"], "evil.html"]),
    }
    status = local_cli("status", "crud", "--output", "json").json()
    assert {r["status"] for r in status["labs"]["crud"]["resources"]} == {"present"}


def raw_request(port: int, method: str, path: str, *, host: str, body: bytes = b"",
                headers: dict[str, str] | None = None) -> tuple[int, bytes]:  # fmt: skip
    """One request exactly as given (Host included), as a rebound page's browser would send it."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in {"Host": host, "Content-Length": str(len(body)), **(headers or {})}.items():
            conn.putheader(name, value)
        conn.endheaders(body)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def signed_headers(method: str, url: str, service: str, body: bytes = b"", **extra: str) -> dict[str, str]:
    request = AWSRequest(method=method, url=url, data=body, headers=extra)
    SigV4Auth(Credentials("awslab", "awslab-local"), service, "us-east-1").add_auth(request)
    return dict(request.headers.items())


def test_a_foreign_host_is_refused_and_creates_nothing(local_cli: Cli) -> None:
    """What a DNS-rebinding page's requests look like: signed even (the keys are public), but for
    another host name. Before: they created and invoked Lambdas."""
    endpoint = local_cli("local", "start", "--output", "json").json()["endpoint"]
    port = urlsplit(endpoint).port
    assert port is not None
    evil = f"evil.example:{port}"
    create_queue = b"Action=CreateQueue&QueueName=rebound&Version=2012-11-05"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    attempts = [
        ("POST", "/", create_queue, signed_headers("POST", f"http://{evil}/", "sqs", create_queue, **form)),
        ("PUT", "/rebound-bucket", b"", signed_headers("PUT", f"http://{evil}/rebound-bucket", "s3")),
        ("POST", "/moto-api/reset", b"", signed_headers("POST", f"http://{evil}/moto-api/reset", "s3")),
        ("GET", "/_awslab/health", b"", {}),
        ("GET", "/_aws/s3-website/any/", b"", {}),
    ]
    for method, path, body, headers in attempts:
        status, answer = raw_request(port, method, path, host=evil, body=body, headers=headers)
        assert status == 403, (path, answer)
        assert answer.count(b"\n") == 1 and f"Host '{evil}'".encode() in answer
        assert json.loads(answer)["code"] == "AccessDenied"
    assert inventory(endpoint) == {}
    # the same signed request under the local cloud's own name works
    status, _ = raw_request(port, "POST", "/", host=f"127.0.0.1:{port}", body=create_queue,
                            headers=signed_headers("POST", f"{endpoint}/", "sqs", create_queue, **form))  # fmt: skip
    assert status == 200
    assert [url.rsplit("/", 1)[-1] for url in inventory(endpoint)["queues"]] == ["rebound"]


def test_requests_without_authorization_are_refused(local_cli: Cli) -> None:
    endpoint = local_cli("local", "start", "--output", "json").json()["endpoint"]
    port = urlsplit(endpoint).port
    assert port is not None
    client(endpoint, "s3").create_bucket(Bucket="kept")
    host = f"127.0.0.1:{port}"
    for method, path, body in [("POST", "/moto-api/reset", b""), ("PUT", "/unsigned-bucket", b""),
                               ("POST", "/", b"Action=CreateQueue&QueueName=unsigned&Version=2012-11-05"),
                               ("GET", "/moto-api/data.json", b"")]:  # fmt: skip
        status, answer = raw_request(port, method, path, host=host, body=body,
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
        assert status == 403 and b"must be signed" in answer, (path, answer)
    assert inventory(endpoint) == {"buckets": ["kept"]}


def test_boto3_the_aws_cli_and_presigned_urls_still_work(local_cli: Cli, tmp_path: Path) -> None:
    endpoint = local_cli("local", "start", "--output", "json").json()["endpoint"]
    port = urlsplit(endpoint).port
    aws = Path(sys.executable).parent / "aws"
    assert aws.exists(), "the AWS CLI is part of the test extras: pip install -e '.[test]'"
    env = {**local_cli.env, "AWS_ACCESS_KEY_ID": "awslab", "AWS_SECRET_ACCESS_KEY": "awslab-local",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_PAGER": ""}  # fmt: skip

    def cli_aws(*args: str, url: str = endpoint) -> str:
        done = subprocess.run([str(aws), "--endpoint-url", url, "--output", "json", *args], env=env,
                              capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout

    (tmp_path / "note.txt").write_text("hello")
    cli_aws("s3", "mb", "s3://cli-bucket")
    cli_aws(
        "s3", "cp", str(tmp_path / "note.txt"), "s3://cli-bucket/note.txt", url=f"http://localhost:{port}"
    )
    queue = json.loads(cli_aws("sqs", "create-queue", "--queue-name", "cli-queue"))["QueueUrl"]
    assert json.loads(cli_aws("dynamodb", "list-tables"))["TableNames"] == []
    presigned = cli_aws("s3", "presign", "s3://cli-bucket/note.txt").strip()
    with _OPENER.open(presigned, timeout=30) as resp:
        assert resp.read() == b"hello"

    s3 = client(endpoint, "s3")
    assert s3.get_object(Bucket="cli-bucket", Key="note.txt")["Body"].read() == b"hello"
    assert client(endpoint, "sqs").list_queues()["QueueUrls"] == [queue]
    from botocore.config import Config

    v4 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="awslab",
                      aws_secret_access_key="awslab-local", config=Config(signature_version="s3v4"))  # fmt: skip
    put = v4.generate_presigned_url("put_object", Params={"Bucket": "cli-bucket", "Key": "up.txt"})
    upload = urllib.request.Request(
        put, data=b"uploaded", method="PUT", headers={"Content-Type": "text/plain"}
    )
    _OPENER.open(upload, timeout=30).close()
    with _OPENER.open(v4.generate_presigned_url("get_object", Params={"Bucket": "cli-bucket", "Key": "up.txt"}),
                      timeout=30) as resp:  # fmt: skip
        assert resp.read() == b"uploaded"


# ---- item 2: the user's secrets --------------------------------------------------------------------
SECRETS = {
    "AWS_ACCESS_KEY_ID": "AKIAUSERENVKEY000001",
    "AWS_SECRET_ACCESS_KEY": "real-secret-from-env",
    "AWS_SESSION_TOKEN": "real-session-token",
    "AWS_SECURITY_TOKEN": "real-security-token",
    "AWS_ROLE_ARN": "arn:aws:iam::999999999999:role/real-role",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN": "real-container-token",
    "GITHUB_TOKEN": "ghp_realgithubtoken",
}
FILE_SECRETS = (
    "AKIAUSERFILEKEY00001",
    "real-secret-in-credentials-file",
    "AKIAUSERHOMEKEY00001",
    "real-secret-in-home",
)

HANDLER = """
import json, os
import boto3

def handler(event, context):
    found = {"environ": dict(os.environ)}
    creds = boto3.Session().get_credentials()
    found["credentials"] = [creds.access_key, creds.secret_key, creds.token] if creds else None
    try:
        profile = boto3.Session(profile_name="real-profile").get_credentials()
        found["profile"] = [profile.access_key, profile.secret_key]
    except Exception as exc:
        found["profile"] = type(exc).__name__
    # Its own process and each of its ancestors up to the server (a worker template in between,
    # when workers are forked): the same user's, so their environments are readable.
    found["ancestors"] = chain = []
    pid = os.getpid()
    while True:
        with open(f"/proc/{pid}/environ", "rb") as f:
            environ = f.read().decode(errors="replace")
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            chain.append([pid, f.read().decode(errors="replace").split("\\0"), environ])
        if pid == event["server"] or pid <= 1:
            return found
        with open(f"/proc/{pid}/stat") as f:  # "pid (comm) state ppid ...": comm may hold anything
            pid = int(f.read().rsplit(")", 1)[1].split()[1])
"""


@pytest.fixture
def users_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The environment of a user with real AWS credentials everywhere boto3 looks; returns HOME."""
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "credentials").write_text(
        "[default]\naws_access_key_id = AKIAUSERHOMEKEY00001\naws_secret_access_key = real-secret-in-home\n"
    )
    (home / ".aws" / "config").write_text("[profile real-profile]\nregion = eu-west-1\n")
    (tmp_path / "credentials").write_text(
        "[real-profile]\naws_access_key_id = AKIAUSERFILEKEY00001\n"
        "aws_secret_access_key = real-secret-in-credentials-file\n"
    )
    (tmp_path / "token").write_text("real-web-identity-token")
    for name in [k for k in os.environ if k.startswith(("AWS_", "AWSLAB_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("AWSLAB_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("AWSLAB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("AWS_PROFILE", "real-profile")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / ".aws" / "config"))
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(tmp_path / "token"))
    monkeypatch.setenv("AWS_ENDPOINT_URL", "https://real-endpoint.example")
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    return home


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads /proc")
def test_handlers_cannot_see_the_users_secrets(users_secrets: Path) -> None:
    cloud = LocalCloud(free_port())
    # files an older awslab made readable by others are made private on start
    cloud.work_dir.mkdir(mode=0o755, parents=True)
    for d in (cloud.dir.parent, cloud.dir, cloud.work_dir):
        d.chmod(0o755)
    cloud.log_path.write_text("an old log\n")
    cloud.log_path.chmod(0o644)
    status = cloud.start(timeout=60)
    try:
        from tests.local.apis import create_function

        lam, iam = client(cloud.endpoint, "lambda"), client(cloud.endpoint, "iam")
        create_function(lam, iam, "snoop", HANDLER)
        answer = lam.invoke(FunctionName="snoop", Payload=json.dumps({"server": status.pid}).encode())
        assert "FunctionError" not in answer, answer["Payload"].read()
        found = json.loads(answer["Payload"].read())
        server_environ = Path(f"/proc/{status.pid}/environ").read_bytes().decode(errors="replace")
        code_dirs = list((cloud.work_dir / "code").iterdir())
        modes = {p: mode(p) for p in (cloud.dir.parent, cloud.dir, cloud.work_dir, *code_dirs)}
        file_modes = {p: mode(p) for p in (cloud.log_path, cloud.pid_path)}
    finally:
        cloud.stop()

    everything_seen = json.dumps(found) + server_environ
    for secret in [*SECRETS.values(), *FILE_SECRETS, "real-profile", "real-web-identity-token",
                   "real-endpoint.example", str(users_secrets / ".aws")]:  # fmt: skip
        assert secret not in everything_seen, secret
    # the handler did read every environment up to the server's: its own, a worker template's
    # (where workers are forked from one), the server's
    pids = [pid for pid, _, _ in found["ancestors"]]
    assert pids[0] != status.pid and pids[-1] == status.pid, pids
    if worker_template.SUPPORTED:
        assert any("--template" in cmdline for _, cmdline, _ in found["ancestors"][1:-1]), found["ancestors"]
    assert found["credentials"] == ["awslab", "awslab-local", "awslab-local-session"]  # a dummy role session
    assert found["profile"] == "ProfileNotFound"
    env = found["environ"]
    assert env["AWS_ENDPOINT_URL"] == cloud.endpoint and env["AWS_CONFIG_FILE"] == os.devnull
    assert not {k for k in env if k.startswith("AWS_") and k not in {
        "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
        "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_EXECUTION_ENV", "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API"}}  # fmt: skip
    assert code_dirs and set(modes.values()) == {0o700}, modes
    assert set(file_modes.values()) == {0o600}, file_modes
