"""moto's API Gateway without openapi_spec_validator until an OpenAPI document is validated
(awslab.local.lazy_imports); the validation answers as before. In a subprocess: the import is
process-wide."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys
from awslab.local.lazy_imports import import_apigateway_models

import_apigateway_models()
assert "moto.apigateway.models" in sys.modules
assert "openapi_spec_validator" not in sys.modules, "imported at start"
from moto.apigateway.exceptions import InvalidOpenAPIDocumentException
from moto.apigateway.models import APIGatewayBackend

backend = APIGatewayBackend("us-east-1", "123456789012")
doc = {"openapi": "3.0.0", "info": {"title": "t", "description": "d", "version": "1"}, "paths": 5}
try:
    backend.import_rest_api(doc, fail_on_warnings=True)
except InvalidOpenAPIDocumentException as exc:
    assert "Failed to parse the uploaded OpenAPI document due to: 5 is not of type 'object'" in exc.message, exc.message
else:
    raise AssertionError("an invalid document was accepted")
assert "openapi_spec_validator" in sys.modules  # the real one, on first use
good = {**doc, "paths": {}}
assert backend.import_rest_api(good, fail_on_warnings=True).name == "t"
print("ok")
"""


def test_openapi_validation_is_deferred_and_unchanged() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
