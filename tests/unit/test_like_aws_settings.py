"""The AWS-like mode's knobs: read from the environment, carried to the server, compared with the
running one's."""

from __future__ import annotations

import pytest

from awslab.errors import LocalCloudError, UsageError
from awslab.local.like_aws.settings import DEFAULT_SECONDS, LikeAws, check_running, seconds_env


def test_off_unless_asked() -> None:
    assert LikeAws.from_env({}) is None
    assert LikeAws.from_env({"AWSLAB_LIKE_AWS": "0", "AWSLAB_LIKE_AWS_SCALE": "0.1"}) is None
    assert LikeAws.from_env({"AWSLAB_LIKE_AWS": "1"}) == LikeAws()
    assert LikeAws.from_env({}, force=True) == LikeAws()  # awslab local start --like-aws


def test_scale_and_per_behaviour_seconds() -> None:
    env = {"AWSLAB_LIKE_AWS": "true", "AWSLAB_LIKE_AWS_SCALE": "0.1", seconds_env("iam"): "20",
           "AWSLAB_LIKE_AWS_APIGW_QUOTAS": "off"}  # fmt: skip
    settings = LikeAws.from_env(env)
    assert settings is not None and settings.scale == 0.1 and not settings.apigw_quotas
    assert settings.delay("iam") == pytest.approx(2.0)
    assert settings.delay("lambda_pending") == pytest.approx(DEFAULT_SECONDS["lambda_pending"] * 0.1)
    assert seconds_env("lambda_pending") == "AWSLAB_LIKE_AWS_LAMBDA_PENDING_SECONDS"
    assert LikeAws.from_arg(settings.to_arg()) == settings  # what the server gets back
    assert LikeAws.from_arg("") == LikeAws()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"AWSLAB_LIKE_AWS": "maybe"}, "AWSLAB_LIKE_AWS='maybe' is neither 1 nor 0"),
        (
            {"AWSLAB_LIKE_AWS": "1", "AWSLAB_LIKE_AWS_SCALE": "-1"},
            "AWSLAB_LIKE_AWS_SCALE='-1' is not a number >= 0",
        ),
        ({"AWSLAB_LIKE_AWS": "1", "AWSLAB_LIKE_AWS_IAM_SECONDS": "nan"}, "is not a number of seconds >= 0"),
        ({"AWSLAB_LIKE_AWS": "1", "AWSLAB_LIKE_AWS_APIGW_QUOTAS": "2"}, "is neither 1 nor 0"),
    ],
)
def test_bad_values_are_one_clear_line(env: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError) as exc:
        LikeAws.from_env(env)
    assert message in exc.value.message and "\n" not in exc.value.message


def test_unknown_server_setting() -> None:
    with pytest.raises(UsageError) as exc:
        LikeAws.from_arg("scale=1,lambda=3")
    assert "unknown AWS-like setting 'lambda'" in exc.value.message and "iam" in str(exc.value.hint)


def test_a_running_cloud_must_match_the_mode_asked_for() -> None:
    check_running(None, None, 4580)  # nothing asked: any will do
    check_running(None, LikeAws().to_dict(), 4580)
    check_running(LikeAws(scale=0.5), LikeAws(scale=0.5).to_dict(), 4580)
    with pytest.raises(LocalCloudError) as exc:
        check_running(LikeAws(), None, 4580)
    assert (
        exc.value.message
        == "the local cloud on port 4580 runs without the AWS-like mode, which this command asks for"
    )
    assert "awslab local stop" in str(exc.value.hint)
    with pytest.raises(LocalCloudError) as exc:
        check_running(LikeAws(), LikeAws(scale=0.1).to_dict(), 4580)
    assert "runs with other AWS-like settings (scale 0.1, " in exc.value.message
