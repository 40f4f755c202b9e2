"""Specs cannot reach outside their project: spec paths must resolve under the directory that
holds the spec (the built-in labs: the lab tree), and symlinks in a Lambda's code or a website's
files may point only inside it. Found by a probe: `code: /etc` zipped /etc/shadow, and a
symlinked file was served anonymously from a website."""

from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path
from typing import Any, cast

import pytest

from awslab.build import build_bundle
from awslab.errors import OutsideProjectError
from awslab.project_files import builtin_configs_dir, project_root, walk_files
from awslab.resources.base import Context
from awslab.resources.s3_files import Files, FilesProps
from awslab.spec import builtin_labs, load_spec
from tests.unit.spec_cases import (
    FN,
    assert_problem,
    lab_dir_fixture,  # noqa: F401 (provides the lab_dir fixture)
    problems_of,
)

OUTSIDE = "leads outside {root} \\(the directory that holds the spec\\); a lab may only use files under it"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory beside the lab's, with a secret in it."""
    d = tmp_path.parent / f"{tmp_path.name}-outside"
    d.mkdir()
    (d / "secret.txt").write_text("password")
    return d


def fn_with_code(code: str) -> str:
    return f"name: a\nresources:\n  fn: {FN.replace('code: code', f'code: {code}')}\n"


# ---- spec paths (validation) -------------------------------------------------------------------
@pytest.mark.parametrize("code", ["/etc", "../../", "code/../.."])
def test_a_code_directory_outside_the_spec_directory_is_refused(lab_dir: Path, code: str) -> None:
    problems = problems_of(lab_dir, fn_with_code(code))
    assert len(problems) == 1
    assert_problem(problems[0], 3, "resources.fn.code", f"^'{code}' " + OUTSIDE.format(root=lab_dir))


def test_a_sibling_directory_reached_with_dot_dot_is_refused(lab_dir: Path, outside: Path) -> None:
    problems = problems_of(lab_dir, fn_with_code(f"../{outside.name}"))
    assert_problem(problems[0], 3, "resources.fn.code", "leads outside .*move the directory there, or the spec "
                   "up to a directory that contains both")  # fmt: skip


def test_a_symlinked_code_directory_is_judged_by_its_target(lab_dir: Path, outside: Path) -> None:
    (lab_dir / "linked").symlink_to(outside)
    problems = problems_of(lab_dir, fn_with_code("linked"))
    assert_problem(problems[0], 3, "resources.fn.code", "^'linked' leads outside")


def test_website_source_definition_and_check_uploads_are_held_in_too(lab_dir: Path, outside: Path) -> None:
    problems = problems_of(
        lab_dir,
        f"""\
name: a
resources:
  b: {{type: s3.bucket}}
  f: {{type: s3.files, bucket: '${{b.name}}', source: ../{outside.name}}}
  sm: {{type: stepfunctions.state_machine, role: 'arn:aws:iam::1:role/r', definition: /etc/hostname}}
checks:
  - upload: {outside}/secret.txt
""",
    )
    assert [p.split(": ")[1] for p in problems] == [
        "resources.f.source",
        "resources.sm.definition",
        "checks[0].upload",
    ]
    assert all("leads outside" in p for p in problems), problems


def test_paths_inside_the_spec_directory_are_fine(lab_dir: Path) -> None:
    (lab_dir / "sub" / "handler").mkdir(parents=True)
    (lab_dir / "via-link").symlink_to(lab_dir / "sub" / "handler")
    for code in ("sub/handler", "./sub/../sub/handler", "via-link", str(lab_dir / "code")):
        (lab_dir / "lab.yaml").write_text(fn_with_code(code))
        assert load_spec("lab.yaml").resources["fn"].fields["code"] == code


def test_an_event_source_arn_is_not_taken_for_a_path(lab_dir: Path) -> None:
    # `source` is a path for s3.files only; it used to be checked as a directory for every kind
    (lab_dir / "lab.yaml").write_text(
        f"name: a\nresources:\n  fn: {FN}\n  ev: {{type: lambda.event_source, function: fn, "
        "source: 'arn:aws:sqs:us-east-1:123456789012:q'}\n"
    )
    assert load_spec("lab.yaml").resources["ev"].fields["source"].startswith("arn:aws:sqs:")


def test_the_builtin_labs_use_the_lab_tree() -> None:
    configs = builtin_configs_dir()
    assert project_root(configs) == configs.parent.resolve()
    assert (project_root(configs) / "handlers" / "crud").is_dir()


# ---- symlinks in handler and website directories (build and upload) ----------------------------
def bundle(code: Path, spec_dir: Path) -> list[str]:
    b = build_bundle(
        code, bundle_requirements=False, runtime="python3.12", architecture="x86_64", spec_dir=spec_dir
    )
    return zipfile.ZipFile(io.BytesIO(b.zip_bytes)).namelist()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project: lab.yaml, handlers/fn (the code) and shared/ beside it."""
    (tmp_path / "handlers" / "fn").mkdir(parents=True)
    (tmp_path / "handlers" / "fn" / "app.py").write_text("def handler(e, c):\n    return 1\n")
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "util.py").write_text("X = 1\n")
    (tmp_path / "lab.yaml").write_text("name: a\n")
    return tmp_path


@pytest.mark.parametrize("target", ["file", "directory", "dangling"])
def test_a_link_out_of_the_project_in_a_handler_dir_is_refused_and_named(
    project: Path, outside: Path, target: str
) -> None:
    link = project / "handlers" / "fn" / "leak"
    link.symlink_to(
        {"file": outside / "secret.txt", "directory": outside, "dangling": project / "gone"}[target]
    )
    with pytest.raises(OutsideProjectError) as info:
        bundle(project / "handlers" / "fn", project)
    assert str(link) in str(info.value)
    assert ("does not exist" if target == "dangling" else f"outside the lab's project {project}") in str(
        info.value
    )
    assert info.value.hint and "inside the project" in info.value.hint


def test_links_inside_the_project_are_followed(project: Path) -> None:
    code = project / "handlers" / "fn"
    (code / "util.py").symlink_to(project / "shared" / "util.py")
    (code / "shared").symlink_to(project / "shared")
    assert bundle(code, project) == ["app.py", "shared/util.py", "util.py"]


def test_a_link_loop_is_refused(project: Path) -> None:
    (project / "handlers" / "fn" / "again").symlink_to(project / "handlers")
    with pytest.raises(
        OutsideProjectError, match=r"again: a symlink to .*handlers, which contains it \(a loop\)"
    ):
        bundle(project / "handlers" / "fn", project)


def test_an_excluded_link_is_never_looked_at(project: Path, outside: Path) -> None:
    venv = project / "handlers" / "fn" / ".venv" / "bin"
    venv.mkdir(parents=True)
    (venv / "python").symlink_to(outside / "secret.txt")
    assert bundle(project / "handlers" / "fn", project) == ["app.py"]


def test_without_a_spec_links_stay_inside_the_code_directory(project: Path) -> None:
    (project / "handlers" / "fn" / "util.py").symlink_to(project / "shared" / "util.py")
    with pytest.raises(OutsideProjectError, match=r"util\.py: a symlink to"):
        build_bundle(project / "handlers" / "fn", bundle_requirements=False, runtime="python3.12",
                     architecture="x86_64")  # fmt: skip


@pytest.mark.parametrize("where", ["handler", "website"])
def test_validation_refuses_a_link_out_before_anything_is_created(
    lab_dir: Path, outside: Path, where: str
) -> None:
    """`validate`, `plan` and `up` stop at the spec, not half-way through `up` (a role made, then the
    function refused); an excluded directory may still link where it likes."""
    (lab_dir / "code").mkdir(exist_ok=True)
    (lab_dir / "code" / "app.py").write_text("def handler(e, c):\n    return 1\n")
    (lab_dir / "code" / ".venv").mkdir()
    (lab_dir / "code" / ".venv" / "python").symlink_to(outside / "secret.txt")  # excluded: fine
    spec = fn_with_code("code")
    if where == "handler":
        (lab_dir / "code" / "leak.txt").symlink_to(outside / "secret.txt")
    else:
        (lab_dir / "site").mkdir()
        (lab_dir / "site" / "leak.txt").symlink_to(outside / "secret.txt")
        spec += "  files: {type: s3.files, bucket: b, source: site}\n"
    problems = problems_of(lab_dir, spec)
    line, resource = (3, "fn") if where == "handler" else (4, "files")
    assert len(problems) == 1
    assert_problem(
        problems[0], line, f"resources.{resource}", r"leak\.txt: a symlink to .*secret\.txt, outside"
    )


def website_files(project: Path, source: str) -> dict[str, Any]:
    ctx = Context(target=cast(Any, None), lab="a", stack_id="s1", base_dir=project)
    return Files(ctx, "site", FilesProps(bucket="b", source=source))._files()


def test_a_link_out_of_the_project_in_a_website_dir_is_refused_and_named(
    project: Path, outside: Path
) -> None:
    site = project / "site"
    site.mkdir()
    (site / "index.html").write_text("<h1>hi</h1>")
    (site / "passwords.txt").symlink_to(outside / "secret.txt")
    link = re.escape(str(site / "passwords.txt"))
    with pytest.raises(
        OutsideProjectError, match=rf"^{link}: a symlink to .*secret\.txt, outside the lab's project"
    ):
        website_files(project, "site")
    (site / "passwords.txt").unlink()
    (site / "shared.js").symlink_to(project / "shared" / "util.py")  # inside: served
    assert sorted(website_files(project, "site")) == ["index.html", "shared.js"]


def test_walk_files_passes_over_fifos(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")  # reading it would block: not a file to ship
    (tmp_path / "a.txt").write_text("a")
    assert [rel for rel, _ in walk_files(tmp_path, tmp_path)] == ["a.txt"]


# ---- the built-in labs -----------------------------------------------------------------------------
@pytest.mark.parametrize("lab", sorted(builtin_labs()))
def test_the_builtin_labs_validate_and_build(
    lab: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AWSLAB_CACHE_DIR", str(tmp_path / "cache"))
    spec = load_spec(builtin_labs()[lab])
    ctx = Context(target=cast(Any, None), lab=lab, stack_id="s1", base_dir=spec.base_dir)
    for r in spec.resources.values():
        if r.kind == "lambda.function":
            module = r.fields.get("handler", "app.handler").rsplit(".", 1)[0] + ".py"
            assert module in bundle(ctx.path(r.fields["code"]), spec.base_dir)
        elif r.kind == "s3.files" and "source" in r.fields:
            assert any(
                k.endswith("index.html") for k in Files(ctx, r.logical, FilesProps(**r.fields))._files()
            )
