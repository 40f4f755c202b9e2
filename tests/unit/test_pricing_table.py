"""The price table has one loader (awslab.pricing_table), which the estimates and the CLI's help
share, and which loads neither pydantic nor the spec models (`status --help` shows its date)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from awslab import pricing, pricing_table

REPO = Path(__file__).resolve().parents[2]


def _run(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_loading_the_price_table_imports_neither_pydantic_nor_the_spec() -> None:
    modules = json.loads(_run(
        "import json, sys; from awslab.pricing_table import table; table(); print(json.dumps(sorted(sys.modules)))"
    ))  # fmt: skip
    assert not [m for m in modules if m.split(".")[0] in {"pydantic", "yaml", "boto3"}]
    assert not [m for m in modules if m.startswith(("awslab.spec", "awslab.references", "awslab.pricing."))]


def test_the_estimates_use_the_same_table() -> None:
    assert pricing.table is pricing_table.table and pricing.table().prices["lambda.requests"].per > 0


def test_the_status_help_dates_its_prices_from_the_one_loader() -> None:
    """The CLI does not read pricing.json on its own: the table the loader gives is the one shown."""
    help_text = _run(
        "import dataclasses, awslab.pricing_table as t\n"
        "real = t.table()\n"
        "t.table = lambda: dataclasses.replace(real, region='xx-test-1', as_of='1999-01')\n"
        "from awslab.cli.labs import STATUS_HELP\n"
        "print(STATUS_HELP)\n"
    )
    assert "AWS list prices for xx-test-1 as of 1999-01" in help_text
