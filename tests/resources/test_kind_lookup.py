"""A kind is found by its name (`find_kind`): `up` imports the modules of its lab's kinds, not all
sixteen; an unknown name still gets the list of every kind."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from awslab.resources.base import find_kind, kind_class, load_kinds

ROOT = Path(__file__).resolve().parents[2]


def _fresh(code: str) -> str:
    """Run `code` in a new interpreter (this one has every kind imported already)."""
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_every_kind_is_found_by_its_name_without_importing_them_all() -> None:
    kinds = sorted(load_kinds())
    out = _fresh(
        "import json\n"
        "from awslab.resources import base\n"
        f"found = {{k: base.find_kind(k).kind for k in {kinds!r}}}\n"
        "print(json.dumps({'found': found, 'all_loaded': base._ALL_LOADED}))\n"
    )
    result = json.loads(out)
    assert result["found"] == {k: k for k in kinds}
    # each module named after its kind (svc_thing.py, svc.py, awslambda.py): no fallback to all
    assert result["all_loaded"] is False


def test_a_lab_imports_only_its_own_kinds() -> None:
    out = _fresh(
        "import sys, json\n"
        "from awslab.spec import find_lab, load_spec\n"
        "spec = load_spec(find_lab('crud'))\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('awslab.resources.'))))\n"
    )
    modules = set(json.loads(out))
    assert {
        "awslab.resources.dynamodb",
        "awslab.resources.awslambda",
        "awslab.resources.apigateway",
    } <= modules
    assert not modules & {"awslab.resources.stepfunctions", "awslab.resources.sqs", "awslab.resources.sns"}


def test_an_unknown_kind_is_none_and_a_path_is_never_imported() -> None:
    assert find_kind("dynamodb.tabel") is None
    assert find_kind("../../os.path") is None
    assert find_kind("base.x") is None  # the contract module registers no kind
    assert kind_class("sqs.queue").kind == "sqs.queue"
    try:
        kind_class("nope.nothing")
    except KeyError as exc:
        assert exc.args == ("nope.nothing",)
    else:
        raise AssertionError("an unknown kind must raise KeyError")
