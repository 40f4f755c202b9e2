"""Which AWS call a request to the local cloud is: service, operation, region, parameters.

Found the way moto finds it: the service from the SigV4 credential scope
(`Credential=KEY/DATE/REGION/SERVICE/aws4_request`), the operation from `X-Amz-Target` (JSON
protocols), from `Action` (query protocol) or, for REST protocols, by matching the method and path
against the `requestUri` templates of botocore's service model. The body is read only when a
behaviour asks for it, then put back for moto.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import parse_qs

_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/,\s]+)/([^/,\s]+)/aws4_request")
# signing name -> botocore's service name, for the services whose operations come from the path
_REST_SERVICES = {"lambda": "lambda", "apigateway": "apigateway"}
_QUERY_SERVICES = ("iam", "sqs")  # the query-protocol services the behaviours look at (SQS: older SDKs)


@dataclass
class Call:
    """One AWS API request as seen by the AWS-like layer."""

    environ: dict[str, Any]
    service: str  # the signing name: lambda, iam, dynamodb, apigateway, sqs, states...
    region: str
    operation: str | None
    path_params: dict[str, str] = field(default_factory=dict)
    _body: bytes | None = None

    @property
    def method(self) -> str:
        return str(self.environ.get("REQUEST_METHOD", "GET")).upper()

    @property
    def query(self) -> dict[str, str]:
        return {
            k: v[0] for k, v in parse_qs(self.environ.get("QUERY_STRING", ""), keep_blank_values=True).items()
        }

    def body(self) -> bytes:
        """The request body (read once; moto reads it again from a fresh stream)."""
        if self._body is None:
            self._body = read_body(self.environ)
            self.environ["wsgi.input"] = io.BytesIO(self._body)
            self.environ["CONTENT_LENGTH"] = str(len(self._body))
        return self._body

    def params(self) -> dict[str, Any]:
        """The body's parameters: a JSON object, or the form fields of a query-protocol call."""
        body = self.body()
        content_type = str(self.environ.get("CONTENT_TYPE", ""))
        if "x-www-form-urlencoded" in content_type:
            fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
            return {**self.query, **{k: v[0] for k, v in fields.items()}}
        if not body:
            return {}
        try:
            parsed = json.loads(body)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}

    def sibling(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """The environ of another JSON-protocol operation of the same service, signed the same way
        (moto does not check signatures): used to look something up before a call changes it."""
        target = str(self.environ.get("HTTP_X_AMZ_TARGET", ""))
        body = json.dumps(params).encode()
        environ = dict(self.environ)
        environ.update({"HTTP_X_AMZ_TARGET": f"{target.rsplit('.', 1)[0]}.{operation}",
                        "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))})  # fmt: skip
        return environ


def read_body(environ: dict[str, Any]) -> bytes:
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    length = str(environ.get("CONTENT_LENGTH") or "").strip()
    if length.isdigit():
        return bytes(stream.read(int(length))) if int(length) else b""
    if environ.get("wsgi.input_terminated"):  # chunked: the server marks where the body ends
        return bytes(stream.read())
    return b""


def identify(environ: dict[str, Any]) -> Call | None:
    """The call a signed AWS request makes; None for anything else (/moto-api, S3's SigV2...)."""
    scope = _SCOPE.search(str(environ.get("HTTP_AUTHORIZATION", "")))
    if scope is None:
        return None
    region, service = scope.group(1), scope.group(2)
    call = Call(environ, service, region, None)
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    if target:
        call.operation = target.rsplit(".", 1)[-1]
    elif service in _REST_SERVICES:
        found = router(_REST_SERVICES[service]).match(call.method, environ.get("PATH_INFO", ""), call.query)
        if found is not None:
            call.operation, call.path_params = found
    elif service in _QUERY_SERVICES:  # only these: another service's body may be large (an S3 object)
        call.operation = call.params().get("Action")
    return call


@dataclass(frozen=True)
class _Route:
    operation: str
    method: str
    pattern: re.Pattern[str]
    static_query: tuple[str, ...]  # keys the requestUri requires in the query string
    literal: int  # how specific the template is: its literal characters


class _Router:
    def __init__(self, routes: list[_Route]) -> None:
        self.routes = sorted(routes, key=lambda r: (len(r.static_query), r.literal), reverse=True)

    def operations(self) -> list[str]:
        return sorted({route.operation for route in self.routes})

    def match(self, method: str, path: str, query: dict[str, str]) -> tuple[str, dict[str, str]] | None:
        for route in self.routes:
            if route.method != method or any(key not in query for key in route.static_query):
                continue
            found = route.pattern.fullmatch(path)
            if found is not None:
                return route.operation, found.groupdict()
        return None


@cache
def router(service: str) -> _Router:
    """Routes from botocore's model of `service` (loaded once per process)."""
    import botocore.session

    model = botocore.session.get_session().get_service_model(service)
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        path, _, query = http["requestUri"].partition("?")
        regex, literal = "", 0
        for piece in re.split(r"(\{[^}]+\})", path.rstrip("/") or "/"):
            if piece.startswith("{"):
                label = piece.strip("{}")
                greedy = label.endswith("+")
                regex += f"(?P<{label.rstrip('+')}>{'.+' if greedy else '[^/]+'})"
            else:
                regex += re.escape(piece)
                literal += len(piece)
        static = tuple(k for k in (p.partition("=")[0] for p in query.split("&")) if k)
        routes.append(_Route(name, http["method"], re.compile(regex + "/?"), static, literal))
    return _Router(routes)
