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
- TagResource / UntagResource / GetTags of a REST API (`arn:...:apigateway:<region>::/restapis/<id>`):
  AWS tags the API; moto 5.2.5 reads every such ARN as a stage's and fails (NotFoundException),
  and its server routes no such path (a 404 page).
"""

from __future__ import annotations

from typing import Any

_MARK = "_awslab_fidelity"


def install() -> None:
    """Patch moto's backends (idempotent)."""
    from moto.apigateway.models import APIGatewayBackend

    from awslab.local import express_executions, request_checks

    request_checks.install()  # requests AWS refuses and moto takes (its own module doc)
    express_executions.install()  # StartSyncExecution; no history of EXPRESS executions
    if getattr(APIGatewayBackend.delete_rest_api, _MARK, False):
        return
    _short_resource_ids()
    _rest_api_tags()
    original = APIGatewayBackend.delete_rest_api

    def delete_rest_api(self: Any, function_id: str) -> Any:
        self.get_rest_api(function_id)  # RestAPINotFound (404 NotFoundException), as AWS
        return original(self, function_id)

    setattr(delete_rest_api, _MARK, True)
    APIGatewayBackend.delete_rest_api = delete_rest_api  # type: ignore[method-assign]


def _rest_api_tags() -> None:
    import json
    from urllib.parse import unquote

    from moto.apigateway import urls
    from moto.apigateway.responses import APIGatewayResponse

    # the server's route (the ARN's slashes arrive decoded); read when its app is made, after this
    api_path = "{0}/tags/arn:(?P<partition>[^/]+):apigateway:(?P<region_name>[^/]+)::/restapis/(?P<function_id>[^/]+)$"
    urls.url_paths.setdefault(api_path, APIGatewayResponse.dispatch)

    def api_of(self: Any) -> Any:
        parts = unquote(self.path.split("/tags/")[1]).split("/")
        return self.backend.get_rest_api(parts[-1]) if parts[-2] == "restapis" else None

    def wrap(name: str, on_api: Any) -> None:
        original = getattr(APIGatewayResponse, name)

        def call(self: Any) -> Any:
            api = api_of(self)
            return original(self) if api is None else on_api(self, api)

        setattr(APIGatewayResponse, name, call)

    def tag(self: Any, api: Any) -> str:
        api.tags = {**(api.tags or {}), **(self._get_param("tags") or {})}
        return json.dumps({})

    def untag(self: Any, api: Any) -> str:
        keys = self.querystring.get("tagKeys") or []
        api.tags = {k: v for k, v in (api.tags or {}).items() if k not in keys}
        return json.dumps({})

    wrap("tag_resource", tag)
    wrap("untag_resource", untag)
    wrap("get_tags", lambda self, api: json.dumps({"tags": api.tags or {}}))


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
