"""awslab's price table (pricing.json: us-east-1, its date, each price's free tier), loaded once.

Its own module, apart from the estimates (awslab.pricing), because it needs neither pydantic nor
the spec models: the CLI shows the table's date in `status --help` without loading them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class Price:
    key: str
    service: str
    item: str
    usd: float  # per `per` units
    per: int
    unit: str
    free: float  # units a month the free tier covers (0: none)
    term: str  # "always", "12 months" or "none"
    pool: str  # prices sharing one free allowance share a pool (Lambda compute on x86 and arm64)
    source: str = ""  # the AWS pricing page it comes from
    checked: str = ""  # when it was last compared with that page (YYYY-MM-DD)

    def cost(self, quantity: float) -> float:
        return quantity * self.usd / self.per

    @property
    def shown(self) -> str:
        """'$0.20 per 1M requests', '$0.0000166667 per GB-s'."""
        per = {1: "", 1000: "1,000 ", 1_000_000: "1M "}.get(self.per, f"{self.per:,} ")
        digits = f"{self.usd:.10f}".rstrip("0")
        whole, _, cents = digits.partition(".")
        return f"${whole}.{cents.ljust(2, '0')} per {per}{self.unit}"

    @property
    def free_shown(self) -> str:
        if self.term == "none" or not self.free:
            return "none"
        amount = f"{self.free / 1_000_000:g}M" if self.free >= 1_000_000 else f"{self.free:,g}"
        return f"{amount} {self.unit} a month ({self.term})"


@dataclass(frozen=True)
class PriceTable:
    region: str
    currency: str
    as_of: str
    source: str
    notes: tuple[str, ...]
    prices: Mapping[str, Price]

    def __getitem__(self, key: str) -> Price:
        return self.prices[key]


@cache
def table() -> PriceTable:
    """The price table shipped with awslab."""
    data = json.loads(resources.files("awslab").joinpath("pricing.json").read_text(encoding="utf-8"))
    prices = {
        key: Price(
            key,
            p["service"],
            p["item"],
            float(p["usd"]),
            int(p["per"]),
            p["unit"],
            float(p["free"]),
            p["term"],
            p.get("pool", key),
            p.get("source", ""),
            p.get("checked", ""),
        )
        for key, p in data["prices"].items()
    }
    return PriceTable(
        data["region"], data["currency"], data["as_of"], data["source"], tuple(data["notes"]), prices
    )
