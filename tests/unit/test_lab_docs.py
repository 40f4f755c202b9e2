"""docs/labs/*.md: written by tools/lab_docs.py and kept up to date with it; each page's diagram is
what `awslab graph LAB` prints, and each command a page shows is one the CLI accepts."""

from __future__ import annotations

import importlib.util
import re
import shlex
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from awslab.spec import builtin_labs

ROOT = Path(__file__).resolve().parents[2]
LABS = sorted(builtin_labs())


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lab_docs", ROOT / "tools" / "lab_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_pages_are_what_the_generator_writes() -> None:
    wanted = generator().pages()
    assert sorted(p.name for p in wanted) == [f"{lab}.md" for lab in LABS]
    for path, text in wanted.items():
        assert path.is_file(), f"{path} is missing: run python tools/lab_docs.py"
        assert path.read_text(encoding="utf-8") == text, (
            f"{path} is out of date: run python tools/lab_docs.py"
        )


def test_the_check_mode_reports_a_stale_page(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:  # fmt: skip
    docs = generator()
    monkeypatch.setattr(docs, "DOCS", tmp_path)
    assert docs.main([]) == 0
    assert docs.main(["--check"]) == 0
    (tmp_path / "crud.md").write_text("old\n")
    assert docs.main(["--check"]) == 1
    assert "crud.md is out of date" in capsys.readouterr().err


@pytest.mark.parametrize("lab", LABS)
def test_each_page_shows_the_graph_command_output(lab: str) -> None:
    from awslab.cli.main import app

    page = (ROOT / "docs" / "labs" / f"{lab}.md").read_text(encoding="utf-8")
    block = re.search(r"```mermaid\n(.*?)```", page, re.S)
    assert block is not None
    printed = CliRunner().invoke(app, ["graph", lab])
    assert printed.exit_code == 0 and block.group(1) == printed.output


@pytest.mark.parametrize("lab", LABS)
def test_each_command_on_a_page_is_accepted_by_the_cli(lab: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Parsed by the real commands (arguments, options, files that must exist), not run."""
    from awslab.cli.main import app

    monkeypatch.chdir(ROOT)  # upload paths are shown from the repository's root
    page = (ROOT / "docs" / "labs" / f"{lab}.md").read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", page, re.S)
    assert block is not None
    commands = [shlex.split(line) for line in block.group(1).splitlines() if line.startswith("awslab ")]
    assert len(commands) >= 4  # up, at least one exercise, check, teardown
    group: Any = typer.main.get_command(app)  # the lazy group: only each command's module is imported
    for argv in commands:
        command = group.get_command(None, argv[1])
        assert command is not None, argv
        command.make_context(f"awslab {argv[1]}", argv[2:])  # raises a UsageError when wrong


def test_readme_links_every_page() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for lab in LABS:
        assert f"(docs/labs/{lab}.md)" in readme


if __name__ == "__main__":
    sys.exit(pytest.main([__file__]))
