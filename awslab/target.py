"""Where resources are created: the local cloud, a real AWS account, or any AWS-compatible endpoint.

A `Target` owns the botocore session and a thread-safe client cache, and knows how URLs of
API Gateway stages and S3 websites look on it.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from awslab.errors import TargetError, UsageError

# boto3 and botocore are imported where a client or session is made, not here: commands that
# call no cloud (--help, labs, validate) stay fast without them.

TargetKind = Literal["local", "aws", "endpoint"]

DEFAULT_REGION = "us-east-1"
DEFAULT_LOCAL_PORT = 4580
LOCAL_ACCESS_KEY = "awslab"  # moto accepts any key; fixed so the local cloud needs no setup
LOCAL_SECRET_KEY = "awslab-local"
# The local cloud's account: moto's default, as its server gets no MOTO_ACCOUNT_ID (its
# environment is allow-listed) and awslab's key is no account number. Known, so never asked.
LOCAL_ACCOUNT_ID = "123456789012"

# Who the caller is: asked once, before anything else. An unreachable or silent STS must fail
# within seconds (two attempts of at most 3 s to connect and 5 s to answer), not after the
# minutes the resource calls may take.
STS_IDENTITY_ATTEMPTS = 2


def _boto_config() -> Any:
    """Throttling and transient errors are retried by botocore itself ("standard" mode, with
    backoff); propagation errors that botocore does not know are retried in resources/retry.py."""
    import botocore.config

    return botocore.config.Config(
        retries={"mode": "standard", "max_attempts": 8}, connect_timeout=10, read_timeout=70
    )


def _sts_config() -> Any:
    import botocore.config

    return botocore.config.Config(
        retries={"mode": "standard", "total_max_attempts": STS_IDENTITY_ATTEMPTS},  # the first one included
        connect_timeout=3,
        read_timeout=5,
    )


_CONFIGS = {"_BOTO_CONFIG": _boto_config, "_STS_CONFIG": _sts_config}


def _botocore_session(
    *, profile: str | None = None, key: tuple[str, str] | None = None, region: str | None = None
) -> Any:
    """A botocore session, as boto3.Session would make it: awslab uses clients only, and boto3
    (with s3transfer, which it imports) costs 0.1 s of every command's start. A missing profile
    raises ProfileNotFound here, as boto3.Session does."""
    import botocore.session

    session = botocore.session.get_session()
    if profile is not None:
        session.set_config_variable("profile", profile)
    if key is not None:
        session.set_credentials(*key)
    if region is not None:
        session.set_config_variable("region", region)
    session.get_scoped_config()  # ProfileNotFound now, not at the first request
    from awslab import model_cache

    model_cache.install(session)
    return session


def __getattr__(name: str) -> Any:
    """`_BOTO_CONFIG` and `_STS_CONFIG`, made on first use (they need botocore)."""
    make = _CONFIGS.get(name)
    if make is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = globals()[name] = make()
    return value


def _config(name: str) -> Any:
    return globals().get(name) or __getattr__(name)


# botocore reads AWS_DEFAULT_PROFILE before AWS_PROFILE
PROFILE_VARIABLES = ("AWS_DEFAULT_PROFILE", "AWS_PROFILE")


@dataclass
class Target:
    kind: TargetKind
    region: str = DEFAULT_REGION
    endpoint_url: str | None = None
    profile: str | None = None
    local_port: int | None = None
    _session: Any = field(default=None, repr=False)
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    # Clients are built one at a time: building several at once in threads costs about twice
    # the CPU (the GIL), and each is built once and reused.
    _build_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _account_id: str | None = field(default=None, repr=False)
    _account_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    # The local cloud data this command works with (LocalStatus.identity; None when it is not
    # running), and whether this command started it empty. Set by the CLI; compared with what each
    # lab's state recorded: a reset (or a start without a snapshot) makes new data.
    local_cloud: dict[str, Any] | None = field(default=None, repr=False)
    local_cloud_started: bool = field(default=False, repr=False)
    local_cloud_since: str | None = field(default=None, repr=False)  # its LocalStatus.started_at
    # Called with every client this target builds, before its first request: `--explain` installs
    # its botocore event hooks here (awslab/explain/hook.py).
    on_client: Callable[[Any], None] | None = field(default=None, repr=False)

    # ---- construction -------------------------------------------------------------------
    @classmethod
    def select(
        cls,
        target: str | None = None,
        *,
        endpoint_url: str | None = None,
        profile: str | None = None,
        region: str | None = None,
        local_port: int | None = None,
    ) -> Target:
        """Resolve the target from options and environment. Never falls back to a real account:
        `aws` must be asked for by name (`--target aws` or AWSLAB_TARGET=aws)."""
        env_endpoint = os.environ.get("AWS_ENDPOINT_URL") or None
        name = (target or os.environ.get("AWSLAB_TARGET") or "").strip().lower()
        if not name:
            name = "endpoint" if endpoint_url or env_endpoint else "local"
        if name not in ("local", "aws", "endpoint"):
            raise UsageError(f"unknown target '{name}'", hint="use --target local or --target aws")
        asked = f"--target {name}" if target else f"AWSLAB_TARGET={name}"
        if name == "aws" and (endpoint_url or env_endpoint):
            # an endpoint is not AWS: never let a leftover variable send "aws" somewhere else
            what = "--endpoint-url is given" if endpoint_url else f"AWS_ENDPOINT_URL is set ({env_endpoint})"
            raise UsageError(
                f"{asked} asks for a real AWS account, but {what}",
                hint="unset it to use AWS, or use --target endpoint to use that endpoint",
            )
        if name != "local" and local_port:
            raise UsageError(f"--port is the local cloud's port; it does not apply to {asked}")
        if name == "local":
            # the local cloud has one fixed region and dummy credentials: these would be ignored
            for option, value, other in (
                ("--profile", profile, "aws"),
                ("--region", region, "aws"),
                ("--endpoint-url", endpoint_url, "endpoint"),
            ):
                if value:
                    raise UsageError(
                        f"{option} does not apply to the local cloud"
                        + ("" if target or os.environ.get("AWSLAB_TARGET") else ", the default target"),
                        hint=f"add --target {other} to use " + ("an AWS account" if other == "aws" else "it"),
                    )
            port = local_port or int(os.environ.get("AWSLAB_LOCAL_PORT") or DEFAULT_LOCAL_PORT)
            return cls(
                kind="local", region=DEFAULT_REGION, local_port=port, endpoint_url=f"http://127.0.0.1:{port}"
            )
        endpoint_url = endpoint_url or env_endpoint
        if name == "endpoint" and not endpoint_url:
            raise UsageError("--target endpoint needs --endpoint-url URL (or AWS_ENDPOINT_URL)")
        if endpoint_url and not re.match(r"^https?://[^/]+", endpoint_url):
            raise UsageError(f"endpoint URL '{endpoint_url}' is not an http(s) URL")
        region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        kind: TargetKind = "endpoint" if endpoint_url else "aws"
        t = cls(kind=kind, endpoint_url=endpoint_url.rstrip("/") if endpoint_url else None, profile=profile)
        t.region = region or t._profile_region() or DEFAULT_REGION
        return t

    def _profile_region(self) -> str | None:
        import botocore.exceptions

        try:
            region: str | None = _botocore_session(profile=self.profile).get_config_variable("region")
            return region
        except botocore.exceptions.ProfileNotFound as exc:
            raise self._profile_not_found() from exc

    def _profile_not_found(self) -> TargetError:
        """Name the profile that was asked for and where the name came from."""
        if self.profile:
            name, source, drop = self.profile, "--profile", "drop --profile"
        else:
            var = next((v for v in PROFILE_VARIABLES if os.environ.get(v)), "")
            name, source, drop = os.environ.get(var, ""), var or "the environment", f"unset {var}"
        files = " or ".join(
            os.environ.get(var) or f"~/.aws/{default}"
            for var, default in (
                ("AWS_CONFIG_FILE", "config"),
                ("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
            )
        )
        return TargetError(
            f"AWS profile '{name}' (from {source}) not found in {files}",
            hint=f"check the name ('aws configure list-profiles' lists them), or {drop}",
        )

    # ---- boto3 -------------------------------------------------------------------------
    @property
    def session(self) -> Any:
        with self._lock:
            if self._session is None:
                self._session = self._new_session()
            return self._session

    def _new_session(self) -> Any:
        import botocore.exceptions

        if self.kind == "local":
            return _botocore_session(key=(LOCAL_ACCESS_KEY, LOCAL_SECRET_KEY), region=self.region)
        if self.kind == "endpoint" and not self.profile and not _has_env_credentials():
            # An emulator accepts any key; a real endpoint behind it would reject these.
            try:
                creds = _botocore_session().get_credentials()
            except botocore.exceptions.BotoCoreError:  # a broken chain is no chain: use the dummy keys
                creds = None
            if creds is None:
                return _botocore_session(key=("testing", "testing"), region=self.region)
        try:
            return _botocore_session(profile=self.profile, region=self.region)
        except botocore.exceptions.ProfileNotFound as exc:
            raise self._profile_not_found() from exc

    def client(self, service: str) -> Any:
        """A cached, thread-safe boto3 client for `service` on this target, built once."""
        c = self._clients.get(service)
        if c is not None:
            return c
        with self._build_lock:
            c = self._clients.get(service)
            if c is None:
                c = self.session.create_client(
                    service,
                    endpoint_url=self.endpoint_url,
                    region_name=self.region,
                    config=_config("_BOTO_CONFIG"),
                )
                if self.on_client is not None:
                    self.on_client(c)
                with self._lock:
                    self._clients[service] = c
            return c

    @property
    def account_id(self) -> str:
        # asked once: threads predicting ARNs at the same moment wait for the one answer
        with self._account_lock:
            if self._account_id is None:
                self._account_id = LOCAL_ACCOUNT_ID if self.kind == "local" else self._caller_account()
            return self._account_id

    def _caller_account(self) -> str:
        """The account of the credentials, from STS with a short timeout and one retry. Errors
        name no account: describe() itself needs it (asking it there recursed)."""
        import botocore.exceptions

        with self._build_lock:  # one client at a time (see _build_lock), this one too
            sts = self.session.create_client(
                "sts", endpoint_url=self.endpoint_url, region_name=self.region, config=_config("_STS_CONFIG")
            )
        if self.on_client is not None:
            self.on_client(sts)
        try:
            return str(sts.get_caller_identity()["Account"])
        except botocore.exceptions.NoCredentialsError as exc:
            raise TargetError(
                "no AWS credentials found", hint="run 'aws configure', set AWS_PROFILE, or pass --profile"
            ) from exc
        except botocore.exceptions.ProfileNotFound as exc:
            raise self._profile_not_found() from exc
        except (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError) as exc:
            raise TargetError(
                f"cannot check the AWS credentials (STS): {exc} ({STS_IDENTITY_ATTEMPTS} attempts)",
                hint="check the network and any proxy, AWS_ENDPOINT_URL_STS, or --endpoint-url",
            ) from exc
        except botocore.exceptions.ClientError as exc:
            raise TargetError(
                f"the credentials were refused: {exc}", hint="refresh them (aws sso login, aws configure)"
            ) from exc

    # ---- identity of the target (state file name) ---------------------------------------
    @property
    def state_key(self) -> str:
        if self.kind == "local":
            return f"local-{self.local_port}"
        if self.kind == "endpoint":
            assert self.endpoint_url
            netloc = urlsplit(self.endpoint_url).netloc
            return "endpoint-" + re.sub(r"[^A-Za-z0-9.-]+", "_", netloc) + f"-{self.region}"
        return f"aws-{self.account_id}-{self.region}"

    def describe(self) -> str:
        if self.kind == "local":
            return f"the local cloud at {self.endpoint_url}"
        if self.kind == "endpoint":
            return f"the endpoint {self.endpoint_url} ({self.region})"
        return f"AWS account {self.account_id} in {self.region}"

    @property
    def needs_confirmation(self) -> bool:
        """Changes to a real account are confirmed by the user first (unless --yes)."""
        return self.kind == "aws"

    # ---- URLs --------------------------------------------------------------------------
    def api_url(self, api_id: str, stage: str) -> str:
        """Base URL of an API Gateway REST API stage (no trailing slash)."""
        if self.kind == "local":
            from awslab.local.urls import api_url

            assert self.endpoint_url
            return api_url(self.endpoint_url, api_id, stage)
        if self.kind == "endpoint":
            # LocalStack's form; plain moto serves no execute-api URLs (the local cloud does).
            return f"{self.endpoint_url}/restapis/{api_id}/{stage}/_user_request_"
        return f"https://{api_id}.execute-api.{self.region}.amazonaws.com/{stage}"

    def website_url(self, bucket: str) -> str:
        """URL of an S3 static website."""
        if self.kind == "local":
            from awslab.local.urls import website_url

            assert self.endpoint_url
            return website_url(self.endpoint_url, bucket)
        if self.kind == "endpoint":
            return f"{self.endpoint_url}/{bucket}/index.html"
        # us-east-1 and older regions use a dash, newer ones a dot; the dash form resolves in all
        # regions that existed before 2019, the dot form in all: use the dot form except these.
        dash_regions = {
            "us-east-1",
            "us-west-1",
            "us-west-2",
            "eu-west-1",
            "ap-southeast-1",
            "ap-southeast-2",
            "ap-northeast-1",
            "sa-east-1",
            "us-gov-west-1",
        }
        sep = "-" if self.region in dash_regions else "."
        return f"http://{bucket}.s3-website{sep}{self.region}.amazonaws.com"


def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL: what a browser sends as Origin."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _has_env_credentials() -> bool:
    return bool(os.environ.get("AWS_ACCESS_KEY_ID") or any(os.environ.get(v) for v in PROFILE_VARIABLES))
