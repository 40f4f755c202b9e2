"""Where an exercise command cannot learn something the first way, it falls back on purpose, and
only for the failures that mean "this source cannot say": a spec that moved on since `up` (the
live API is asked instead), a function the target does not know (any table may be written)."""

from __future__ import annotations

from pathlib import Path

import pytest

from awslab.errors import ExerciseError
from awslab.exercise.messages import _writer_tables
from awslab.exercise.upload import api_routes, notification_bucket
from awslab.state import StateStore
from awslab.target import Target

from .conftest import add_lab, fn_rec, make_table, rec
from .test_upload import _live_api

SPEC = (
    "name: up\nresources:\n"
    "  fn: {type: lambda.function, code: code, role: 'arn:aws:iam::123456789012:role/r'}\n"
    "  api: {type: apigateway.rest_api, routes: {'GET /from-spec': fn}}\n"
    "  in: {type: s3.bucket}\n"
    "  on-upload: {type: s3.notification, bucket: '${in.name}', function: '${fn.arn}'}\n"
)


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    (tmp_path / "code").mkdir()
    path = tmp_path / "up.yaml"
    path.write_text(SPEC)
    return path


@pytest.mark.parametrize("moved_on", ["invalid", "without the api", "deleted"])
def test_routes_come_from_the_live_api_when_the_spec_moved_on(
    target: Target, store: StateStore, spec: Path, moved_on: str
) -> None:
    api_id = _live_api(target, [("POST", "/files")])
    api = rec("apigateway.rest_api", "api", id=api_id, url="http://x")
    lab = add_lab(store, "up", api, spec=str(spec))
    assert api_routes(target, lab, api) == {"GET /from-spec"}  # the spec is asked first
    if moved_on == "invalid":
        spec.write_text(SPEC + "  broken: {type: no.such.kind}\n")
    elif moved_on == "without the api":
        spec.write_text(
            SPEC.replace("  api: {type: apigateway.rest_api, routes: {'GET /from-spec': fn}}\n", "")
        )
    else:
        spec.unlink()
    assert api_routes(target, lab, api) == {"POST /files"}


def test_a_bucket_the_spec_names_through_an_unrecorded_resource_is_an_error(
    store: StateStore, spec: Path
) -> None:
    notification = rec("s3.notification", "on-upload")
    lab = add_lab(store, "up", notification, spec=str(spec))  # the bucket 'in' is not recorded
    with pytest.raises(ExerciseError, match=r"cannot tell which bucket s3\.notification 'on-upload'"):
        notification_bucket(lab, notification)
    lab = add_lab(
        store, "up", notification, rec("s3.bucket", "in", name="awslab-up-in-abc123"), spec=str(spec)
    )
    assert notification_bucket(lab, notification) == "awslab-up-in-abc123"


def test_tables_of_a_function_the_target_does_not_know_are_all_of_the_lab(
    target: Target, store: StateStore
) -> None:
    a, b = make_table(target, "a", "m"), make_table(target, "b", "m")
    lab = add_lab(store, "m", a, b, fn_rec("consumer", "m"))  # no such function on the target
    assert _writer_tables(target, lab, "consumer") == ["a", "b"]


def test_a_bug_while_reading_the_spec_is_not_swallowed(
    target: Target, store: StateStore, spec: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only "the spec cannot say" falls back; anything else is a bug and shows as one."""
    api = rec("apigateway.rest_api", "api", id="x", url="http://x")
    lab = add_lab(store, "up", api, rec("s3.notification", "on-upload"), spec=str(spec))

    def broken(_path: object) -> None:
        raise TypeError("a bug")

    monkeypatch.setattr("awslab.exercise.upload.load_spec", broken)
    with pytest.raises(TypeError, match="a bug"):
        api_routes(target, lab, api)
    with pytest.raises(TypeError, match="a bug"):
        notification_bucket(lab, lab.records("s3.notification")[0])
