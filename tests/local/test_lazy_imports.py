"""moto's imports the local cloud defers (awslab.local.lazy_imports): API Gateway without
openapi_spec_validator until an OpenAPI document is validated, which answers as before; the Step
Functions interpreter without moto's Batch and EC2 models. In subprocesses: imports are
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


BATCH_SCRIPT = """
import json, sys
from awslab.local.lazy_imports import preload_batch_utils

preload_batch_utils()
assert "moto.batch" not in sys.modules and "moto.batch.utils" in sys.modules
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

# moto's Step Functions interpreter, with its Batch task state, without moto's Batch and EC2 models
assert "moto.batch" not in sys.modules and "moto.ec2" not in sys.modules, "moto.batch's package was imported"
definition = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": {"x": 1}, "End": True}}}
program, _ = AmazonStateLanguageParser.parse(json.dumps(definition))
assert program is not None
utils = sys.modules["moto.batch.utils"]
import moto.batch  # on its first use the package imports in full, and takes the same modules
from moto.batch.models import JobStatus
assert moto.batch.batch_backends is not None and JobStatus is utils.JobStatus
print("ok")
"""


def test_the_step_functions_interpreter_does_not_import_moto_batch_and_ec2() -> None:
    done = subprocess.run([sys.executable, "-c", BATCH_SCRIPT], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
