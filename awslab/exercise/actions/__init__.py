"""Check actions: one module per action of a lab's `checks:`, each registering one class (see
base.py). `Check` is the model specs validate checks with, derived from the registry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from awslab.exercise.actions.base import (
    Action,
    Expect,
    action_named,
    check_model,
    load_actions,
    ordered_actions,
)

if TYPE_CHECKING:
    from awslab.exercise.actions.base import Check
else:
    Check = check_model()

__all__ = ["Action", "Check", "Expect", "action_named", "check_model", "load_actions", "ordered_actions"]
