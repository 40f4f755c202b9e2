"""moto made to answer as AWS does where the difference would make awslab's engine work around
moto instead of handling AWS. Installed process-wide by the local cloud's server and by the
tests that drive moto in-process, so both behave as the real service.

- DeleteRestApi of an API that does not exist: AWS answers 404 NotFoundException "Invalid Rest
  API Id specified" (API Gateway's API reference, DeleteRestApi errors); moto 5.2.5 pops it from a
  dict and fails with a KeyError (a 500 from the server). A retried delete whose first answer was
  lost meets exactly this.
- Resource ids: on AWS a REST API's root resource has a 10-character id and every other resource
  a 6-character one (lowercase letters and digits, e.g. `2jf6xt`); moto gives all of them 10.
  Handlers see it as `requestContext.resourceId`.
"""

from __future__ import annotations

from typing import Any

_MARK = "_awslab_fidelity"


def install() -> None:
    """Patch moto's backends (idempotent)."""
    from moto.apigateway.models import APIGatewayBackend

    if getattr(APIGatewayBackend.delete_rest_api, _MARK, False):
        return
    _short_resource_ids()
    original = APIGatewayBackend.delete_rest_api

    def delete_rest_api(self: Any, function_id: str) -> Any:
        self.get_rest_api(function_id)  # RestAPINotFound (404 NotFoundException), as AWS
        return original(self, function_id)

    setattr(delete_rest_api, _MARK, True)
    APIGatewayBackend.delete_rest_api = delete_rest_api  # type: ignore[method-assign]


def _short_resource_ids() -> None:
    from moto.apigateway.utils import ApigwResourceIdentifier
    from moto.utilities.id_generator import generate_str_id

    original = ApigwResourceIdentifier.generate

    def generate(self: Any, existing_ids: Any = None, tags: Any = None) -> str:
        if self.name.startswith("."):  # "<parent id>.<path part>": the root has no parent
            return str(original(self, existing_ids, tags))
        return str(
            generate_str_id(
                resource_identifier=self,
                existing_ids=existing_ids,
                tags=tags,
                length=6,
                include_digits=True,
                lower_case=True,
            )
        )

    ApigwResourceIdentifier.generate = generate  # type: ignore[method-assign]
