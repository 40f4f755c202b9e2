"""moto's imports the local cloud defers to their first use.

moto's API Gateway imports openapi_spec_validator at module level (about 0.25 s of CPU and 15 MB,
with jsonschema and pydantic-settings) for one thing: validating an OpenAPI document given to
ImportRestApi or PutRestApi with failonwarnings. `import_apigateway_models` imports moto's API
Gateway with stand-ins for the two names it takes from that package: a `validate` that imports the
real package on its first call and runs it, and an `OpenAPIValidationError` that the real error is
turned into, with the same `message` (moto's 400 quotes it). The stand-ins are in sys.modules only
during that one import, so anything else importing the package gets the real one.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any

_PACKAGE = "openapi_spec_validator"
_STAND_INS = (_PACKAGE, f"{_PACKAGE}.validation", f"{_PACKAGE}.validation.exceptions")


class OpenAPIValidationError(Exception):
    """What moto catches in place of openapi_spec_validator's error of that name."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def validate(spec: Any, *args: Any, **kwargs: Any) -> Any:
    """openapi_spec_validator.validate, imported now; its error as the OpenAPIValidationError above."""
    real = importlib.import_module(_PACKAGE)
    real_error: type[Exception] = importlib.import_module(_STAND_INS[2]).OpenAPIValidationError
    try:
        return real.validate(spec, *args, **kwargs)
    except real_error as exc:
        raise OpenAPIValidationError(str(getattr(exc, "message", exc))) from exc


def import_apigateway_models() -> None:
    """Import moto.apigateway.models without openapi_spec_validator (see module doc). Call it first
    thing, before anything else imports moto's API Gateway or that package (else a plain import)."""
    if "moto.apigateway.models" in sys.modules or any(name in sys.modules for name in _STAND_INS):
        importlib.import_module("moto.apigateway.models")
        return
    package, validation, exceptions = (types.ModuleType(name) for name in _STAND_INS)
    package.validate = validate  # type: ignore[attr-defined]
    package.validation = validation  # type: ignore[attr-defined]
    validation.exceptions = exceptions  # type: ignore[attr-defined]
    exceptions.OpenAPIValidationError = OpenAPIValidationError  # type: ignore[attr-defined]
    sys.modules.update(zip(_STAND_INS, (package, validation, exceptions), strict=True))
    try:
        importlib.import_module("moto.apigateway.models")
    finally:
        for name in _STAND_INS:
            sys.modules.pop(name, None)


# moto's Step Functions interpreter (which runs the labs' state machines) takes one enum, JobStatus,
# from moto.batch.utils for its Batch task states. Imported the usual way, that runs moto.batch's
# package, whose models import moto.ec2's instance types, AMIs and regions: about 0.45 s of the first
# Step Functions request and 110 MB of the local cloud's memory, for a service no lab calls.
_BATCH = "moto.batch"
_BATCH_LIGHT = ("moto.batch.exceptions", "moto.batch.utils")  # two small modules; utils needs exceptions


def preload_batch_utils() -> None:
    """Import moto.batch's utils and exceptions without the package's __init__ (see above): with a
    stand-in for the package during these two imports only. A later import of them finds them in
    sys.modules and leaves the package alone; moto.batch itself, imported on its first use, runs in
    full and takes these same modules, though not as attributes of the package (`from
    moto.batch.utils import X`, moto's own way, works; `moto.batch.utils.X` does not). Call it at
    boot, before anything imports moto.batch."""
    if _BATCH in sys.modules or any(name in sys.modules for name in _BATCH_LIGHT):
        return
    spec = importlib.util.find_spec(_BATCH)
    if spec is None:
        return
    sys.modules[_BATCH] = importlib.util.module_from_spec(spec)  # its __path__, not its __init__
    try:
        for name in _BATCH_LIGHT:
            importlib.import_module(name)
    finally:
        sys.modules.pop(_BATCH, None)
