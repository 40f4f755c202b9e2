"""An in-process AWS-like layer in front of moto's server app, on a clock the tests move, served
on a free port so boto3 drives it exactly as it drives the local cloud."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from awslab.local.like_aws.middleware import LikeAwsMiddleware
from awslab.local.like_aws.settings import LikeAws


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class LikeAwsServer:
    endpoint: str
    clock: FakeClock
    app: LikeAwsMiddleware

    def client(self, service: str, *, retries: bool = False) -> Any:
        """A boto3 client; without retries, so that every AWS error shows on the first answer."""
        config = Config(retries={"total_max_attempts": 1}) if not retries else None
        return boto3.client(service, endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id="awslab", aws_secret_access_key="awslab-local",
                            config=config)  # fmt: skip


@contextmanager
def like_aws_server(settings: LikeAws | None = None) -> Iterator[LikeAwsServer]:
    from werkzeug.serving import make_server

    from awslab.local.server import moto_dispatcher

    clock = FakeClock()
    app = LikeAwsMiddleware(moto_dispatcher(), settings or LikeAws(), clock=clock)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield LikeAwsServer(f"http://127.0.0.1:{server.server_port}", clock, app)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
