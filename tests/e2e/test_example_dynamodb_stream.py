"""examples/dynamodb-stream.yaml on the local cloud, through the real CLI: `up`, its checks (a
table's stream reaching a function through a filter, a failing record retried then reported to the
on-failure queue), `teardown`, and nothing of it left."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import REPO, Cli
from tests.e2e.examples import status_then_teardown, up_and_check

pytestmark = pytest.mark.e2e
SPEC = str(REPO / "examples" / "dynamodb-stream.yaml")


def test_dynamodb_stream_example(local_cli: Cli) -> None:
    cli = local_cli
    up_and_check(cli, SPEC, 6)

    status_then_teardown(cli, "dynamodb-stream")
