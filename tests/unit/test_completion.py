"""Shell completion (issue 11, item 8): `awslab --show-completion SHELL` prints the script the
README tells a learner to install, and that script's protocol completes commands and options."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

AWSLAB = str(Path(sys.executable).parent / "awslab")


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [AWSLAB, *args], capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})}
    )


def test_show_completion_prints_a_bash_script_for_awslab() -> None:
    proc = run("--show-completion", "bash")
    assert proc.returncode == 0, proc.stderr
    assert "complete -o default -F _awslab_completion awslab" in proc.stdout
    assert "_AWSLAB_COMPLETE=complete_bash" in proc.stdout


def test_the_script_completes_commands_and_their_options() -> None:
    def complete(words: str) -> list[str]:
        cword = str(len(words.split()) - 1)
        env = {"COMP_WORDS": words, "COMP_CWORD": cword, "_AWSLAB_COMPLETE": "complete_bash"}
        proc = run(env=env)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.split()

    assert complete("awslab u") == ["up", "upload"]
    assert "--watch" in complete("awslab up --w")
