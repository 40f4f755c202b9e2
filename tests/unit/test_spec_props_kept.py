"""A spec's fields are validated once, by `load_spec`: the watch (on every poll), the price
estimate and the plan's readiness dependencies reuse the validated props."""

from __future__ import annotations

from typing import Any

import pytest

from awslab.engine.plan import deferred_dependencies
from awslab.pricing import estimate
from awslab.spec import builtin_labs, load_spec
from awslab.watch import lab_files


def test_the_props_load_spec_validated_are_not_validated_again(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = load_spec(builtin_labs()["crud"])
    assert any(rs.kind == "s3.files" for rs in spec.resources.values())  # a kind that walks files
    for rs in spec.resources.values():
        assert rs.validated is not None and rs.props is rs.validated

    calls: list[str] = []
    for rs in spec.resources.values():
        model = rs.cls.props_model

        def counted(*args: Any, _kind: str = rs.kind, _orig: Any = model.model_validate, **kw: Any) -> Any:
            calls.append(_kind)
            return _orig(*args, **kw)

        monkeypatch.setattr(model, "model_validate", counted)
    assert lab_files(spec)
    assert estimate(spec).lines
    for rs in spec.resources.values():
        deferred_dependencies(spec, rs)
    assert calls == []


def test_a_resource_spec_made_in_code_validates_its_fields_on_first_use() -> None:
    spec = load_spec(builtin_labs()["crud"])
    rs = next(r for r in spec.resources.values() if r.kind == "s3.files")
    rs.validated = None
    props = rs.props
    assert props == rs.cls.props_model.model_validate(rs.fields) and rs.props is props
