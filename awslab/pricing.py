"""What a lab would cost on a real AWS account: an estimate per month from a lab's spec and stated
usage, at the prices of awslab's price table (awslab.pricing_table: us-east-1, its date, each
price's free tier).

The estimate is a model, not a bill. `Usage` states every assumption: each entry point, function,
table, queue, topic, bucket and state machine of the lab handles `requests` a month (an upper
bound: in a real lab a request takes one path, not all of them), functions run `duration_ms` each
at their configured memory, and so on. Schedules fire as their expressions say, with or without
anyone using the lab.

Idle cost is what a month costs with nobody using the lab: storage that stays (table items, bucket
objects, logs), schedules firing, and the polling of an SQS queue by its Lambda event source. Most
serverless labs cost nothing idle beyond that; `Estimate.idle_usd` says how much exactly.

Each kind's charges come from one entry of `PRICERS`; a kind without one (a role: free) has none,
and a kind the table does not know is listed in `Estimate.unpriced`. A pricer reads the facts of
the spec its charges depend on (a function's memory, the files' size, a schedule's firings) into a
`Priced` resource, and prices that: `up` records each lab's (`priced_record`), so that `status`
prices what was deployed, at today's prices and usage, without reading the spec again.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from awslab.pricing_table import Price as Price
from awslab.pricing_table import PriceTable as PriceTable
from awslab.pricing_table import table as table
from awslab.references import REF_RE

if TYPE_CHECKING:  # the spec is read by `priced` only: `status` prices what `up` recorded without it
    from awslab.spec import LabSpec, ResourceSpec

HOURS_PER_MONTH = 730  # AWS's pricing pages count a month as 730 hours
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600
GB = 1024 * 1024 * 1024
FREE_KINDS = frozenset({"iam.role", "s3.notification", "events.bus", "lambda.url"})  # no charge of their own


# ---- assumptions and results ---------------------------------------------------------------------
@dataclass(frozen=True)
class Usage:
    """A learner's month with a lab, stated so that anyone can redo the sums."""

    requests: int = (
        10_000  # handled by each entry point, function, table, queue, topic, bucket and state machine
    )
    duration_ms: float = 200  # billed duration of one function invocation
    log_kb: float = 1.0  # log data one invocation writes (Lambda's START/END/REPORT lines alone are ~0.3 KB)
    item_kb: float = 1.0  # size of an item written or read, of a message
    stored_gb: float = 0.01  # data each table and each bucket keeps (10 MB)
    sqs_pollers: int = 5  # long polls (20 s) a Lambda event source keeps waiting on an idle queue

    def describe(self) -> list[str]:
        return [
            f"{self.requests:,} requests a month through each API, function, table, queue, topic, bucket and "
            "state machine (an upper bound: a real request takes one path, not all of them)",
            f"{self.duration_ms:g} ms per function invocation at the function's memory; "
            f"{self.log_kb:g} KB of logs per invocation, kept for the month",
            f"{self.item_kb:g} KB per item or message; {self.stored_gb:g} GB stored in each table and bucket",
            f"an SQS event source keeps {self.sqs_pollers} long polls of 20 s waiting on its queue "
            "(AWS does not publish the idle rate: an estimate)",
            "state machines pass through every state once per execution; schedules fire as written",
        ]


@dataclass(frozen=True)
class Line:
    """One charge of one resource for a month."""

    resource: str
    kind: str
    price: Price
    quantity: float  # in the price's unit, per month
    idle: bool  # charged with nobody using the lab too
    note: str = ""

    @property
    def usd(self) -> float:
        return self.price.cost(self.quantity)


@dataclass(frozen=True)
class Estimate:
    lab: str
    usage: Usage
    table: PriceTable
    lines: tuple[Line, ...]
    unpriced: tuple[str, ...] = ()  # "logical (kind)" of a kind the table has no price for, or "(kind; why)"

    @property
    def monthly_usd(self) -> float:
        """A month at the stated usage, at list price (no free tier)."""
        return sum(x.usd for x in self.lines)

    @property
    def idle_usd(self) -> float:
        """A month with nobody using the lab, at list price."""
        return sum(x.usd for x in self.lines if x.idle)

    def after_free_tier(self, *, idle: bool = False, twelve_months: bool = False) -> float:
        """After the free tier, as if nothing else on the account used it: the always-free allowances,
        and the 12-month ones too with `twelve_months` (accounts in their first year, created before
        15 July 2025)."""
        pools: dict[str, list[Line]] = {}
        for x in self.lines:
            if x.idle or not idle:
                pools.setdefault(x.price.pool, []).append(x)
        total = 0.0
        for lines in pools.values():
            price = lines[0].price
            covered = price.term == "always" or (twelve_months and price.term == "12 months")
            quantity = sum(x.quantity for x in lines)
            share = max(0.0, 1 - price.free / quantity) if covered and quantity else 1.0
            total += share * sum(x.usd for x in lines)
        return total

    def so_far(self, age: dt.timedelta, *, used: bool = True) -> float:
        """What the lab has cost over `age` at this estimate's monthly rate (list price), with the
        stated usage or (`used=False`) idle."""
        rate = self.monthly_usd if used else self.idle_usd
        return rate * age.total_seconds() / SECONDS_PER_MONTH

    def to_dict(self) -> dict[str, Any]:
        return {
            "lab": self.lab,
            "region": self.table.region,
            "prices_as_of": self.table.as_of,
            "assumptions": self.usage.describe(),
            "monthly_usd": round(self.monthly_usd, 4),
            "monthly_usd_after_always_free": round(self.after_free_tier(), 4),
            "idle_monthly_usd": round(self.idle_usd, 4),
            "idle_monthly_usd_after_always_free": round(self.after_free_tier(idle=True), 4),
            "lines": [
                {
                    "resource": x.resource,
                    "kind": x.kind,
                    "price": x.price.key,
                    "quantity": x.quantity,
                    "unit": x.price.unit,
                    "usd": round(x.usd, 6),
                    "idle": x.idle,
                    "note": x.note,
                    "source": x.price.source,
                }
                for x in self.lines
            ],
            "unpriced": list(self.unpriced),
        }


# ---- what each resource's charges depend on ------------------------------------------------------
PRICED_VERSION = 1  # of `Priced.to_dict`'s facts: a state that records another is priced from its spec


@dataclass(frozen=True)
class Priced:
    """One resource as its charges see it: its kind and the facts of its spec they depend on
    (memory, FIFO or not, files' size, states, schedules...), apart from the usage and the prices.
    `up` records them (awslab.state), so that `status` prices what was deployed, without the spec,
    at the usage and the prices of the awslab that runs it."""

    logical: str
    kind: str
    facts: Mapping[str, Any] = field(default_factory=dict)  # JSON values

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "facts": dict(self.facts)}

    @classmethod
    def from_dict(cls, logical: str, d: Mapping[str, Any]) -> Priced:
        return cls(logical, str(d["kind"]), dict(d["facts"]))


def priced(spec: LabSpec) -> tuple[Priced, ...]:
    """Each resource of `spec` with the facts its charges depend on."""
    firings = _scheduled_targets(spec)
    out = []
    for r in spec.resources.values():
        pricer = PRICERS.get(r.kind)
        facts = pricer.facts(InSpec(r, spec, firings)) if pricer and pricer.facts else {}
        out.append(Priced(r.logical, r.kind, facts))
    return tuple(out)


def priced_record(spec: LabSpec) -> dict[str, Any]:
    """What `up` records in the lab's state for `status` to price (`priced_from_record`)."""
    return {"version": PRICED_VERSION, "resources": {p.logical: p.to_dict() for p in priced(spec)}}


def priced_from_record(record: Mapping[str, Any]) -> tuple[Priced, ...] | None:
    """The resources a state records (`priced_record`); None when it records them in another
    version (a newer awslab's) or not in a form this one reads."""
    if record.get("version") != PRICED_VERSION or not isinstance(record.get("resources"), Mapping):
        return None
    try:
        return tuple(Priced.from_dict(name, d) for name, d in record["resources"].items())
    except (KeyError, TypeError, AttributeError):
        return None


# ---- each kind's charges -------------------------------------------------------------------------
@dataclass
class Context:
    """What the pricers of a lab share: the usage and the table."""

    usage: Usage
    prices: PriceTable

    def line(self, r: Priced, price: str, quantity: float, *, idle: bool = False, note: str = "") -> Line:
        return Line(r.logical, r.kind, self.prices[price], quantity, idle, note)


@dataclass(frozen=True)
class InSpec:
    """A resource of a spec as a kind's `facts` read it: its fields, the spec around it, and the
    firings a month of the schedules that invoke each function."""

    r: ResourceSpec
    spec: LabSpec
    firings: Mapping[str, float]

    @property
    def fields(self) -> Mapping[str, Any]:
        return self.r.fields


@dataclass(frozen=True)
class Pricer:
    """A kind's charges: `facts` reads what they depend on from the spec (JSON values: `up`
    records them), `charges` prices them at a usage."""

    charges: Callable[[Priced, Context], Iterable[Line]]
    facts: Callable[[InSpec], dict[str, Any]] | None = None  # None: they depend on the usage only


def _function_facts(x: InSpec) -> dict[str, Any]:
    return {
        "memory": x.fields.get("memory", 128),
        "arm64": x.fields.get("architecture") == "arm64",
        "scheduled": x.firings.get(x.r.logical, 0.0),
    }


def _function(r: Priced, c: Context) -> Iterator[Line]:
    u, scheduled = c.usage, float(r.facts.get("scheduled", 0.0))
    memory = r.facts.get("memory", 128)
    duration = "lambda.duration_arm64" if r.facts.get("arm64") else "lambda.duration"
    per_call = u.duration_ms / 1000 * float(memory) / 1024
    yield c.line(r, "lambda.requests", u.requests)
    yield c.line(r, duration, u.requests * per_call, note=f"{memory} MB")
    logs = u.requests * u.log_kb * 1024 / GB
    yield c.line(r, "logs.ingestion", logs)
    yield c.line(r, "logs.storage", logs, note="the month's logs; log groups keep them until deleted")
    if scheduled:
        note = "invoked by a schedule"
        yield c.line(r, "lambda.requests", scheduled, idle=True, note=note)
        yield c.line(r, duration, scheduled * per_call, idle=True, note=note)
        yield c.line(r, "logs.ingestion", scheduled * u.log_kb * 1024 / GB, idle=True, note=note)
        yield c.line(r, "logs.storage", scheduled * u.log_kb * 1024 / GB, idle=True, note=note)


def _rest_api(r: Priced, c: Context) -> Iterator[Line]:
    yield c.line(r, "apigateway.rest_requests", c.usage.requests)


def _http_api(r: Priced, c: Context) -> Iterator[Line]:
    # HTTP APIs meter each 512 KB of a request as one request: labs' requests are far smaller
    yield c.line(r, "apigateway.http_requests", c.usage.requests)


def _table(r: Priced, c: Context) -> Iterator[Line]:
    u = c.usage
    yield c.line(r, "dynamodb.writes", u.requests * math.ceil(u.item_kb), note="1 WRU per KB written")
    # eventually consistent reads: half a unit per 4 KB
    yield c.line(r, "dynamodb.reads", u.requests * math.ceil(u.item_kb / 4) / 2, note="eventually consistent")
    yield c.line(r, "dynamodb.storage", u.stored_gb, idle=True)


def _bucket(r: Priced, c: Context) -> Iterator[Line]:
    u = c.usage
    yield c.line(r, "s3.put_requests", u.requests)
    yield c.line(r, "s3.get_requests", u.requests)
    yield c.line(r, "s3.storage", u.stored_gb, idle=True)


def _files_facts(x: InSpec) -> dict[str, Any]:
    """The files `up` uploads, as they were then: how many, and their size."""
    files = [p for _, p in x.r.cls.local_files(x.r.props, x.spec.base_dir)]
    return {
        "files": len(files) + len(x.fields.get("render") or {}),
        "bytes": sum(p.stat().st_size for p in files),
    }


def _files(r: Priced, c: Context) -> Iterator[Line]:
    """Their real size, stored all month, and one PUT each per `up`."""
    count, size = int(r.facts.get("files", 0)), float(r.facts.get("bytes", 0))
    yield c.line(r, "s3.put_requests", count, note=f"{count} files, once per `up`")
    yield c.line(r, "s3.storage", size / GB, idle=True, note=f"{size / 1024:.0f} KB of files")


def _queue_facts(x: InSpec) -> dict[str, Any]:
    dead_letters_of = [
        q.logical for q in x.spec.resources.values()
        if q.kind == "sqs.queue" and _named((q.fields.get("dead_letter") or {}).get("target")) == x.r.logical
    ]  # fmt: skip
    return {"fifo": bool(x.fields.get("fifo")), "dead_letter_of": dead_letters_of}


def _queue(r: Priced, c: Context) -> Iterator[Line]:
    price = "sqs.fifo_requests" if r.facts.get("fifo") else "sqs.requests"
    chunks = math.ceil(c.usage.item_kb / 64)  # each 64 KB of a message is one request
    dead_letters_of = list(r.facts.get("dead_letter_of") or [])
    if dead_letters_of:  # only the messages that failed come here: none in a working lab
        yield c.line(r, price, 0, note=f"dead-letter queue of {', '.join(dead_letters_of)}")
    else:
        yield c.line(r, price, 3 * c.usage.requests * chunks, note="send, receive and delete each message")


def _event_source_facts(x: InSpec) -> dict[str, Any]:
    source = _named(x.fields.get("source"))
    queue = x.spec.resources.get(source or "")
    if queue is None or queue.kind != "sqs.queue":
        return {}  # a stream: its polling is free
    return {"queue": source, "fifo": bool(queue.fields.get("fifo"))}


def _event_source(r: Priced, c: Context) -> Iterator[Line]:
    """Lambda polls the source queue all the time, with the queue's request price."""
    if not r.facts.get("queue"):
        return
    price = "sqs.fifo_requests" if r.facts.get("fifo") else "sqs.requests"
    polls = c.usage.sqs_pollers * SECONDS_PER_MONTH / 20
    yield c.line(r, price, polls, idle=True, note=f"empty long polls of {r.facts['queue']}")


def _topic(r: Priced, c: Context) -> Iterator[Line]:
    chunks = math.ceil(c.usage.item_kb / 64)
    yield c.line(r, "sns.publishes", c.usage.requests * chunks, note="deliveries to SQS and Lambda are free")


def _state_machine_facts(x: InSpec) -> dict[str, Any]:
    if x.fields.get("type") == "EXPRESS":
        return {"express": True}
    return {"express": False, "states": _state_count(x.r, x.spec)}


def _state_machine(r: Priced, c: Context) -> Iterator[Line]:
    u = c.usage
    if r.facts.get("express"):
        yield c.line(r, "states.express_requests", u.requests)
        yield c.line(r, "states.express_duration", u.requests * u.duration_ms / 1000 * 0.064, note="64 MB")
        return
    states = int(r.facts.get("states", 1))
    yield c.line(r, "states.transitions", u.requests * states, note=f"{states} states per execution")


def _state_count(r: ResourceSpec, spec: LabSpec) -> int:
    from awslab.errors import SpecError
    from awslab.resources.stepfunctions import load_definition

    definition = r.fields.get("definition")
    if not isinstance(definition, str) or REF_RE.search(definition):
        return 1
    try:
        asl = load_definition((spec.base_dir / definition).resolve())
    except SpecError:
        return 1
    return max(1, _count_states(asl))


def _count_states(asl: Any) -> int:
    states = asl.get("States") if isinstance(asl, Mapping) else None
    total = 0
    for state in (states or {}).values():
        if isinstance(state, Mapping):
            total += 1
            total += sum(_count_states(b) for b in state.get("Branches") or [])
            total += sum(_count_states(state.get(k)) for k in ("Iterator", "ItemProcessor"))
    return total


def _rule_facts(x: InSpec) -> dict[str, Any]:
    schedule = x.fields.get("schedule")
    if isinstance(schedule, str):
        return {"schedule": schedule, "firings": firings_per_month(schedule)}
    return {}


def _rule(r: Priced, c: Context) -> Iterator[Line]:
    schedule = r.facts.get("schedule")
    if isinstance(schedule, str):
        yield c.line(r, "events.scheduled", float(r.facts.get("firings", 0.0)), idle=True, note=schedule)
    else:
        yield c.line(r, "events.custom_events", c.usage.requests, note="events matching the pattern")


def _schedule_facts(x: InSpec) -> dict[str, Any]:
    expression = str(x.fields.get("schedule_expression", ""))
    return {"expression": expression, "firings": firings_per_month(expression)}


def _schedule(r: Priced, c: Context) -> Iterator[Line]:
    expression = str(r.facts.get("expression", ""))
    yield c.line(r, "scheduler.invocations", float(r.facts.get("firings", 0.0)), idle=True, note=expression)


PRICERS: dict[str, Pricer] = {
    "lambda.function": Pricer(_function, _function_facts),
    "lambda.event_source": Pricer(_event_source, _event_source_facts),
    "apigateway.rest_api": Pricer(_rest_api),
    "apigateway.http_api": Pricer(_http_api),
    "dynamodb.table": Pricer(_table),
    "s3.bucket": Pricer(_bucket),
    "s3.files": Pricer(_files, _files_facts),
    "sqs.queue": Pricer(_queue, _queue_facts),
    "sns.topic": Pricer(_topic),
    "stepfunctions.state_machine": Pricer(_state_machine, _state_machine_facts),
    "events.rule": Pricer(_rule, _rule_facts),
    "scheduler.schedule": Pricer(_schedule, _schedule_facts),
}


def _named(value: Any) -> str | None:
    m = REF_RE.search(value) if isinstance(value, str) else None
    return m.group(1) if m else None


def firings_per_month(expression: str) -> float:
    """How often a rate(...) or cron(...) expression fires in an average month (730 hours); at(...)
    fires once. 0 for an expression that cannot be read (a reference resolved at deploy time)."""
    from awslab.local.eventbridge_schedule import At, Cron, ExpressionError, Rate, parse

    try:
        parsed = parse(expression, allow_at=True)
    except ExpressionError:
        return 0.0
    if isinstance(parsed, Rate):
        return SECONDS_PER_MONTH / parsed.seconds
    if isinstance(parsed, At):
        return 1.0
    assert isinstance(parsed, Cron)
    year = max(2026, min(parsed.years))  # a fixed year: the same figure every day of the year
    days = [dt.date(year, 1, 1) + dt.timedelta(days=i) for i in range(365)]
    matching = sum(1 for d in days if d.month in parsed.months and parsed._day_matches(d))
    return matching * len(parsed.hours) * len(parsed.minutes) * HOURS_PER_MONTH / (365 * 24)


def _scheduled_targets(spec: LabSpec) -> dict[str, float]:
    """Functions that schedules and scheduled rules invoke, and how often a month."""
    firings: dict[str, float] = {}
    for r in spec.resources.values():
        if r.kind == "scheduler.schedule":
            target = r.fields.get("target") or {}
            expression, arns = r.fields.get("schedule_expression"), [target.get("arn")]
        elif r.kind == "events.rule" and r.fields.get("schedule"):
            expression, arns = r.fields.get("schedule"), [t.get("arn") for t in r.fields.get("targets") or []]
        else:
            continue
        for name in filter(None, map(_named, arns)):
            firings[name] = firings.get(name, 0.0) + firings_per_month(str(expression))
    return firings


def estimate(spec: LabSpec, usage: Usage | None = None) -> Estimate:
    """The lab's cost per month at `usage` (default: `Usage()`), resource by resource."""
    return estimate_priced(spec.name, priced(spec), usage)


def estimate_priced(lab: str, resources: Iterable[Priced], usage: Usage | None = None) -> Estimate:
    """The cost per month of `resources` (as `priced` or a state's record gives them) at `usage`
    and the prices of today's table; needs no spec."""
    c = Context(usage or Usage(), table())
    lines: list[Line] = []
    unpriced: list[str] = []
    for r in resources:
        pricer = PRICERS.get(r.kind)
        if pricer is not None:
            lines += pricer.charges(r, c)
        elif r.kind not in FREE_KINDS:
            unpriced.append(f"{r.logical} ({r.kind})")
    return Estimate(lab, c.usage, c.prices, tuple(lines), tuple(unpriced))
