"""Defaults of the exercise commands, kept apart from the code that uses them: `--help` shows
them, and must not import that code (it needs boto3)."""

from __future__ import annotations

EFFECTS_TIMEOUT = 15.0  # seconds to wait for what a message or an upload causes downstream
EXECUTION_TIMEOUT = 60.0  # seconds to wait for a state machine's execution to end
LOGS_SINCE = "10m"  # how far back `awslab logs` reads

# Kinds whose `url` attribute takes HTTP requests (`awslab call`, `call:` checks): the REST API
# kind, and the HTTP API and function URL kinds where they exist.
HTTP_KINDS = ("apigateway.rest_api", "apigateway.http_api", "lambda.url")
