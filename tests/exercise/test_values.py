"""Values on the command line: JSON inline, from a file (@FILE) or from standard input (@-), each
error naming the option."""

from __future__ import annotations

from pathlib import Path

import pytest

from awslab.errors import UsageError
from awslab.exercise.values import json_option, option_text


def test_json_options_name_the_option() -> None:
    assert json_option('{"a": [1, 2]}', "--json") == {"a": [1, 2]}
    with pytest.raises(UsageError) as e:
        json_option("{a: 1}", "--payload")
    assert str(e.value).startswith("--payload is not valid JSON")
    assert e.value.exit_code == 2


def test_at_file_and_at_stdin(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text('{"Records": [{"body": "hi"}]}')
    assert json_option(f"@{event}", "--payload") == {"Records": [{"body": "hi"}]}
    assert json_option("@-", "--input", stdin=lambda: '{"name": "Ada"}') == {"name": "Ada"}
    assert option_text("@-", "BODY", stdin=lambda: "from a pipe") == "from a pipe"
    assert option_text("plain text", "BODY") == "plain text"
    with pytest.raises(UsageError, match=r"--payload @.*missing\.json: cannot read the file: No such file"):
        json_option(f"@{tmp_path / 'missing.json'}", "--payload")
    (tmp_path / "bad.json").write_text("{nope")
    with pytest.raises(UsageError, match=r"--json @.*bad\.json is not valid JSON"):
        json_option(f"@{tmp_path / 'bad.json'}", "--json")
