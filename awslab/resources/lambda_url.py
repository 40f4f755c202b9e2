"""Lambda function URLs: `lambda.url`, a function's own HTTPS endpoint.

    site-url:
      type: lambda.url
      function: site-fn              # a lambda.function of the lab (or "${site-fn.name}")
      auth: NONE                     # or AWS_IAM (the default): callers sign with SigV4
      cors: {allow_origins: ["*"]}

With `auth: NONE` the URL is public, which AWS allows only through the function's resource
policy: awslab adds the two statements AWS requires (since October 2025) for principal `*`,
lambda:InvokeFunctionUrl with FunctionUrlAuthType NONE and lambda:InvokeFunction when invoked via
the function URL, and removes them when the URL goes or turns to AWS_IAM. With AWS_IAM callers
need an identity policy of their own that allows lambda:InvokeFunctionUrl.

A URL belongs to its function: its physical name is the function's, and it has no tags of its
own (a sweep finds it through the function's).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar, Literal

# botocore is imported where its errors are caught: `awslab validate` loads every kind without it.
from pydantic import Field

from awslab.resources import base
from awslab.resources.apigateway_http_api import CorsFields
from awslab.resources.base import (
    TAG_LOGICAL,
    Context,
    Made,
    NameRule,
    Props,
    Record,
    Resource,
    Survey,
    register,
)
from awslab.resources.idempotent import adopt_or_raise, tag_map
from awslab.resources.invoke_permission import (
    INVOKE,
    add_permission_once,
    remove_invoke_permission,
    statement_ids,
)
from awslab.resources.lambda_event_source import awslab_functions, function_name_of
from awslab.resources.retry import retry_propagation

if TYPE_CHECKING:
    from awslab.target import Target

PUBLIC_URL_SID = "awslab-url-public"  # lambda:InvokeFunctionUrl for *
PUBLIC_INVOKE_SID = "awslab-url-invoke"  # lambda:InvokeFunction for * via the URL
_BARE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,39}\Z")  # a logical name of the spec
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "*")


class UrlCors(CorsFields):
    """The URL's CORS configuration: Lambda answers preflights and adds the headers itself."""

    methods: ClassVar[tuple[str, ...]] = _METHODS
    methods_hint: ClassVar[str] = ", ".join(_METHODS)

    def config(self) -> dict[str, Any]:
        """Cors as Lambda takes it: every field, so an update also clears what the spec dropped."""
        return {
            "AllowOrigins": list(self.allow_origins),
            "AllowMethods": list(self.allow_methods or []),
            "AllowHeaders": list(self.allow_headers or []),
            "ExposeHeaders": list(self.expose_headers or []),
            "MaxAge": self.max_age or 0,
            "AllowCredentials": self.allow_credentials,
        }


# What an update sends to take a CORS configuration away (Lambda keeps a Cors it is not sent).
NO_CORS: dict[str, Any] = {"AllowOrigins": [], "AllowMethods": [], "AllowHeaders": [], "ExposeHeaders": [],
                           "MaxAge": 0, "AllowCredentials": False}  # fmt: skip


class FunctionUrlProps(Props):
    function: str = Field(min_length=1)  # a lambda.function's logical name, or a name / ARN
    auth: Literal["NONE", "AWS_IAM"] = "AWS_IAM"
    cors: UrlCors | None = None


@register
class FunctionUrl(Resource[FunctionUrlProps]):
    kind = "lambda.url"
    attributes = ("url", "function", "function_arn", "auth")
    sweep_rank = 10  # before its function
    dependency_kind = "lambda.function"  # a bare `function` names one
    name_rule = NameRule(max_len=64)
    replace_fields = frozenset({"function"})
    drift_keys = ("auth", "cors")
    drift_shown = frozenset({"auth"})

    @classmethod
    def dependencies(cls, props: FunctionUrlProps) -> set[str]:
        return {props.function} if _BARE_NAME.match(props.function) else set()

    @property
    def function(self) -> str:
        """The function's name (a logical name of the spec resolved to its physical one)."""
        ref = self.props.function
        if _BARE_NAME.match(ref) and ref in self.ctx.resolved:
            return str(self.ctx.attrs_of(ref)["name"])
        return function_name_of(ref)

    @property
    def physical(self) -> str:
        return self.function

    def _cors(self) -> dict[str, Any]:
        return self.props.cors.config() if self.props.cors else NO_CORS

    # ---- create / update -----------------------------------------------------------------
    def create(self) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        lam = self.ctx.client("lambda")
        params: dict[str, Any] = {"FunctionName": self.function, "AuthType": self.props.auth}
        if self.props.cors:
            params["Cors"] = self._cors()
        try:
            # a function just created may still be Pending
            config = retry_propagation(lambda: lam.create_function_url_config(**params))
        except ClientError as exc:
            # one URL per function: "exists" is a retried create whose answer was lost, or an
            # earlier run's; the function is this lab's (the spec names it), so the URL is adopted
            config = adopt_or_raise(exc, ("ResourceConflictException",), self._configure, fragment="exist")
        return self._finish(config)

    def update(self, record: Record) -> dict[str, Any]:
        # looked up first: moto fails (500) on an update of a URL that is gone, where AWS says not found
        if _url_config(self.ctx.client("lambda"), self.function) is None:
            return self.create()  # deleted behind awslab's back
        return self._finish(self._configure())

    def _configure(self) -> dict[str, Any]:
        lam = self.ctx.client("lambda")
        return dict(retry_propagation(lambda: lam.update_function_url_config(
            FunctionName=self.function, AuthType=self.props.auth, Cors=self._cors())))  # fmt: skip

    def _finish(self, config: dict[str, Any]) -> dict[str, Any]:
        permissions = self._sync_permissions()
        attrs = _attrs(self.ctx.target, config)
        attrs["permissions"] = permissions
        return attrs

    def _sync_permissions(self) -> list[str]:
        """The public statements a NONE URL needs; none for AWS_IAM."""
        fn = self.function
        if self.props.auth != "NONE":
            for sid in (PUBLIC_URL_SID, PUBLIC_INVOKE_SID):
                remove_invoke_permission(self.ctx, fn, sid)
            return []
        lam = self.ctx.client("lambda")
        have = statement_ids(lam, fn)
        common = {"FunctionName": fn, "Principal": "*"}
        if PUBLIC_URL_SID not in have:
            add_permission_once(lam, {**common, "StatementId": PUBLIC_URL_SID, "Action": "lambda:InvokeFunctionUrl",
                                      "FunctionUrlAuthType": "NONE"})  # fmt: skip
        if PUBLIC_INVOKE_SID not in have:
            add_permission_once(lam, {**common, "StatementId": PUBLIC_INVOKE_SID, "Action": INVOKE,
                                      "InvokedViaFunctionUrl": True})  # fmt: skip
        return [PUBLIC_URL_SID, PUBLIC_INVOKE_SID]

    # ---- read / delete / find ------------------------------------------------------------
    @classmethod
    def read(cls, ctx: Context, record: Record) -> dict[str, Any] | None:
        config = _url_config(ctx.client("lambda"), record.physical)
        if config is None:
            return None
        attrs = _attrs(ctx.target, config)
        attrs["permissions"] = list(record.attrs.get("permissions") or [])
        return attrs

    @classmethod
    def delete(cls, ctx: Context, record: Record) -> None:
        from botocore.exceptions import ClientError

        fn = str(record.attrs.get("function") or record.physical)
        try:
            ctx.client("lambda").delete_function_url_config(FunctionName=fn)
        except ClientError as exc:
            if not base.is_not_found(exc):
                raise
        # known statement ids: also what a create that died half-way may have added
        for sid in (PUBLIC_URL_SID, PUBLIC_INVOKE_SID):
            remove_invoke_permission(ctx, fn, sid)

    @classmethod
    def list_made(cls, target: Target, survey: Survey | None = None) -> list[Made]:
        """The URLs of functions named awslab-... that carry awslab's tags (the function's tags,
        without its logical name: the URL's is not known)."""
        survey = survey or Survey(target)
        lam = target.client("lambda")
        out: list[Made] = []
        for fn in awslab_functions(survey):
            name = fn["FunctionName"]
            if survey.known(cls.kind, name):
                continue
            config = _url_config(lam, name)  # GetFunctionUrlConfig: moto has no ListFunctionUrlConfigs
            if config is not None:
                tags = tag_map(lam.list_tags(Resource=fn["FunctionArn"]).get("Tags"))
                tags.pop(TAG_LOGICAL, None)
                out.append(Made(name, tags, {"function": name}, str(config.get("FunctionUrl", ""))))
        return out


def _url_config(lam: Any, function: str) -> dict[str, Any] | None:
    return base.or_none(lambda: dict(lam.get_function_url_config(FunctionName=function)))


def _url(target: Target, function_url: str) -> str:
    """The URL a client calls: AWS's, or the local cloud's for it."""
    if target.kind != "local" or not function_url:
        return function_url
    from awslab.local.urls import function_url as local_function_url

    assert target.endpoint_url
    url_id = function_url.split("://", 1)[-1].split(".", 1)[0]
    return local_function_url(target.endpoint_url, url_id)


def _attrs(target: Target, config: dict[str, Any]) -> dict[str, Any]:
    cors = config.get("Cors") or {}
    return {
        "url": _url(target, str(config.get("FunctionUrl", ""))),
        "function": function_name_of(str(config["FunctionArn"])),
        "function_arn": config["FunctionArn"],
        "auth": config.get("AuthType"),
        "cors": _comparable_cors(cors),
    }


def _comparable_cors(cors: dict[str, Any]) -> dict[str, Any] | None:
    """A Cors in one form whatever Lambda returns (empty lists or left out; methods' case)."""
    if not cors.get("AllowOrigins"):
        return None
    out: dict[str, Any] = {"AllowOrigins": sorted(cors["AllowOrigins"])}
    for key in ("AllowMethods", "AllowHeaders", "ExposeHeaders"):
        if cors.get(key):
            out[key] = sorted(str(v).lower() for v in cors[key])
    if cors.get("MaxAge"):
        out["MaxAge"] = int(cors["MaxAge"])
    if cors.get("AllowCredentials"):
        out["AllowCredentials"] = True
    return out
