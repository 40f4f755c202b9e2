"""Fixtures for the Lambda handler tests (builders live in tests/handlers/events.py)."""

from __future__ import annotations

import pytest

from tests.handlers.events import LambdaContext


@pytest.fixture
def lambda_context() -> LambdaContext:
    return LambdaContext()
