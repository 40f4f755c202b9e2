"""moto made to answer as AWS does where the difference would make awslab's engine work around
moto instead of handling AWS. Installed process-wide by the local cloud's server and by the
tests that drive moto in-process, so both behave as the real service.

- DeleteRestApi of an API that does not exist: AWS answers 404 NotFoundException "Invalid Rest
  API Id specified" (API Gateway's API reference, DeleteRestApi errors); moto 5.2.5 pops it from a
  dict and fails with a KeyError (a 500 from the server). A retried delete whose first answer was
  lost meets exactly this.
"""

from __future__ import annotations

from typing import Any

_MARK = "_awslab_fidelity"


def install() -> None:
    """Patch moto's backends (idempotent)."""
    from moto.apigateway.models import APIGatewayBackend

    if getattr(APIGatewayBackend.delete_rest_api, _MARK, False):
        return
    original = APIGatewayBackend.delete_rest_api

    def delete_rest_api(self: Any, function_id: str) -> Any:
        self.get_rest_api(function_id)  # RestAPINotFound (404 NotFoundException), as AWS
        return original(self, function_id)

    setattr(delete_rest_api, _MARK, True)
    APIGatewayBackend.delete_rest_api = delete_rest_api  # type: ignore[method-assign]
