"""Handler bundles: deterministic zips, excludes, and requirements installed for Lambda's platform
(through a real pip run on local wheels: no network)."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import zipfile
from pathlib import Path

import pytest

from awslab import build
from awslab.build import Bundle, build_bundle, pip_command, requirements_key
from awslab.errors import AwslabError, SpecError


def make_wheel(
    dest: Path,
    name: str = "tinydep",
    version: str = "0.1",
    tag: str = "py3-none-any",
    body: bytes = b"VALUE = 42\n",
) -> Path:
    """A minimal valid wheel, written by hand so no build backend (or network) is needed."""
    dist = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": body,
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{dist}/WHEEL": f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: {tag}\n".encode(),
    }
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{dist}/RECORD,,")
    files[f"{dist}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = dest / f"{name}-{version}-{tag}.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, data in files.items():
            zf.writestr(path, data)
    return wheel


def handler_dir(root: Path) -> Path:
    code = root / "code"
    (code / "lib").mkdir(parents=True)
    (code / "app.py").write_text("def handler(event, context):\n    return {'ok': True}\n")
    (code / "lib" / "util.py").write_text("X = 1\n")
    return code


def names(bundle: Bundle) -> list[str]:
    return zipfile.ZipFile(io.BytesIO(bundle.zip_bytes)).namelist()


@pytest.fixture(autouse=True)
def _cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("AWSLAB_CACHE_DIR", str(cache))
    return cache


def bundle_of(code: Path, **kw: object) -> Bundle:
    args: dict = {"bundle_requirements": False, "runtime": "python3.12", "architecture": "x86_64"}
    args.update(kw)
    return build_bundle(code, **args)


# ---- determinism --------------------------------------------------------------------------------
def test_same_tree_gives_same_bytes_anywhere_and_anytime(tmp_path: Path) -> None:
    code = handler_dir(tmp_path)
    first, second = bundle_of(code), bundle_of(code)
    assert first.zip_bytes == second.zip_bytes
    assert first.sha256 == base64.b64encode(hashlib.sha256(first.zip_bytes).digest()).decode()
    assert first.files == 2

    # a copy elsewhere, with other mtimes and modes, is the same bundle
    other = tmp_path / "elsewhere" / "code"
    shutil.copytree(code, other)
    os.utime(other / "app.py", (1_000_000_000, 1_000_000_000))
    os.chmod(other / "app.py", 0o755)
    assert bundle_of(other).zip_bytes == first.zip_bytes


def test_zip_entries_are_sorted_with_fixed_time_and_mode(tmp_path: Path) -> None:
    code = handler_dir(tmp_path)
    (code / "b.py").write_text("")
    (code / "a.py").write_text("")
    zf = zipfile.ZipFile(io.BytesIO(bundle_of(code).zip_bytes))
    infos = zf.infolist()
    assert [i.filename for i in infos] == ["a.py", "app.py", "b.py", "lib/util.py"]
    for info in infos:
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.external_attr >> 16 == 0o100644
        assert info.create_system == 3
    assert zf.read("lib/util.py") == b"X = 1\n"


def test_bundle_changes_when_a_file_changes_or_appears(tmp_path: Path) -> None:
    code = handler_dir(tmp_path)
    before = bundle_of(code)
    (code / "lib" / "util.py").write_text("X = 2\n")
    changed = bundle_of(code)
    assert changed.sha256 != before.sha256
    (code / "lib" / "more.py").write_text("")
    added = bundle_of(code)
    assert added.sha256 != changed.sha256 and added.files == 3


# ---- excludes -----------------------------------------------------------------------------------
def test_default_and_given_excludes(tmp_path: Path) -> None:
    code = handler_dir(tmp_path)
    for rel in (
        "__pycache__/app.cpython-312.pyc",
        "lib/__pycache__/u.pyc",
        "lib/old.pyc",
        ".env",
        ".git/config",
        "tests/test_app.py",
        "site/index.html",
        "lib/tests/t.py",
        "notes.md",
        "data/big.bin",
        "data/keep.json",
        "requirements.txt",
    ):
        (code / rel).parent.mkdir(parents=True, exist_ok=True)
        (code / rel).write_text("x")
    got = names(bundle_of(code, exclude=["*.md", "data/big.bin"]))
    assert got == ["app.py", "data/keep.json", "lib/util.py", "requirements.txt"]


def test_excluded_helper_matches_components_and_paths() -> None:
    assert build._excluded("a/b/site/x.html", ["site"])
    assert build._excluded("data/big.bin", ["data/*.bin"])
    assert build._excluded("data/sub/x", ["/data"])
    assert not build._excluded("mydata/big.bin", ["data/*.bin"])
    assert not build._excluded("website.py", ["site"])


def test_missing_or_non_directory_code_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="does not exist"):
        bundle_of(tmp_path / "nope")
    (tmp_path / "file.py").write_text("")
    with pytest.raises(SpecError, match="not a directory"):
        bundle_of(tmp_path / "file.py")


# ---- requirements -------------------------------------------------------------------------------
def test_local_cloud_bundle_keeps_requirements_and_no_deps(tmp_path: Path, _cache: Path) -> None:
    code = handler_dir(tmp_path)
    make_wheel(code)
    (code / "requirements.txt").write_text("./tinydep-0.1-py3-none-any.whl\n")
    got = names(bundle_of(code, bundle_requirements=False, exclude=["*.whl"]))
    assert got == ["app.py", "lib/util.py", "requirements.txt"]
    assert not _cache.exists()  # pip never ran


def test_requirements_are_installed_cached_and_zipped(
    tmp_path: Path, _cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = handler_dir(tmp_path)
    make_wheel(code)
    (code / "requirements.txt").write_text("# vendored\n./tinydep-0.1-py3-none-any.whl\n")
    # the code wins over a dependency file of the same path
    (code / "tinydep").mkdir()
    (code / "tinydep" / "__init__.py").write_text("VALUE = 'mine'\n")
    runs: list[list[str]] = []
    real_run = build.subprocess.run

    def counting_run(cmd: list[str], **kw: object):  # type: ignore[no-untyped-def]
        runs.append(cmd)
        return real_run(cmd, **kw)

    monkeypatch.setattr(build.subprocess, "run", counting_run)
    first = bundle_of(code, bundle_requirements=True, architecture="arm64", exclude=["*.whl"])
    zf = zipfile.ZipFile(io.BytesIO(first.zip_bytes))
    assert "tinydep-0.1.dist-info/METADATA" in zf.namelist()
    assert zf.read("tinydep/__init__.py") == b"VALUE = 'mine'\n"
    assert "requirements.txt" in zf.namelist()
    assert not any(n.endswith(".pyc") for n in zf.namelist())
    assert len(runs) == 1 and "manylinux2014_aarch64" in runs[0]

    key = requirements_key(code, runtime="python3.12", architecture="arm64")
    assert (_cache / "requirements" / key / "tinydep-0.1.dist-info").is_dir()
    # only the finished entry is left in the cache
    assert [p.name for p in (_cache / "requirements").iterdir()] == [key]

    second = bundle_of(code, bundle_requirements=True, architecture="arm64", exclude=["*.whl"])
    assert second.zip_bytes == first.zip_bytes
    assert len(runs) == 1  # served from the cache

    bundle_of(code, bundle_requirements=True, architecture="x86_64", exclude=["*.whl"])
    assert len(runs) == 2 and "manylinux2014_x86_64" in runs[1]


def test_platform_wheels_are_chosen_for_lambdas_architecture(tmp_path: Path) -> None:
    """pip really honours --platform: an x86_64-only wheel installs for x86_64, not for arm64."""
    code = handler_dir(tmp_path)
    wheel = make_wheel(code, name="native", tag="cp312-cp312-manylinux2014_x86_64")
    (code / "requirements.txt").write_text(f"./{wheel.name}\n")
    ok = bundle_of(code, bundle_requirements=True, architecture="x86_64")
    assert "native/__init__.py" in names(ok)
    with pytest.raises(AwslabError, match=r"(?s)python3\.12/arm64 failed.*not a supported wheel"):
        bundle_of(code, bundle_requirements=True, architecture="arm64")
    # and not for another Python version either
    with pytest.raises(AwslabError, match=r"python3\.11/x86_64 failed"):
        bundle_of(code, bundle_requirements=True, runtime="python3.11")


def test_pip_failure_is_a_clear_error_and_leaves_no_cache_entry(tmp_path: Path, _cache: Path) -> None:
    code = handler_dir(tmp_path)
    (code / "requirements.txt").write_text("./missing-1.0-py3-none-any.whl\n")
    with pytest.raises(AwslabError) as info:
        bundle_of(code, bundle_requirements=True)
    assert "requirements.txt" in info.value.message and "pip exit" in info.value.message
    assert info.value.hint
    assert list((_cache / "requirements").iterdir()) == []


def test_requirements_need_a_python_runtime(tmp_path: Path) -> None:
    code = handler_dir(tmp_path)
    (code / "requirements.txt").write_text("\n")
    with pytest.raises(SpecError, match="Python runtime"):
        bundle_of(code, bundle_requirements=True, runtime="nodejs20.x")


def test_cache_key_follows_what_decides_the_install(tmp_path: Path) -> None:
    code = handler_dir(tmp_path)
    wheel = make_wheel(code)
    (code / "requirements.txt").write_text(f"./{wheel.name}\n")

    def key(**kw: str) -> str:
        args = {"runtime": "python3.12", "architecture": "x86_64"} | kw
        return requirements_key(code, **args)

    base = key()
    assert base == key()
    assert key(architecture="arm64") != base
    assert key(runtime="python3.13") != base
    make_wheel(code, body=b"VALUE = 43\n")  # same file name, new content
    rebuilt = key()
    assert rebuilt != base
    (code / "requirements.txt").write_text(f"./{wheel.name}\nother==1\n")
    assert key() != rebuilt


def test_pip_command_targets_lambdas_platform(tmp_path: Path) -> None:
    cmd = pip_command(
        tmp_path / "requirements.txt", tmp_path / "out", runtime="python3.12", architecture="arm64"
    )
    assert cmd[1:4] == ["-m", "pip", "install"]
    assert cmd[cmd.index("--platform") + 1] == "manylinux2014_aarch64"
    assert cmd[cmd.index("--python-version") + 1] == "3.12"
    assert cmd[cmd.index("--implementation") + 1] == "cp"
    assert "--only-binary=:all:" in cmd
    assert cmd[cmd.index("--target") + 1] == str(tmp_path / "out")
    x86 = pip_command(tmp_path / "r.txt", tmp_path, runtime="python3.13", architecture="x86_64")
    assert x86[x86.index("--platform") + 1] == "manylinux2014_x86_64"
    assert x86[x86.index("--python-version") + 1] == "3.13"
    with pytest.raises(SpecError, match="architecture"):
        pip_command(tmp_path / "r.txt", tmp_path, runtime="python3.12", architecture="sparc")
