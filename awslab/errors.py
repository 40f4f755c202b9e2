"""Typed errors. Core code raises these; the CLI turns each into one line and an exit code."""

from __future__ import annotations

EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2


class AwslabError(Exception):
    """Base of every error a user can cause or act on.

    `hint` says what to do about it; `exit_code` is what the CLI exits with.
    """

    exit_code: int = EXIT_FAILURE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class SpecError(AwslabError):
    """A lab spec is not valid: names the file, the line, the key path and what was expected."""

    exit_code = EXIT_BAD_INPUT

    MAX_SHOWN = 50  # a broken generated file can have thousands; the first ones say enough

    def __init__(self, problems: list[str], *, file: str | None = None) -> None:
        self.problems = problems
        self.file = file
        shown = problems[: self.MAX_SHOWN]
        if len(problems) > self.MAX_SHOWN:
            shown.append(f"... and {len(problems) - self.MAX_SHOWN} more problems")
        super().__init__("\n".join(shown))


class UsageError(AwslabError):
    """The command line asks for something that cannot be (unknown lab, bad JSON option...)."""

    exit_code = EXIT_BAD_INPUT


class TargetError(AwslabError):
    """The target cannot be reached or used: no credentials, endpoint down, wrong region."""


class LockError(AwslabError):
    """Another awslab command holds the lock of this target's state."""


class StateError(AwslabError):
    """The state file is unreadable or of an unknown schema version."""


class LocalCloudError(AwslabError):
    """The local cloud could not be started, reached or stopped (port in use, crashed...)."""


class ProvisionError(AwslabError):
    """An AWS call failed while acting on one resource.

    Reads "While creating sqs.queue 'orders': QueueAlreadyExists: ...".
    """

    def __init__(self, kind: str, logical: str, action: str, cause: BaseException | str) -> None:
        self.kind = kind
        self.logical = logical
        self.action = action
        self.cause = cause
        super().__init__(f"While {action} {kind} '{logical}': {describe_cause(cause)}")


class ExerciseError(AwslabError):
    """Exercising a lab failed (the lab is not deployed, the call failed, a check failed)."""


def describe_cause(cause: BaseException | str) -> str:
    """One line for an exception, using botocore's error code when there is one."""
    if isinstance(cause, str):
        return cause
    response = getattr(cause, "response", None)
    if isinstance(response, dict) and "Error" in response:
        err = response["Error"]
        code = err.get("Code", type(cause).__name__)
        msg = err.get("Message", "")
        return f"{code}: {msg}" if msg else str(code)
    text = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {text[0]}" if text else type(cause).__name__


class OutsideProjectError(SpecError):
    """A lab would use a file outside its project: a spec path leading out of the directory that
    holds the spec, or a symlink in a handler or website directory pointing out of it (or nowhere)."""

    def __init__(self, problem: str, *, hint: str) -> None:
        super().__init__([problem])
        self.hint = hint
