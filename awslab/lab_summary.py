"""What `awslab status` says of each lab besides its resources: its age, its cost (or what it
would cost on AWS), and its TTL (`up --ttl`), when it has one: the time it leaves, or that the
reaper is due or has removed the lab."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from awslab.lab_age import LabAge, lab_age
from awslab.lab_cost import LabCost, lab_cost
from awslab.state import LabState

if TYPE_CHECKING:  # awslab.ttl needs the spec models: imported only for a lab that has a TTL
    from awslab.ttl import TtlStatus


@dataclass
class LabSummary:
    lab: str
    stack_id: str
    age: LabAge
    cost: LabCost
    now: datetime
    ttl: TtlStatus | None = None  # 'awslab up --ttl': None when the lab has none

    def lines(self) -> list[str]:
        since = self.age.created.strftime("%Y-%m-%d %H:%M UTC")
        up = f"up {self.age.shown(self.now)} (since {since}"
        up += ")" if self.age.exact else "; the state file records no creation time)"
        ttl = f"; {self.ttl.said}" if self.ttl else ""
        return [f"Lab '{self.lab}' (stack {self.stack_id}): {up}{ttl}.", f"  {self.cost.shown()}"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "age": self.age.to_dict(self.now),
            "cost": self.cost.to_dict(),
            **({"ttl": self.ttl.to_dict()} if self.ttl else {}),
        }


def summarize(
    labs: Mapping[str, LabState],
    state_file: Path | None,
    *,
    real_account: bool,
    region: str,
    now: datetime,
    healths: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, LabSummary]:
    """`healths`: each lab's resources' health by logical name, as `status` found them (a TTL's
    reaper is known to have run when they are missing)."""
    out: dict[str, LabSummary] = {}
    for name, state in labs.items():
        age = lab_age(state, state_file)
        cost = lab_cost(state, real_account=real_account, region=region, age=age.age(now), lab=name)
        ttl = _ttl_status(name, state.ttl, (healths or {}).get(name, {}), now) if state.ttl else None
        out[name] = LabSummary(name, state.stack_id, age, cost, now, ttl)
    return out


def _ttl_status(name: str, recorded: dict[str, Any], healths: Mapping[str, str], now: datetime) -> TtlStatus:
    from awslab.ttl import status_of

    return status_of(name, recorded, healths, now)
