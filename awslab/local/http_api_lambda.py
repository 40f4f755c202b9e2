"""Invoking a function for an HTTP API route or a function URL, through moto's Lambda backend (which
reaches the Docker-free executor), and the resource-policy checks AWS makes first.

- An HTTP API route invokes only if the policy lets apigateway.amazonaws.com do it for the route's
  ARN (apigw_proxy.invoke_permitted, the REST front's check).
- A function URL with auth NONE is public only through the policy AWS requires (since October
  2025 for new URLs): lambda:InvokeFunctionUrl for principal `*` (FunctionUrlAuthType NONE) and
  lambda:InvokeFunction for `*` when invoked via a function URL. A policy stated as AWS returns it
  (Condition blocks) and as moto keeps it (the AddPermission fields as keys) both count.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from awslab.local import iam_match

_AUTH_TYPE_KEY = "lambda:functionurlauthtype"
_VIA_URL_KEY = "lambda:invokedviafunctionurl"


@dataclass(frozen=True)
class Invoked:
    payload: bytes
    function_error: bool


class FunctionNotFound(LookupError):
    pass


def get_function(fn_ref: str, account: str, region: str) -> Any:
    """moto's function for a name or ARN; FunctionNotFound when there is none."""
    from moto.awslambda.exceptions import LambdaClientError
    from moto.awslambda.utils import get_backend

    if fn_ref.startswith("arn:") and len(fn_ref.split(":")) > 6:
        parts = fn_ref.split(":")
        account, region = parts[4], parts[3]
    try:
        return get_backend(account, region).get_function(fn_ref)
    except LambdaClientError as exc:
        raise FunctionNotFound(str(exc)) from exc


def statements(fn: Any) -> list[dict[str, Any]]:
    found = getattr(getattr(fn, "policy", None), "statements", None) or []
    return [s for s in found if isinstance(s, dict)]


def invoke(fn: Any, event: dict[str, Any]) -> Invoked:
    """A synchronous invoke with `event`; exceptions of the invoke itself propagate."""
    from moto.awslambda.utils import get_backend

    backend = get_backend(fn.account_id, fn.region)
    response_headers: dict[str, str] = {}
    payload = backend.invoke(fn.function_arn, None, json.dumps(event), {}, response_headers)
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    return Invoked(payload or b"null", "x-amz-function-error" in response_headers)


# ---- function URL permissions ---------------------------------------------------------------
def _public(principal: Any) -> bool:
    if principal == "*":
        return True
    return isinstance(principal, dict) and "*" in iam_match.listed(principal.get("AWS"))


def _conditions(st: dict[str, Any]) -> dict[str, list[str]]:
    """Condition keys (lowercased) -> accepted values, from AWS's Condition blocks and moto's raw keys."""
    out: dict[str, list[str]] = {}
    for block in (st.get("Condition") or {}).values():
        if isinstance(block, dict):
            for key, value in block.items():
                out[key.lower()] = [str(v).lower() for v in iam_match.listed(value)]
    if "FunctionUrlAuthType" in st:
        out[_AUTH_TYPE_KEY] = [str(st["FunctionUrlAuthType"]).lower()]
    if "InvokedViaFunctionUrl" in st:
        out[_VIA_URL_KEY] = [str(st["InvokedViaFunctionUrl"]).lower()]
    return out


def _grants(stmts: Iterable[dict[str, Any]], action: str, auth_type: str) -> bool:
    for st in stmts:
        if st.get("Effect", "Allow") != "Allow" or not _public(st.get("Principal")):
            continue
        if not iam_match.names_action(st.get("Action"), action):
            continue
        conditions = _conditions(st)
        if auth_type.lower() not in conditions.get(_AUTH_TYPE_KEY, [auth_type.lower()]):
            continue
        if action == "lambda:invokefunction" and "true" not in conditions.get(_VIA_URL_KEY, ["true"]):
            continue
        unknown = set(conditions) - {_AUTH_TYPE_KEY, _VIA_URL_KEY}
        if unknown:  # e.g. a source IP or account condition: not what a public URL needs
            continue
        return True
    return False


def public_url_permitted(stmts: Iterable[dict[str, Any]]) -> bool:
    """Whether a NONE function URL may be called by anyone: both statements AWS requires."""
    listed = list(stmts)
    return _grants(listed, "lambda:invokefunctionurl", "NONE") and _grants(
        listed, "lambda:invokefunction", "NONE"
    )
