"""`awslab postman LAB`: a Postman collection (format v2.1) for a deployed lab's HTTP APIs.

Each REST API, HTTP API and function URL of the lab gets its base URL as a collection variable,
taken from the deployed state. The lab's `call:` checks become requests, in the checks' order so a
create-then-read sequence works, each with tests made from its `expect` (status, JSON subset, body
text) and, when the API has CORS, an `Origin` header and a test of `Access-Control-Allow-Origin`.
An API with CORS also gets a preflight request first; the routes no check calls get an example
request each, in a folder after the checks.

The other check actions (send-message, publish, ...) are not HTTP: they are left out, and so is a
test whose expected value only such a check produced (it shows in newman as skipped, named). A
GET is asked again, 1 s apart, while its status is not the expected one: a write that went through
a queue shows up a moment later, as it would for a learner clicking Send again.
"""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from awslab.errors import UsageError
from awslab.exercise.actions import Check
from awslab.exercise.defaults import HTTP_KINDS
from awslab.local.apigw_proxy import match_route as apigw_match_route
from awslab.references import resolve
from awslab.resources.base import Record
from awslab.spec import LabSpec
from awslab.state import LabState

SCHEMA = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
EXAMPLE_ORIGIN = "https://example.com"  # sent to an API that allows any origin
RETRIES = 10  # a GET is sent at most this many times while its status differs
RETRY_MS = 1000
ATTEMPT_VAR = "awslabAttempt"  # the retry counter, set only while a GET is being retried
_SAFE = frozenset({"GET", "HEAD"})
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_PARAM = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_]*)(\+?)\}\Z")
_MIN_NEEDLE = 3  # shorter strings are too common to say where they came from
_OTHER_ROUTES = "More routes (examples; no check calls them)"


@dataclass(frozen=True)
class HttpApi:
    """One HTTP endpoint of the lab: its kind, base URL, routes and CORS, and its variables."""

    logical: str
    kind: str
    url: str
    routes: tuple[tuple[str, str], ...]  # (METHOD or ANY, /path/{param}); () for a function URL
    origins: tuple[str, ...]  # the CORS allowed origins; () without CORS
    signed: bool  # an AWS_IAM function URL: requests need SigV4
    url_var: str
    origin_var: str

    @property
    def wildcard(self) -> bool:
        return "*" in self.origins

    @property
    def origin(self) -> str:
        """The origin the requests send."""
        return EXAMPLE_ORIGIN if self.wildcard else self.origins[0]


@dataclass
class PostmanCollection:
    """The collection (`data`, JSON-ready) and what it holds."""

    lab: str
    data: dict[str, Any]
    requests: int  # requests in the collection
    tests: int  # pm.test calls (skipped ones included)
    variables: dict[str, str]  # collection variables -> values (the secret key masked)
    left_out: list[str] = field(default_factory=list)  # checks that are not HTTP requests


@dataclass
class _Item:
    name: str
    request: dict[str, Any]
    script: list[str]
    tests: int


# ---- the lab's APIs -------------------------------------------------------------------------
def http_apis(spec: LabSpec, state: LabState) -> list[HttpApi]:
    """Every created HTTP endpoint of the deployed lab, by logical name."""
    attrs = {name: r.attrs for name, r in state.resources.items()}
    records = sorted(
        (r for r in state.resources.values() if r.kind in HTTP_KINDS and r.status == "created"),
        key=lambda r: r.logical,
    )
    records = [r for r in records if r.attrs.get("url")]
    several = len(records) > 1
    out = []
    for record in records:
        fields = spec.resources[record.logical].fields if record.logical in spec.resources else {}
        suffix = f"_{re.sub(r'[^A-Za-z0-9]', '_', record.logical)}" if several else ""
        out.append(
            HttpApi(
                logical=record.logical,
                kind=record.kind,
                url=str(record.attrs["url"]).rstrip("/"),
                routes=_routes(record, fields),
                origins=_origins(fields, attrs),
                signed=record.kind == "lambda.url" and str(fields.get("auth", "AWS_IAM")) == "AWS_IAM",
                url_var=f"baseUrl{suffix}",
                origin_var=f"origin{suffix}",
            )
        )
    return out


def _routes(record: Record, fields: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    keys = list(fields.get("routes") or record.attrs.get("routes") or [])
    out = []
    for key in keys:
        text = str(key).strip()
        if text == "$default":  # HTTP API's catch-all route
            out.append(("ANY", "/"))
            continue
        method, _, path = text.partition(" ")
        out.append((method.upper(), path.strip() or "/"))
    return tuple(out)


def _origins(fields: Mapping[str, Any], attrs: Mapping[str, Mapping[str, Any]]) -> tuple[str, ...]:
    cors = fields.get("cors")
    if not isinstance(cors, Mapping):
        return ()
    try:
        found = resolve(cors.get("allow_origins") or [], attrs)
    except KeyError:  # an attribute the state does not have (an older awslab wrote it): no CORS tests
        return ()
    values = found if isinstance(found, list) else [found]
    return tuple(_origin_of(str(v).strip()) for v in values if str(v).strip())


def _origin_of(value: str) -> str:
    from awslab.target import origin_of

    return origin_of(value) if "://" in value else value


# ---- paths and routes -----------------------------------------------------------------------
def _segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s]


def match_route(api: HttpApi, method: str, path: str) -> tuple[str, str] | None:
    """The API's route that serves METHOD path (the most specific one when several do), as the
    local cloud's gateway routes it."""
    resources: dict[str, list[str]] = {}
    for r_method, r_path in api.routes:
        resources.setdefault(r_path, []).append(r_method)
    bare = path.partition("?")[0]
    found = apigw_match_route(resources, bare if bare.startswith("/") else f"/{bare}", method)
    return (found.method_key, found.resource_path) if found else None


def _url(
    api: HttpApi, path: str, route: tuple[str, str] | None, examples: Mapping[str, str]
) -> dict[str, Any]:
    """A Postman URL: `{{baseUrl}}`, the path with the route's parameters as `:name` path variables
    (their values from `path`, or `examples` for a route template), and the query."""
    path, _, query = path.partition("?")
    parts = _segments(path)
    out_path: list[str] = []
    variables: list[dict[str, Any]] = []
    template = _segments(route[1]) if route else []
    for i, seg in enumerate(template):
        param = _PARAM.match(seg)
        if param is None:
            out_path.append(seg)
        elif param.group(2):  # greedy: the concrete rest of the path
            out_path.extend(parts[i:] if parts else ["example", "path"])
            break
        else:
            name = param.group(1)
            value = parts[i] if parts else examples.get(name, f"example-{name}")
            out_path.append(f":{name}")
            variables.append({"key": name, "value": value, "description": f"the route's {{{name}}}"})
    if not template:
        out_path = parts
    url: dict[str, Any] = {
        "raw": "{{" + api.url_var + "}}/" + "/".join(out_path) + (f"?{query}" if query else ""),
        "host": ["{{" + api.url_var + "}}"],
        "path": out_path,
    }
    if query:
        url["query"] = [
            {"key": k, "value": v} for k, _, v in (pair.partition("=") for pair in query.split("&") if pair)
        ]
    if variables:
        url["variable"] = variables
    return url


# ---- what a check produced, and what only a left-out check did ----------------------------------
def _strings(value: Any) -> Iterable[str]:
    """The values' strings only: awslab.references.strings yields the keys too, and a key such as
    `status` in a left-out check would mark an expected value as coming from it."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)


@dataclass
class _Provenance:
    """The text of the requests sent so far and of the checks left out so far: an expected value
    found only in the latter came from a step this collection does not make."""

    sent: list[str] = field(default_factory=list)
    left_out: list[tuple[str, str]] = field(default_factory=list)  # (check label, its text)

    def source(self, needle: str) -> str | None:
        """The left-out check an expected string comes from, when no request sent it."""
        if len(needle) < _MIN_NEEDLE or any(needle in text for text in self.sent):
            return None
        return next((label for label, text in self.left_out if needle in text), None)


def _check_text(check: Check, attrs: Mapping[str, Mapping[str, Any]]) -> str:
    fields = check.model_dump(mode="json", exclude={"expect", "name"})
    with contextlib.suppress(KeyError):  # a reference to what the lab no longer has: its text will do
        fields = resolve(fields, attrs)
    return json.dumps(fields, default=str)


def _label(index: int, check: Check) -> str:
    return f"check {index} '{check.name or check.handler.describe(check)}' ({check.action_key})"


# ---- tests ----------------------------------------------------------------------------------
def _js(value: Any) -> str:
    """A JavaScript literal (JSON, with U+2028/2029 escaped by ensure_ascii)."""
    return json.dumps(value)


def _accessor(path: list[str]) -> str:
    return "body" + "".join(f"?.[{_js(p)}]" for p in path)


def _leaves(expected: Any, path: list[str]) -> list[tuple[list[str], Any]]:
    if isinstance(expected, Mapping) and expected:
        return [leaf for k, v in expected.items() for leaf in _leaves(v, [*path, str(k)])]
    return [(path, expected)]


# The subset match of `awslab check` (awslab/exercise/checks.py) for what holds a list: an object
# matches when every key it names matches; a list when each expected element matches an element
# of its own, in any order.
_SUBSET_JS = [
    "function matches(expected, actual) {",
    "    if (Array.isArray(expected)) {",
    "        if (!Array.isArray(actual)) return false;",
    "        const owner = new Map();  // actual index -> expected index",
    "        const assign = (i, tried) => actual.some((a, j) => {",
    "            if (tried.has(j) || !matches(expected[i], a)) return false;",
    "            tried.add(j);",
    "            if (owner.has(j) && !assign(owner.get(j), tried)) return false;",
    "            owner.set(j, i);",
    "            return true;",
    "        });",
    "        return expected.every((_, i) => assign(i, new Set()));",
    "    }",
    "    if (expected !== null && typeof expected === 'object') {",
    "        return actual !== null && typeof actual === 'object' && !Array.isArray(actual) &&",
    "            Object.keys(expected).every((k) => k in actual && matches(expected[k], actual[k]));",
    "    }",
    "    return expected === actual;",
    "}",
]


def _has_list(value: Any) -> bool:
    if isinstance(value, list):
        return True
    return isinstance(value, Mapping) and any(_has_list(v) for v in value.values())


def _test(name: str, body: list[str], skip_reason: str | None) -> list[str]:
    """One pm.test; skipped (named, with why) when its expected value came from a left-out check."""
    if skip_reason:
        name = f"{name} (skipped: {skip_reason})"
    call = "pm.test.skip" if skip_reason else "pm.test"
    if len(body) == 1:
        return [f"{call}({_js(name)}, () => {body[0].rstrip(';')});"]
    return [f"{call}({_js(name)}, () => {{", *(f"    {line}" for line in body), "});"]


def _skip_reason(needles: Iterable[str], seen: _Provenance) -> str | None:
    for needle in needles:
        source = seen.source(needle)
        if source:
            return f"{needle!r} comes from {source}, which is not an HTTP request"
    return None


def _cors_test(api: HttpApi) -> list[str]:
    header = 'pm.response.headers.get("Access-Control-Allow-Origin")'
    if api.wildcard:
        return _test("CORS: Access-Control-Allow-Origin is *", [f'pm.expect({header}).to.eql("*");'], None)
    sent = f'pm.variables.replaceIn("{{{{{api.origin_var}}}}}")'
    return _test(
        "CORS: Access-Control-Allow-Origin is the Origin sent", [f"pm.expect({header}).to.eql({sent});"], None
    )


def _check_tests(check: Check, api: HttpApi, seen: _Provenance, path_reason: str | None) -> list[str]:
    """The pm.test calls of a `call` check's expectations (and CORS)."""
    exp = check.expect
    lines: list[str] = []
    if exp.status is not None:
        lines += _test(f"status is {exp.status}", [f"pm.response.to.have.status({exp.status});"], path_reason)
    if exp.json_ is not None:
        want = exp.json_
        reason = path_reason or _skip_reason(_strings(want), seen)
        if _has_list(want):
            body = [f"pm.expect(matches({_js(want)}, pm.response.json()), {_js(_js(want))}).to.be.true;"]
        else:
            body = ["const body = pm.response.json();"] + [
                f"pm.expect({_accessor(p)}, {_js('$' + ''.join('.' + k for k in p))}).to.eql({_js(v)});"
                for p, v in _leaves(want, [])
            ]
        lines += _test(f"JSON body matches {json.dumps(want)}", body, reason)
    if exp.body_contains is not None:
        text = str(exp.body_contains)
        reason = path_reason or _skip_reason([text], seen)
        lines += _test(
            f"body contains {_js(text)}", [f"pm.expect(pm.response.text()).to.include({_js(text)});"], reason
        )
    if api.origins:
        lines += _cors_test(api)
    return lines


def _with_retry(method: str, status: int | None, tests: list[str]) -> list[str]:
    """A GET that expects a success waits for it (RETRIES times, RETRY_MS apart) before its tests
    judge it: what a queue or a topic delivers appears late, what a request deleted is gone at once."""
    if method not in _SAFE or status is None or not 200 <= status < 300:
        return tests
    return [
        f'const attempt = Number(pm.collectionVariables.get("{ATTEMPT_VAR}") || 1);',
        f"if (pm.response.code !== {status} && attempt < {RETRIES}) {{",
        "    // what an earlier request wrote may go through a queue first: ask again in a moment",
        f"    console.log(`status ${{pm.response.code}}, expected {status}: asking again (attempt ${{attempt + 1}} of {RETRIES})`);",
        f'    pm.collectionVariables.set("{ATTEMPT_VAR}", attempt + 1);',
        "    // pm.execution.setNextRequest in newer Postman and newman, postman.setNextRequest before",
        "    const runner = pm.execution && pm.execution.setNextRequest ? pm.execution : postman;",
        "    runner.setNextRequest(pm.info.requestName);",
        f"    setTimeout(() => {{}}, {RETRY_MS});",
        "} else {",
        f'    pm.collectionVariables.unset("{ATTEMPT_VAR}");',
        *(f"    {line}" for line in tests),
        "}",
    ]


def _count_tests(lines: list[str]) -> int:
    return sum(1 for line in lines if re.search(r"\bpm\.test(\.skip)?\(", line))


# ---- requests -------------------------------------------------------------------------------
def _request(
    api: HttpApi,
    method: str,
    url: dict[str, Any],
    *,
    json_body: Any = None,
    raw: str | None = None,
    headers: Mapping[str, str] | None = None,
    description: str = "",
) -> dict[str, Any]:
    sent = dict(headers or {})
    has = {k.lower() for k in sent}
    body: dict[str, Any] | None = None
    if json_body is not None:
        body = {
            "mode": "raw",
            "raw": json.dumps(json_body, indent=2),
            "options": {"raw": {"language": "json"}},
        }
        if "content-type" not in has:
            sent["Content-Type"] = "application/json"
    elif raw is not None:
        body = {"mode": "raw", "raw": raw}
        if "content-type" not in has:
            sent["Content-Type"] = "text/plain; charset=utf-8"
    if api.origins and "origin" not in has:
        sent["Origin"] = "{{" + api.origin_var + "}}"
    request: dict[str, Any] = {
        "method": method,
        "header": [{"key": k, "value": str(v)} for k, v in sent.items()],
        "url": url,
    }
    if body is not None:
        request["body"] = body
    if api.signed:
        request["auth"] = {
            "type": "awsv4",
            "awsv4": [
                {"key": "accessKey", "value": "{{awsAccessKeyId}}", "type": "string"},
                {"key": "secretKey", "value": "{{awsSecretAccessKey}}", "type": "string"},
                {"key": "region", "value": "{{awsRegion}}", "type": "string"},
                {"key": "service", "value": "lambda", "type": "string"},
            ],
        }
    if description:
        request["description"] = description
    return request


def _preflight(api: HttpApi, examples: Mapping[str, str]) -> _Item | None:
    """What a browser sends before a request other than a simple GET: the API's first such route."""
    if not api.origins:
        return None
    routes = api.routes or (("POST", "/"),)
    method, path = next(((m, p) for m, p in routes if m not in _SAFE), routes[0])
    method = "POST" if method == "ANY" else method
    headers = {"Origin": "{{" + api.origin_var + "}}", "Access-Control-Request-Method": method}
    if method in _BODY_METHODS:
        headers["Access-Control-Request-Headers"] = "content-type"
    url = _url(api, "", (method, path), examples)
    allow_methods = 'pm.response.headers.get("Access-Control-Allow-Methods") || ""'
    script = [
        *_test(
            "the preflight is answered (2xx)", ["pm.expect(pm.response.code).to.be.within(200, 299);"], None
        ),
        *_cors_test(api),
        *_test(
            f"CORS: {method} is an allowed method",
            [f"pm.expect({allow_methods}).to.match(/(^|[ ,]){method}([ ,]|$)|\\*/i);"],
            None,
        ),
    ]
    name = f"CORS preflight: may a page at {api.origin} send {method} {path}?"
    request = _request(
        api,
        "OPTIONS",
        url,
        headers=headers,
        description="What a browser sends before a cross-origin request that is not a simple GET.",
    )
    return _Item(name, request, script, _count_tests(script))


def _examples(spec: LabSpec, attrs: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """Example values of path parameters: the string fields of the checks' JSON bodies by name."""
    out: dict[str, str] = {}
    for check in spec.checks:
        body = resolve(getattr(check, "json_", None), attrs)
        if isinstance(body, Mapping):
            for key, value in body.items():
                if isinstance(value, str | int) and not isinstance(value, bool):
                    out.setdefault(str(key), str(value))
    return out


def _pick_api(apis: list[HttpApi], named: str | None) -> HttpApi | None:
    if named is not None:
        return next((a for a in apis if a.logical == named), None)
    return apis[0] if len(apis) == 1 else None


def _check_items(
    spec: LabSpec, apis: list[HttpApi], attrs: Mapping[str, Mapping[str, Any]]
) -> tuple[list[_Item], list[str], set[tuple[str, str, str]]]:
    """The requests of the `call` checks, in order; the checks left out; the routes called."""
    seen = _Provenance()
    items: list[_Item] = []
    left_out: list[str] = []
    called: set[tuple[str, str, str]] = set()
    for index, check in enumerate(spec.checks, 1):
        label = _label(index, check)
        api = _pick_api(apis, getattr(check, "api", None)) if check.action_key == "call" else None
        if api is None:
            left_out.append(label)
            seen.left_out.append((label, _check_text(check, attrs)))
            continue
        method, _, path = str(resolve(check.value, attrs)).strip().partition(" ")
        method, path = method.upper(), path.strip() or "/"
        json_body = resolve(getattr(check, "json_", None), attrs)
        raw = resolve(getattr(check, "body", None), attrs)
        headers = resolve(getattr(check, "headers", None) or {}, attrs)
        route = match_route(api, method, path)
        if route is not None:
            called.add((api.logical, *route))
        path_reason = _skip_reason(_segments(path.partition("?")[0]), seen)
        tests = _check_tests(check, api, seen, path_reason)
        if path_reason is None:  # a status that waits for a step this collection does not make never comes
            tests = _with_retry(method, check.expect.status, tests)
        if check.expect.json_ is not None and _has_list(check.expect.json_):
            tests = [*_SUBSET_JS, *tests]
        description = f"From {label} of the lab's spec; `awslab check {spec.name}` runs the same."
        request = _request(
            api,
            method,
            _url(api, path, route, {}),
            json_body=json_body,
            raw=raw,
            headers=headers,
            description=description,
        )
        items.append(_Item(check.name or f"{method} {path}", request, tests, _count_tests(tests)))
        seen.sent.append(f"{path} {json.dumps(json_body)} {raw or ''}")
    return items, left_out, called


def _route_items(
    apis: list[HttpApi], called: set[tuple[str, str, str]], examples: Mapping[str, str]
) -> list[_Item]:
    """An example request for each route no check calls (a function URL without checks: GET /)."""
    items = []
    for api in apis:
        routes = api.routes or (("GET", "/"),)
        if not api.routes and any(logical == api.logical for logical, *_ in called):
            continue
        for method, path in routes:
            if (api.logical, method, path) in called:
                continue
            real = "GET" if method == "ANY" else method
            body: dict[str, Any] | None = {} if real in _BODY_METHODS else None
            request = _request(
                api,
                real,
                _url(api, "", (method, path), examples),
                json_body=body,
                description=f"An example of {method} {path} ({api.kind} '{api.logical}'); no check calls it, "
                "so it has no tests: fill in the body and path variables.",
            )
            items.append(_Item(f"{method} {path}", request, [], 0))
    return items


# ---- the collection -------------------------------------------------------------------------
def _unique(items: list[_Item]) -> None:
    """Requests are retried by name: give each its own."""
    seen: dict[str, int] = {}
    for item in items:
        n = seen.get(item.name, 0) + 1
        seen[item.name] = n
        if n > 1:
            item.name = f"{item.name} ({n})"


def _item_json(item: _Item) -> dict[str, Any]:
    out: dict[str, Any] = {"name": item.name}
    if item.script:
        out["event"] = [{"listen": "test", "script": {"type": "text/javascript", "exec": item.script}}]
    out["request"] = item.request
    out["response"] = []
    return out


def _variables(apis: list[HttpApi], region: str, local_keys: tuple[str, str] | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for api in apis:
        out.append(
            {
                "key": api.url_var,
                "value": api.url,
                "type": "string",
                "description": f"base URL of {api.kind} '{api.logical}', from the deployed lab",
            }
        )
        if api.origins:
            allowed = ", ".join(api.origins)
            out.append(
                {
                    "key": api.origin_var,
                    "value": api.origin,
                    "type": "string",
                    "description": f"the Origin the requests send (the API allows {allowed})",
                }
            )
    if any(a.signed for a in apis):
        key, secret = local_keys or ("", "")
        where = "the local cloud's fixed dummy keys" if local_keys else "set them to your credentials"
        out += [
            {
                "key": "awsAccessKeyId",
                "value": key,
                "type": "string",
                "description": f"SigV4 signing: {where}",
            },
            {"key": "awsSecretAccessKey", "value": secret, "type": "string", "description": "SigV4 signing"},
            {"key": "awsRegion", "value": region, "type": "string", "description": "SigV4 signing"},
        ]
    return out


def _description(spec: LabSpec, state: LabState, where: str, left_out: list[str]) -> str:
    lines = [
        f"The HTTP API of the awslab lab '{spec.name}' ({spec.description or 'no description'}), "
        f"deployed on {where} (last `awslab up` at {state.updated_at}). Written by `awslab postman "
        f"{spec.name}`: run that again after `awslab up` changes the API, its URL is a collection variable.",
        "",
        "Run the requests in order (Collection Runner, or `newman run` on this file): they are the "
        "lab's `call` checks, with their expectations as tests.",
    ]
    if left_out:
        lines += ["", f"Left out (not HTTP requests; `awslab check {spec.name}` runs them):"]
        lines += [f"- {label}" for label in left_out]
    return "\n".join(lines)


def build_collection(
    spec: LabSpec,
    state: LabState,
    *,
    where: str,
    region: str,
    local_keys: tuple[str, str] | None = None,
) -> PostmanCollection:
    """The Postman collection of the deployed lab `state` of `spec`. `where` names the target in
    the description; `local_keys` are the local cloud's dummy keys (None elsewhere: a signed URL's
    keys are left for the user to fill in, never written to the file)."""
    apis = http_apis(spec, state)
    if not apis:
        kinds = ", ".join(HTTP_KINDS)
        raise UsageError(
            f"lab '{spec.name}' has no deployed HTTP API ({kinds}): there is nothing for Postman to call",
            hint="the labs crud, upload and messaging have one",
        )
    attrs = {name: r.attrs for name, r in state.resources.items()}
    examples = _examples(spec, attrs)
    checks, left_out, called = _check_items(spec, apis, attrs)
    preflights = [p for p in (_preflight(api, examples) for api in apis) if p is not None]
    others = _route_items(apis, called, examples)
    _unique([*preflights, *checks, *others])
    items: list[dict[str, Any]] = [_item_json(i) for i in [*preflights, *checks]]
    if others:
        items.append({"name": _OTHER_ROUTES, "item": [_item_json(i) for i in others]})
    variables = _variables(apis, region, local_keys)
    data = {
        "info": {
            "_postman_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"awslab:{state.stack_id}")),
            "name": f"awslab {spec.name}",
            "description": _description(spec, state, where, left_out),
            "schema": SCHEMA,
        },
        "item": items,
        "variable": variables,
    }
    every = [*preflights, *checks, *others]
    # the secret key is not repeated on a terminal, even the local cloud's dummy one
    shown = {
        v["key"]: "***" if v["key"] == "awsSecretAccessKey" and v["value"] else str(v["value"])
        for v in variables
    }
    return PostmanCollection(
        lab=spec.name,
        data=data,
        requests=len(every),
        tests=sum(i.tests for i in every),
        variables=shown,
        left_out=left_out,
    )


def default_file(lab: str) -> str:
    """Where `awslab postman LAB` writes without -o: Postman's usual file name, here."""
    return f"{lab}.postman_collection.json"
