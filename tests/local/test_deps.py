"""A handler's requirements.txt: installed once with pip into a hash-keyed cache (no network: a
wheel built here and PIP_NO_INDEX), safe against concurrent installs, errors that name the
package, and requirements the local cloud's environment already satisfies used without pip."""

from __future__ import annotations

import base64
import hashlib
import io
import threading
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from awslab.local import deps
from awslab.local.executor import LambdaExecutor
from tests.local.lambda_helpers import invoke

# Fixtures: lambda_executor, lambda_client, make_lambda, lambda_role.
pytest_plugins = ["tests.local.lambda_fixtures"]

WHEEL = "tinypkg-1.0-py3-none-any.whl"


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """pip must never reach an index in these tests."""
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_DISABLE_PIP_VERSION_CHECK", "1")


def tiny_wheel(value: str = "tiny") -> bytes:
    """A minimal pure-Python wheel for `tinypkg`, built by hand (no build backend, no network)."""
    files = {
        "tinypkg/__init__.py": f"VALUE = {value!r}\n",
        "tinypkg-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: tinypkg\nVersion: 1.0\n",
        "tinypkg-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for name, content in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(content.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(content.encode())}")
    record.append("tinypkg-1.0.dist-info/RECORD,,")
    files["tinypkg-1.0.dist-info/RECORD"] = "\n".join(record) + "\n"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as whl:
        for name, content in files.items():
            whl.writestr(name, content)
    return buf.getvalue()


USES_TINYPKG = "import tinypkg\ndef handler(event, context):\n    return tinypkg.VALUE\n"


def installed_sets(cache: Path) -> list[Path]:
    return [p for p in cache.iterdir() if p.is_dir()] if cache.exists() else []


def test_requirement_is_installed_once_and_importable(
    lambda_executor: LambdaExecutor,
    lambda_client: Any,
    make_lambda: Callable[..., str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runs: list[Path] = []
    real_run_pip = deps._run_pip
    monkeypatch.setattr(
        deps, "_run_pip", lambda text, root, *rest: (runs.append(root), real_run_pip(text, root, *rest))
    )
    bundle = {
        "app.py": USES_TINYPKG,
        "requirements.txt": f"./vendor/{WHEEL}\n",
        f"vendor/{WHEEL}": tiny_wheel(),
    }
    make_lambda("withdeps", bundle)
    assert invoke(lambda_client, "withdeps")[0] == "tiny"

    lambda_executor.reap_idle(max_idle_s=0)  # a cold start again: the install must come from the cache
    assert invoke(lambda_client, "withdeps")[0] == "tiny"
    make_lambda("samedeps", {**bundle, "app.py": USES_TINYPKG + "# other code, same requirements\n"})
    assert invoke(lambda_client, "samedeps")[0] == "tiny"
    assert len(runs) == 1
    (installed,) = installed_sets(tmp_path / "deps")
    assert (installed / "tinypkg" / "__init__.py").is_file()


def test_a_failed_install_is_an_invoke_error_naming_the_package(
    lambda_executor: LambdaExecutor, lambda_client: Any, make_lambda: Callable[..., str], tmp_path: Path
) -> None:
    make_lambda("baddeps", {"app.py": USES_TINYPKG, "requirements.txt": "awslab-no-such-package==9.9\n"})
    out, resp = invoke(lambda_client, "baddeps")
    assert resp["FunctionError"] == "Unhandled"
    assert out["errorType"] == "LocalCloud.RequirementsError"
    assert "awslab-no-such-package" in out["errorMessage"]
    assert installed_sets(tmp_path / "deps") == []  # nothing half-installed left behind
    assert lambda_executor.workers() == []


def test_concurrent_installs_of_the_same_requirements_run_pip_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "code"
    (root / "vendor").mkdir(parents=True)
    (root / "vendor" / WHEEL).write_bytes(tiny_wheel())
    text = f"./vendor/{WHEEL}\n"
    (root / "requirements.txt").write_text(text)
    runs: list[int] = []
    real_run_pip = deps._run_pip
    monkeypatch.setattr(deps, "_run_pip", lambda *args: (runs.append(1), real_run_pip(*args)))
    results: list[Path] = []
    threads = [
        threading.Thread(target=lambda: results.append(deps.install(text, root, tmp_path / "cache")))
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 3 and len(set(results)) == 1
    assert runs == [1]
    assert (results[0] / "tinypkg").is_dir()


def test_local_path_requirements_are_keyed_by_their_content(tmp_path: Path) -> None:
    root = tmp_path / "code"
    (root / "vendor").mkdir(parents=True)
    text = f"./vendor/{WHEEL}\n"
    (root / "vendor" / WHEEL).write_bytes(tiny_wheel("one"))
    first = deps.install(text, root, tmp_path / "cache")
    (root / "vendor" / WHEEL).write_bytes(tiny_wheel("two"))
    second = deps.install(text, root, tmp_path / "cache")
    assert first != second
    assert "two" in (second / "tinypkg" / "__init__.py").read_text()


def test_requirements_already_satisfied_here_need_no_pip(
    lambda_executor: LambdaExecutor,
    lambda_client: Any,
    make_lambda: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_pip(*args: Any) -> None:
        raise AssertionError("pip should not run")

    monkeypatch.setattr(deps, "_run_pip", no_pip)
    code = "import requests, urllib3\ndef handler(e, c):\n    return requests.__name__\n"
    make_lambda("satisfied", {"app.py": code, "requirements.txt": "requests>=2\n"})
    assert invoke(lambda_client, "satisfied")[0] == "requests"
    # A package installed here but not named in requirements.txt stays hidden, as on AWS.
    code = "import yaml\ndef handler(e, c):\n    return 1\n"
    make_lambda("unlisted", {"app.py": code, "requirements.txt": "requests>=2\n"})
    out, _ = invoke(lambda_client, "unlisted")
    assert out["errorType"] == "Runtime.ImportModuleError" and "'yaml'" in out["errorMessage"]


def test_satisfied_by_environment_decisions() -> None:
    allowed = deps.satisfied_by_environment("# comment\nrequests  # inline\n\nboto3>=1\n")
    assert allowed is not None and {"requests", "urllib3", "idna", "boto3", "botocore"} <= allowed
    assert deps.satisfied_by_environment("requests>=999") is None
    assert deps.satisfied_by_environment("awslab-no-such-package") is None
    assert deps.satisfied_by_environment(f"./vendor/{WHEEL}") is None
    assert deps.satisfied_by_environment("--index-url http://127.0.0.1:1/simple\nrequests") is None


@pytest.mark.parametrize(
    ("output", "package"),
    [
        ("ERROR: Could not find a version that satisfies the requirement foo==1 (from versions: none)\n"
         "ERROR: No matching distribution found for foo==1", "foo==1"),
        ("ERROR: Invalid requirement: 'not valid!!'", "not valid!!"),
        ("ERROR: Failed building wheel for lxml", "lxml"),
        ("something else went wrong", None),
    ],
)  # fmt: skip
def test_blame_names_the_package_from_pip_output(output: str, package: str | None) -> None:
    assert deps.blame(output) == package


def test_no_requirements_means_nothing_to_do(tmp_path: Path) -> None:
    assert deps.prepare(tmp_path, tmp_path / "cache") == deps.Dependencies()
