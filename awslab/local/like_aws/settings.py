"""The AWS-like mode's switch and delays: read from the environment (or `--like-aws`), handed to
the server as one command-line argument, shown in its health document.

Every delay is a base value in seconds (AWS's typical one, see the package doc) times `scale`;
the API Gateway quotas' refill intervals are scaled too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from awslab.errors import UsageError

SWITCH_ENV = "AWSLAB_LIKE_AWS"
SCALE_ENV = "AWSLAB_LIKE_AWS_SCALE"
QUOTAS_ENV = "AWSLAB_LIKE_AWS_APIGW_QUOTAS"

# knob -> AWS's typical duration in seconds (sources in the package doc and the behaviour modules).
DEFAULT_SECONDS: dict[str, float] = {
    "iam": 8.0,  # IAM propagation of a new role or trust policy / of a role's new permissions
    "lambda_pending": 3.0,  # a new function's Pending state
    "lambda_update": 2.0,  # LastUpdateStatus InProgress after an update
    "dynamodb_creating": 5.0,  # a new table's CREATING status
    "dynamodb_deleting": 4.0,  # a deleted table's DELETING status
    "sqs_name_reuse": 60.0,  # a deleted queue's name cannot be reused
    "sfn_deleting": 5.0,  # a deleted state machine's DELETING status
}
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")


def seconds_env(knob: str) -> str:
    """The environment variable of one delay: AWSLAB_LIKE_AWS_<KNOB>_SECONDS."""
    return f"AWSLAB_LIKE_AWS_{knob.upper()}_SECONDS"


@dataclass(frozen=True)
class LikeAws:
    """The mode's settings; the mode is on wherever an instance exists."""

    scale: float = 1.0
    seconds: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_SECONDS))
    apigw_quotas: bool = True

    def delay(self, knob: str) -> float:
        """The effective duration of `knob`, in seconds."""
        return self.seconds[knob] * self.scale

    def to_dict(self) -> dict[str, Any]:
        """What the health document carries: effective delays, scale, quotas on or off."""
        return {
            "scale": self.scale,
            "seconds": {knob: round(self.delay(knob), 6) for knob in sorted(self.seconds)},
            "apigw_quotas": self.apigw_quotas,
        }

    def to_arg(self) -> str:
        """The server's `--like-aws` value: "scale=0.1,iam=8,...,apigw_quotas=1"."""
        parts = [f"scale={self.scale!r}", *(f"{k}={v!r}" for k, v in sorted(self.seconds.items()))]
        return ",".join([*parts, f"apigw_quotas={int(self.apigw_quotas)}"])

    @classmethod
    def from_arg(cls, text: str) -> LikeAws:
        """The inverse of to_arg; missing keys keep their defaults, an empty text means all defaults."""
        values: dict[str, str] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            key, sep, value = part.partition("=")
            if not sep:
                raise UsageError(f"--like-aws: {part!r} is not KEY=VALUE")
            values[key.strip()] = value.strip()
        return cls._build(values, "--like-aws ")

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, force: bool = False) -> LikeAws | None:
        """The settings the environment asks for; None when the mode is off (`force` turns it on,
        as `awslab local start --like-aws` does)."""
        switch = env.get(SWITCH_ENV, "").strip().lower()
        if switch not in _TRUE + _FALSE:
            raise UsageError(f"{SWITCH_ENV}={env[SWITCH_ENV]!r} is neither 1 nor 0", hint="set it to 1 or 0")
        if not force and switch in _FALSE:
            return None
        values = {knob: env[seconds_env(knob)] for knob in DEFAULT_SECONDS if seconds_env(knob) in env}
        if SCALE_ENV in env:
            values["scale"] = env[SCALE_ENV]
        if QUOTAS_ENV in env:
            values["apigw_quotas"] = env[QUOTAS_ENV]
        return cls._build(values, "")

    @classmethod
    def _build(cls, values: Mapping[str, str], where: str) -> LikeAws:
        seconds = dict(DEFAULT_SECONDS)
        scale, quotas = 1.0, True
        for key, raw in values.items():
            name = {"scale": SCALE_ENV, "apigw_quotas": QUOTAS_ENV}.get(key, seconds_env(key))
            if key == "apigw_quotas":
                if raw.lower() not in _TRUE + _FALSE:
                    raise UsageError(f"{where}{name}={raw!r} is neither 1 nor 0")
                quotas = raw.lower() in _TRUE
                continue
            if key != "scale" and key not in DEFAULT_SECONDS:
                known = ", ".join(["scale", *DEFAULT_SECONDS, "apigw_quotas"])
                raise UsageError(f"{where}unknown AWS-like setting {key!r}", hint=f"known: {known}")
            try:
                number = float(raw)
            except ValueError:
                number = -1.0
            if not number >= 0 or number == float("inf"):  # also rejects NaN
                what = "a number" if key == "scale" else "a number of seconds"
                raise UsageError(f"{where}{name}={raw!r} is not {what} >= 0")
            if key == "scale":
                scale = number
            else:
                seconds[key] = number
        return cls(scale=scale, seconds=seconds, apigw_quotas=quotas)


def check_running(wanted: LikeAws | None, running: Mapping[str, Any] | None, port: int) -> None:
    """Refuse a running local cloud whose mode is not the one asked for (`running` is its health
    document's `like_aws`): its resources were made under other rules, so reusing it silently
    would rehearse something else. Asking for nothing accepts any."""
    from awslab.errors import LocalCloudError

    if wanted is None or dict(running or {}) == wanted.to_dict():
        return
    if running is None:
        problem = "runs without the AWS-like mode, which this command asks for"
    else:
        problem = (
            f"runs with other AWS-like settings ({describe(running)}; asked: {describe(wanted.to_dict())})"
        )
    raise LocalCloudError(
        f"the local cloud on port {port} {problem}",
        hint="stop it first with 'awslab local stop' (its resources are forgotten), then run the command again",
    )


def describe(settings: Mapping[str, Any]) -> str:
    """One line: "scale 0.1, iam 0.8 s, ..., API Gateway quotas on"."""
    seconds = ", ".join(f"{k} {v:g} s" for k, v in dict(settings.get("seconds", {})).items())
    quotas = "on" if settings.get("apigw_quotas") else "off"
    return f"scale {settings.get('scale', 1):g}, {seconds}, API Gateway quotas {quotas}"
