"""The values a spec's built-in and external references resolve to on a target, at `plan` and `up`:
`${lab.name}`, `${param.key}`, `${aws.region}`, `${aws.account_id}` (the account is asked for only
when a reference uses it: on AWS it costs an STS call), `${ssm:/path}` and
`${secretsmanager:name[:json-key]}` (read from the target's SSM Parameter Store and Secrets
Manager; SecureString parameters and secrets are secrets: `secrets_of` names them, so that what is
written to the state file or printed is redacted)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from awslab.errors import AwslabError
from awslab.references import EXTERNAL
from awslab.resources.base import error_code

if TYPE_CHECKING:
    from awslab.spec import LabSpec
    from awslab.target import Target


class AwsValues(Mapping[str, Any]):
    """`${aws.region}` and `${aws.account_id}`, the account read on first use."""

    def __init__(self, target: Target) -> None:
        self._target = target

    def __getitem__(self, key: str) -> Any:
        if key == "region":
            return self._target.region
        if key == "account_id":
            return self._target.account_id
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(("region", "account_id"))

    def __len__(self) -> int:
        return 2


class Externals(dict[str, Any]):
    """Reference text -> value; `secrets` holds the references whose values are secrets."""

    def __init__(self, values: Mapping[str, Any], secrets: set[str]) -> None:
        super().__init__(values)
        self.secrets = frozenset(secrets)


def runtime_values(spec: LabSpec, target: Target) -> dict[str, Mapping[str, Any]]:
    """The namespaces that references resolve in besides the lab's resources."""
    return {
        "lab": {"name": spec.name},
        "param": dict(spec.params),
        "aws": AwsValues(target),
        EXTERNAL: fetch_externals(spec.externals, target),
    }


def secrets_of(resolved: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """Reference -> value of the secrets among the resolved values (for `references.redact`)."""
    externals = resolved.get(EXTERNAL)
    if not isinstance(externals, Externals):
        return {}
    return {ref: str(externals[ref]) for ref in externals.secrets}


def fetch_externals(wanted: Mapping[str, str], target: Target) -> Externals:
    """Read every external reference (text -> where the spec has it, "lab.yaml:12: a.b"); a
    missing parameter or secret is an error naming the reference and where it is."""
    values: dict[str, Any] = {}
    secrets: set[str] = set()
    cache: dict[str, str] = {}  # a secret's string, for several json keys of one secret
    for ref, where in sorted(wanted.items()):
        service, _, rest = ref[2:-1].partition(":")
        try:
            if service == "ssm":
                values[ref], secret = _parameter(target, rest)
            else:
                values[ref], secret = _secret(target, rest, cache), True
        except _Missing as exc:
            raise AwslabError(
                f"{where}: {ref}: {exc} on {target.describe()}",
                hint=exc.hint,
            ) from None
        if secret:
            secrets.add(ref)
    return Externals(values, secrets)


class _Missing(Exception):
    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def _fetch(
    call: Callable[[], dict[str, Any]], missing: tuple[str, ...], message: str, create: str
) -> dict[str, Any]:
    """The answer of `call`, or _Missing (hint: the `create` command) when AWS says it is not there."""
    try:
        return call()
    except Exception as exc:
        if error_code(exc) in missing:
            raise _Missing(message, hint=f"create it ({create} ...) or change the reference") from None
        raise


def _parameter(target: Target, name: str) -> tuple[str, bool]:
    found = _fetch(
        lambda: target.client("ssm").get_parameter(Name=name, WithDecryption=True),
        ("ParameterNotFound", "ValidationException"),
        f"no SSM parameter '{name}'",
        f"aws ssm put-parameter --name {name} --type SecureString --value",
    )["Parameter"]
    return str(found["Value"]), found.get("Type") == "SecureString"


def _secret(target: Target, rest: str, cache: dict[str, str]) -> Any:
    name, _, key = rest.partition(":")
    if name not in cache:
        got = _fetch(
            lambda: target.client("secretsmanager").get_secret_value(SecretId=name),
            ("ResourceNotFoundException", "InvalidRequestException"),
            f"no secret '{name}' in Secrets Manager (or it is scheduled for deletion)",
            f"aws secretsmanager create-secret --name {name} --secret-string",
        )
        if "SecretString" not in got:
            raise _Missing(f"secret '{name}' is binary", hint="reference a secret stored as a string")
        cache[name] = str(got["SecretString"])
    text = cache[name]
    if not key:
        return text
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        raise _Missing(f"secret '{name}' is not a JSON object", hint=f"drop ':{key}' to use the whole secret")
    if key not in doc:
        raise _Missing(
            f"secret '{name}' has no key '{key}'",
            hint=f"its keys: {', '.join(sorted(doc)) or 'none'}",  # names only, never values
        )
    value = doc[key]
    return value if isinstance(value, str) else json.dumps(value)
