"""botocore's service models are kept parsed in awslab's cache (issue 9: most of a client's
build time is parsing them); a changed, missing or broken cache file falls back to the JSON."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import botocore.session

from awslab import model_cache


def _session(cache: Path) -> botocore.session.Session:
    session = botocore.session.get_session()
    model_cache.install(session, cache)
    return session


def _operations(session: botocore.session.Session, service: str) -> list[str]:
    client = session.create_client(
        service, region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b"
    )
    return list(client.meta.service_model.operation_names)


def test_models_come_from_the_cache_the_second_time(tmp_path: Path) -> None:
    plain = list(botocore.session.get_session().get_service_model("lambda").operation_names)
    assert _operations(_session(tmp_path), "lambda") == plain
    files = sorted(tmp_path.iterdir())
    assert files and all(f.suffix == ".marshal" for f in files)
    stamps = {f: f.stat().st_mtime_ns for f in files}
    assert _operations(_session(tmp_path), "lambda") == plain  # read, not written again
    assert {f: f.stat().st_mtime_ns for f in tmp_path.iterdir()} == stamps


def test_a_broken_cache_file_is_read_afresh(tmp_path: Path) -> None:
    _operations(_session(tmp_path), "sqs")
    for f in tmp_path.iterdir():
        f.write_bytes(b"\x00not marshal")
    assert "SendMessage" in _operations(_session(tmp_path), "sqs")


def test_an_unwritable_cache_is_skipped(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("")  # a file where the directory should be
    assert "SendMessage" in _operations(_session(blocked / "models"), "sqs")


def test_the_target_loads_models_through_the_cache(tmp_path: Path) -> None:
    code = "from awslab.target import Target\nTarget.select('local', local_port=9).client('sqs')\n"
    env = {**os.environ, "AWSLAB_CACHE_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert list((tmp_path / "botocore-models").glob("*.marshal"))
