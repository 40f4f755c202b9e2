"""Lambda function URLs in the local cloud: moto keeps each function's URL config; this serves
`urls.LAMBDA_URL_PREFIX/<url id>/<path>` as `https://<url id>.lambda-url.<region>.on.aws/<path>`.

As on AWS: CORS preflights are answered by Lambda itself when the URL has a CORS configuration;
an `AWS_IAM` URL refuses a request without an AWS signature (SigV4 for the `lambda` service) with
403 {"Message":"Forbidden"}, and a `NONE` URL whose function policy does not make it public
(http_api_lambda.public_url_permitted) likewise; an unknown URL id is 403 {"Message":null}. The
function gets a payload format 2.0 event (routeKey and stage `$default`; `requestContext.authorizer.iam`
with the caller's key for AWS_IAM), its answer is read as the 2.0 format is (http_api_events), and
a function error is 502 "Internal Server Error". Signatures are not verified and the caller's IAM
policy is not evaluated (the local cloud evaluates no IAM policy); response streaming is not served.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from awslab.local import http_api_lambda as lam
from awslab.local.apigw_proxy import (
    HttpRequest,
    HttpResponse,
    MalformedProxyResponse,
    RequestIds,
    header_value,
)
from awslab.local.http_api_events import (
    DEFAULT_ROUTE,
    Cors,
    EventContext,
    build_v2_event,
    is_preflight,
    json_error,
    map_v2_response,
    preflight_response,
    with_cors,
)

log = logging.getLogger("awslab.local.function_urls")

_SIGNED = re.compile(
    r"^AWS4-(?:HMAC-SHA256|ECDSA-P256-SHA256) .*Credential=(?P<key>[^/,\s]+)/[^,\s]*?/lambda/aws4_request"
)
_DENIED = [("x-amzn-ErrorType", "AccessDeniedException")]


def find_function_url(url_id: str) -> tuple[Any, dict[str, Any], str] | None:
    """(moto's function, its URL config, the URL's host) for a URL id, or None."""
    from moto.awslambda.models import lambda_backends

    wanted = url_id.lower()  # AWS's ids are lowercase; hosts are case-insensitive
    for _ in range(3):  # another thread may create a backend while we look
        try:
            backends: list[tuple[str, str, Any]] = list(lambda_backends.iter_backends())
            for _account, _region, backend in backends:
                for group in list(backend._lambdas._functions.values()):
                    fn = group["latest"]
                    config = getattr(fn, "url_config", None)
                    if config is None:
                        continue
                    host = config.url.split("://", 1)[-1].split("/", 1)[0]
                    if host.split(".", 1)[0].lower() == wanted:
                        return fn, dict(config.config), host
            return None
        except RuntimeError:
            continue
    return None


def caller_identity(req: HttpRequest, account: str, region: str) -> dict[str, Any] | None:
    """The `authorizer.iam` of a request signed for Lambda, None when it is not signed so."""
    signed = _SIGNED.match(header_value(req.headers, "Authorization") or "")
    if signed is None:
        return None
    from moto.utilities.utils import get_partition

    key = signed.group("key")
    return {
        "accessKey": key,
        "accountId": account,
        "callerId": key,
        "cognitoIdentity": None,
        "principalOrgId": None,
        "userArn": f"arn:{get_partition(region)}:iam::{account}:root",
        "userId": account,
    }


class FunctionUrlFront:
    def handle(self, req: HttpRequest, url_id: str, ids: RequestIds, now: float) -> HttpResponse:
        """`req.path` is the path after the URL id (still percent-encoded)."""
        found = find_function_url(url_id)
        extra = [("x-amzn-RequestId", ids.request_id)]
        if found is None:
            return json_error(403, None, key="Message", extra=[*_DENIED, *extra])
        fn, config, host = found
        cors = Cors.from_config(config.get("Cors"))
        if cors is not None and is_preflight(req):
            return preflight_response(cors, req, extra)
        where = f"{req.method} {req.path} (function URL of {fn.function_name})"
        authorizer = None
        account = "anonymous"
        if config.get("AuthType") == "AWS_IAM":
            iam = caller_identity(req, fn.account_id, fn.region)
            if iam is None:
                log.warning("%s: 403: AWS_IAM and the request is not signed for lambda", where)
                return json_error(403, "Forbidden", key="Message", extra=[*_DENIED, *extra])
            authorizer, account = {"iam": iam}, fn.account_id
        elif not lam.public_url_permitted(lam.statements(fn)):
            log.warning("%s: 403: auth NONE but the function's policy does not let '*' invoke it "
                        "(lambda:InvokeFunctionUrl and lambda:InvokeFunction)", where)  # fmt: skip
            return json_error(403, "Forbidden", key="Message", extra=[*_DENIED, *extra])
        ctx = EventContext(account, host.split(".", 1)[0], host, ids.request_id, DEFAULT_ROUTE, authorizer)
        event = build_v2_event(req, ctx, route_key=DEFAULT_ROUTE, raw_path=req.path or "/", now=now)
        traced = [*extra, ("X-Amzn-Trace-Id", ids.trace_id)]
        try:
            invoked = lam.invoke(fn, event)
            if invoked.function_error:
                log.warning("%s: 502: the function raised: %r", where, invoked.payload[:300])
            else:
                mapped = map_v2_response(invoked.payload)
                return with_cors(
                    cors, req, HttpResponse(mapped.status, [*mapped.headers, *traced], mapped.body)
                )
        except MalformedProxyResponse as exc:
            log.warning("%s: 502: malformed response: %s", where, exc)
        except Exception:  # whatever went wrong, the caller gets Lambda's 502; the log keeps the traceback
            log.exception("%s: 502: the invoke failed", where)
        return HttpResponse(502, [("content-type", "text/plain"), *traced], b"Internal Server Error")
