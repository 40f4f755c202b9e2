"""What a deployed lab costs on a real account, or, on the local cloud, what it would cost there:
what was deployed, priced by `awslab.pricing` at the stated usage, so far (over its age) and per month.

What was deployed is what the state records of the spec that `up` last applied in full (`priced`),
less what is no longer there (a teardown cut short), at today's prices and usage: a spec edited
since is not read (nor validated: `status` needs no spec models). What an `up` that did not finish
left besides is listed as not priced: what it is was never recorded. A state of an older awslab
records none (nor one in a form this awslab does not read): its spec is read again now, and the cost
says so; one that cannot be read (moved, invalid, a param without a value) gives no estimate, with
why."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from awslab.errors import AwslabError
from awslab.pricing import (
    FREE_KINDS,
    Estimate,
    PriceTable,
    Usage,
    estimate,
    estimate_priced,
    priced_from_record,
    table,
)
from awslab.state import LabState
from awslab.ttl_names import LOGICALS as REAPER

UNFINISHED = "left by an 'up' that did not finish"


def usd(amount: float) -> str:
    """'$4.37', '$0.0042', '< $0.0001', '$0.00': cents from a cent up, else four decimals."""
    if amount >= 0.01 or amount <= 0:
        return f"${max(amount, 0.0):,.2f}"
    return f"${amount:.4f}" if amount >= 0.0001 else "< $0.0001"


def _about(amount: float) -> str:
    shown = usd(amount)
    return shown if shown.startswith("<") else f"≈ {shown}"


@dataclass(frozen=True)
class LabCost:
    real_account: bool  # False on the local cloud: what the lab *would* cost on AWS
    region: str  # the target's
    age: timedelta
    estimate: Estimate | None
    problem: str = ""  # why there is no estimate
    note: str = ""  # why it is of the spec as it is now, not of what was deployed

    @property
    def label(self) -> str:
        return "Estimated cost" if self.real_account else "Would cost on AWS"

    @property
    def so_far_usd(self) -> float:
        return self.estimate.so_far(self.age) if self.estimate else 0.0

    @property
    def so_far_idle_usd(self) -> float:
        return self.estimate.so_far(self.age, used=False) if self.estimate else 0.0

    def shown(self) -> str:
        """One line: the label, so far, a month at list price, after the always-free tier, idle."""
        if self.estimate is None:
            return f"{self.label}: unknown ({self.problem})"
        e, prices = self.estimate, self.estimate.table
        region = "" if self.region == prices.region else f"; {self.region} prices differ a little"
        unpriced = f"; not priced: {', '.join(e.unpriced)}" if e.unpriced else ""
        note = f"; {self.note}" if self.note else ""
        return (
            f"{self.label}: {_about(self.so_far_usd)} so far ({usd(self.so_far_idle_usd)} if unused); "
            f"{usd(e.monthly_usd)} a month at list price, {usd(e.after_free_tier())} after the always-free "
            f"tier, {usd(e.idle_usd)} idle ({prices.region} prices of {prices.as_of}{region}{unpriced}{note}; "
            "assumptions: 'awslab status --help')"
        )

    def to_dict(self) -> dict[str, Any]:
        basis = "this account (estimate)" if self.real_account else "what it would cost on AWS (local cloud)"
        if self.estimate is None:
            return {"basis": basis, "error": self.problem}
        e = self.estimate
        return {
            "basis": basis,
            "so_far_usd": round(self.so_far_usd, 6),
            "so_far_idle_usd": round(self.so_far_idle_usd, 6),
            **{k: v for k, v in e.to_dict().items() if k not in ("lab", "assumptions")},
            "target_region": self.region,
            **({"note": self.note} if self.note else {}),
        }


def lab_cost(
    state: LabState,
    *,
    lab: str,
    real_account: bool,
    region: str,
    age: timedelta,
    usage: Usage | None = None,
) -> LabCost:
    """What lab `lab`, as `state` records it, costs (the module's doc says what is priced)."""
    deployed = priced_from_record(state.priced) if state.priced else None
    if deployed is None:
        return _from_spec(state, real_account=real_account, region=region, age=age, usage=usage)
    recorded = {p.logical for p in deployed}
    there = estimate_priced(lab, [p for p in deployed if p.logical in state.resources], usage)
    # the TTL's reaper is never priced (deploy() in awslab/cli/labs.py); a free kind costs nothing
    left = tuple(
        f"{name} ({r.kind}; {UNFINISHED})"
        for name, r in state.resources.items()
        if name not in recorded and name not in REAPER and r.kind not in FREE_KINDS
    )
    return LabCost(real_account, region, age, replace(there, unpriced=there.unpriced + left))


def _from_spec(
    state: LabState, *, real_account: bool, region: str, age: timedelta, usage: Usage | None
) -> LabCost:
    """A state that records no cost (an older awslab's, or one in a form this awslab does not
    read): its spec as it is now, which may have been edited since it was deployed."""
    from awslab.spec import load_spec  # pydantic and the kinds: only for such a state

    if not state.priced:
        why = "the state records no cost of what was deployed (an older awslab's 'up')"
    else:
        why = ("the state records what was deployed in a form this awslab does not read (a newer awslab's "
               "'up', or an edited state file)")  # fmt: skip
    try:
        spec = load_spec(Path(state.spec)) if state.spec else None
    except AwslabError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return LabCost(real_account, region, age, None, f"{why} and its spec cannot be read: {first}")
    if spec is None:
        return LabCost(real_account, region, age, None, f"{why} and names no spec")
    return LabCost(real_account, region, age, estimate(spec, usage), note=f"the spec as it is now: {why}")


def assumptions(usage: Usage | None = None, prices: PriceTable | None = None) -> dict[str, Any]:
    """What every estimate assumes, for `--output json`."""
    prices = prices or table()
    return {
        "usage": (usage or Usage()).describe(),
        "region": prices.region,
        "prices_as_of": prices.as_of,
        "currency": prices.currency,
        "source": prices.source,
        "notes": list(prices.notes),
        "so_far": "the month's estimate at list price, pro rata over the lab's age (30.4 days a month)",
    }
