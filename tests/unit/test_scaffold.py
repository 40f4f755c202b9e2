"""`awslab new`: every template writes a spec that validates, handlers that compile, and an
AWS-shaped sample event; names are checked as the spec checks them; nothing is overwritten
without --force, and a refusal writes nothing. (tests/e2e/test_new_labs.py runs each on a local cloud.)"""

from __future__ import annotations

import json
import py_compile
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from awslab.cli import new as new_cli
from awslab.cli.main import app
from awslab.errors import UsageError
from awslab.exercise.events import ALIASES
from awslab.scaffold import TEMPLATES_DIR, create_lab, get_template, templates
from awslab.spec import load_spec
from tests.exercise.test_events import MODELS

TEMPLATES = list(templates())


def test_the_templates_the_issue_asks_for_are_there_and_function_is_the_default() -> None:
    assert {"function", "crud", "queue", "topic", "schedule", "http-api"} <= set(TEMPLATES)
    assert TEMPLATES[0] == "function"
    # the help lists them without reading the templates: keep it in step
    assert new_cli.TEMPLATE_NAMES.replace(" (default)", "").split(", ") == TEMPLATES


@pytest.mark.parametrize("template", TEMPLATES)
def test_a_template_writes_a_valid_lab_with_checks_and_a_sample_event(template: str, tmp_path: Path) -> None:
    lab = create_lab("my-lab", template, tmp_path)
    assert lab.spec == tmp_path / "my-lab.yaml" and lab.files[0] == lab.spec
    assert lab.spec in lab.files and lab.event in lab.files and lab.overwritten == []
    assert sorted(p for p in tmp_path.rglob("*") if p.is_file()) == sorted(lab.files)
    for path in lab.files:
        text = path.read_text()
        assert not re.search(r"\{\{\s*\w+\s*\}\}", text), path  # no placeholder left
        assert not path.name.endswith(".tmpl")
        if path.suffix == ".py":
            assert path.parent == tmp_path / "handlers" / "my-lab"
            py_compile.compile(str(path), doraise=True)

    spec = load_spec(lab.spec)
    assert spec.name == "my-lab" and spec.checks
    fn = spec.resources[lab.function]
    assert fn.kind == "lambda.function"
    assert (tmp_path / fn.fields["code"] / f"{fn.fields['handler'].split('.')[0]}.py").is_file()

    event = json.loads(lab.event.read_text())
    about = get_template(template).event
    if "kind" in about:  # AWS's shape, as Powertools' parser models read it
        kind = ALIASES.get(about["kind"], about["kind"])
        MODELS[kind].model_validate(event)
        if "body" in about:  # where the source carries it: a request's body, a message
            assert json.dumps(about["body"]) in _strings(event)
    else:
        assert event == about["payload"]


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return [s for v in items for s in _strings(v)]


def test_the_handlers_a_learner_gets_are_lint_clean(tmp_path: Path) -> None:
    for template in TEMPLATES:
        create_lab(f"lab-{template}", template, tmp_path / template)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--no-cache",
            "--isolated",
            "--line-length",
            "120",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_an_existing_file_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    (tmp_path / "events").mkdir()
    (tmp_path / "events" / "shop.json").write_text("mine")
    with pytest.raises(UsageError, match=r"events/shop.json already exists; nothing was written") as exc:
        create_lab("shop", "crud", tmp_path)
    assert exc.value.hint and "--force" in exc.value.hint
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["events", "shop.json"]
    assert (tmp_path / "events" / "shop.json").read_text() == "mine"


def test_force_overwrites_and_says_what_it_replaced(tmp_path: Path) -> None:
    first = create_lab("shop", "crud", tmp_path)
    first.spec.write_text("edited")
    again = create_lab("shop", "crud", tmp_path, force=True)
    assert sorted(again.overwritten) == sorted(first.files)
    assert again.spec.read_text().startswith("name: shop\n")


def test_force_replaces_a_link_and_never_writes_where_it_points(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("keep me")
    project = tmp_path / "project"
    project.mkdir()
    (project / "shop.yaml").symlink_to(elsewhere)
    with pytest.raises(UsageError, match="already exists"):
        create_lab("shop", "function", project)
    create_lab("shop", "function", project, force=True)
    assert elsewhere.read_text() == "keep me"
    assert not (project / "shop.yaml").is_symlink()


def test_a_directory_where_a_file_goes_is_refused_even_with_force(tmp_path: Path) -> None:
    (tmp_path / "shop.yaml").mkdir()
    with pytest.raises(UsageError, match="is a directory"):
        create_lab("shop", "function", tmp_path, force=True)


@pytest.mark.parametrize("name", ["", "Shop", "9lives", "my_lab", "a" * 21, "../x", "lab\n"])
def test_names_the_spec_refuses_are_refused(name: str, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="invalid lab name"):
        create_lab(name, "function", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_built_in_labs_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="'crud' is the name of a built-in lab") as exc:
        create_lab("crud", "crud", tmp_path)
    assert exc.value.hint == "pick another name, e.g. my-crud"


def test_an_unknown_template_names_the_close_one_and_all(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown template 'qeueu'") as exc:
        create_lab("shop", "qeueu", tmp_path)
    assert exc.value.hint and exc.value.hint.startswith("did you mean 'queue'?")
    assert all(t in exc.value.hint for t in TEMPLATES)


def test_the_templates_are_data_inside_the_package() -> None:
    """They ship with the wheel (a directory of awslab/ is packed whole) and hold no Python that
    the package's linters and type checker would read as awslab's own."""
    assert TEMPLATES_DIR.parent == Path(__import__("awslab").__file__).parent
    assert not list(TEMPLATES_DIR.rglob("*.py"))


def test_the_cli_writes_into_dir_and_shows_what_to_run_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["new", "orders", "--from", "queue", "--dir", "labs"])
    assert result.exit_code == 0, result.output
    assert "created lab orders from template queue in labs:" in result.output
    lines = result.output.splitlines()
    steps = lines[lines.index("next:") + 1 :]
    assert [s.strip() for s in steps][:3] == [
        "awslab up labs/orders.yaml",
        "awslab check labs/orders.yaml",
        "awslab invoke orders consumer --payload @labs/events/orders.json",
    ]
    assert steps[-1].strip() == "awslab teardown orders"
    assert (tmp_path / "labs" / "handlers" / "orders" / "consumer.py").is_file()


def test_the_cli_defaults_to_a_function_here_and_answers_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["new", "hello", "--output", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["template"] == "function" and data["spec"] == "hello.yaml"
    assert data["next_steps"][0] == "awslab up ./hello.yaml"
    assert (tmp_path / "hello.yaml").is_file()


def test_the_cli_refuses_an_existing_file_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(app, ["new", "hello"]).exit_code == 0
    result = CliRunner().invoke(app, ["new", "hello"])
    assert result.exit_code == 2
    assert (
        result.output.splitlines()[0] == "error: hello.yaml already exists (and 2 more); nothing was written"
    )
    assert "Traceback" not in result.output
