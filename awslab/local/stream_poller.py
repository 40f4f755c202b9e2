"""DynamoDB stream -> Lambda in the local cloud the way Lambda's stream poller does it.

moto invokes every mapped function inside PutItem (the table's write waits for the function), hands
it every record since the last success whatever the mapping says, and then forgets the records
(GetRecords no longer sees them). `install` switches that off: moto's StreamShard keeps its records,
and a StreamPoller thread reads them for every enabled DynamoDB event source mapping, as AWS does:

- from where StartingPosition says: TRIM_HORIZON, the oldest record of the stream; LATEST, the
  first record written after the mapping was made;
- in order, up to BatchSize records, gathering for MaximumBatchingWindowInSeconds when set;
- FilterCriteria (EventBridge pattern syntax, matched against the record as the function gets it):
  a record no filter matches is skipped, and counts as processed;
- a batch that fails (a function error, or with ReportBatchItemFailures the records from the first
  one reported) is retried before anything after it, up to MaximumRetryAttempts times (-1: until
  the records are MaximumRecordAgeInSeconds old); with BisectBatchOnFunctionError a batch the
  function failed is halved instead, down to single records, each half counting its own retries.
  A partial batch response is not halved: Lambda checkpoints at the sequence number reported and
  retries from there (Developer Guide, "Configuring partial batch response with DynamoDB Streams").
  What is given up on is skipped; with an on-failure
  destination (an SQS queue or SNS topic) an invocation record saying which records they were
  goes there (AWS Lambda Developer Guide, "Retaining discarded batches for a DynamoDB event source"):
  {requestContext {requestId, functionArn, condition RetryAttemptsExhausted | RecordAgeExceeded,
  approximateInvokeCount}, responseContext {statusCode, executedVersion, functionError}, version,
  timestamp, DDBStreamBatchInfo {shardId, startSequenceNumber, endSequenceNumber,
  approximateArrivalOfFirstRecord, approximateArrivalOfLastRecord, batchSize, streamArn}}.

- the checkpoint (the first record not yet done with) is kept on moto's mapping after each batch,
  so it is in the local cloud's snapshot: after a restart the poller goes on from there, as
  Lambda does, instead of reading the stream again from its start.

Records have the shape of AWS's DynamoDB stream event. Not done locally: the 24-hour retention and
the 6 MB payload limit, ParallelizationFactor, tumbling windows; Kinesis sources are left to moto.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from awslab.local import esm_filters
from awslab.local.moto_originals import Installed
from awslab.local.poll_loop import MappingKey, MappingPoller
from awslab.local.state_gate import GATE

log = logging.getLogger(__name__)

POLL_INTERVAL_S = 0.25  # AWS polls a shard 4 times a second; a write wakes the poller at once
DEFAULT_POOL_SIZE = 4
# (function, event) -> (payload, whether the function failed)
Invoke = Callable[[Any, dict[str, Any]], tuple[Any, bool]]


@dataclass
class Batch:
    records: list[dict[str, Any]]
    attempts: int = 0  # invokes that failed so far


@dataclass
class _Mapping:
    """What the poller keeps between rounds for one mapping."""

    shard: Any = None  # the moto StreamShard read (a table made again has another)
    position: int | None = None  # index in the shard of the next record to read
    retries: deque[Batch] = field(default_factory=deque)  # failed batches, before anything newer
    gathered: list[dict[str, Any]] = field(default_factory=list)  # read, waiting for the window
    window_started: float | None = None
    busy: bool = False


def _default_invoke(fn: Any, event: dict[str, Any]) -> tuple[Any, bool]:
    headers: dict[str, Any] = {}
    payload = fn.invoke(json.dumps(event), {}, headers)
    return payload, "x-amz-function-error" in headers


class StreamPoller(MappingPoller["_Mapping"]):
    """Reads every enabled DynamoDB stream mapping in moto's backends (see module doc).
    `pool_size=0` delivers inside `poll_once` (tests); `clock` times batching windows, `now` (epoch
    seconds) the records' age."""

    service, label = "dynamodb", "DynamoDB"

    def __init__(self, *, interval_s: float = POLL_INTERVAL_S, pool_size: int = DEFAULT_POOL_SIZE,
                 invoke: Invoke = _default_invoke, clock: Callable[[], float] = time.monotonic,
                 now: Callable[[], float] = time.time) -> None:  # fmt: skip
        pool = ThreadPoolExecutor(max_workers=pool_size, thread_name_prefix="ddb-esm") if pool_size else None
        super().__init__(interval_s, "stream-poller", pool)
        self._invoke, self._clock, self._now = invoke, clock, now
        self._lock = threading.Lock()
        self.batches = 0  # invokes made so far (for status and tests)

    # ---- one round (MappingPoller.poll_once) ---------------------------------------------------
    def _new_state(self) -> _Mapping:
        return _Mapping()

    def _step(self, key: MappingKey, esm: Any, state: _Mapping) -> int:
        with self._lock:
            if state.busy or not esm.enabled:
                return 0
        shard = _shard_of(key[0], esm.event_source_arn)
        if shard is None:
            return 0
        if state.shard is not shard:  # first sight, or the table (or its stream) was made again
            state.shard, state.retries, state.gathered, state.window_started = shard, deque(), [], None
            state.position = _start_of(esm, shard)
        from moto.awslambda.exceptions import LambdaClientError
        from moto.awslambda.utils import get_backend

        try:
            fn = get_backend(key[0], key[1]).get_function(esm.function_arn)
        except LambdaClientError:  # AWS keeps the mapping and its place until the function is back
            return 0
        batch = state.retries.popleft() if state.retries else self._next_batch(esm, state, key[1])
        if batch is None:
            _save_checkpoint(esm, state)  # records the filters skipped are done with too
            return 0
        with self._lock:
            state.busy = True
        if self._pool is None:
            self._deliver(state, esm, fn, batch)
        else:
            self._pool.submit(self._deliver, state, esm, fn, batch)
        return 1

    def _next_batch(self, esm: Any, state: _Mapping, region: str) -> Batch | None:
        """The next records the filters let through, once the batch is full or its window over."""
        size = int(esm.batch_size or 100)
        filters = esm_filters.patterns(esm.filter_criteria)
        items = state.shard.items
        position = state.position or 0
        while len(state.gathered) < size and position < len(items):
            record = stream_record(items[position].to_json(), esm.event_source_arn, region)
            position += 1
            if esm_filters.passes(filters, record):
                state.gathered.append(record)
        state.position = position
        if not state.gathered:
            return None
        if state.window_started is None:
            state.window_started = self._clock()
        window = float(esm.max_batch_window or 0)
        if len(state.gathered) < size and self._clock() - state.window_started < window:
            return None
        batch, state.gathered, state.window_started = Batch(state.gathered), [], None
        return batch

    def _deliver(self, state: _Mapping, esm: Any, fn: Any, batch: Batch) -> None:
        try:
            if self._expired(esm, batch):
                self._discard(esm, fn, batch, "RecordAgeExceeded", function_ran=batch.attempts > 0)
                return
            payload, failed = self._invoke(fn, {"Records": batch.records})
            with self._lock:
                self.batches += 1
            partial = False
            if not failed and "ReportBatchItemFailures" in (esm.function_response_types or []):
                first = first_failed(payload, [r["dynamodb"]["SequenceNumber"] for r in batch.records])
                if first is not None:  # a checkpoint: what came before the first failure is done
                    batch = Batch(batch.records[first:], batch.attempts)
                    failed = partial = True
            if failed:
                self._failed(state, esm, fn, batch, bisect=not partial)
        except Exception:  # a failure here must leave the mapping usable
            log.exception("DynamoDB event source mapping %s: delivering a batch failed", esm.uuid)
        finally:
            with self._lock:
                _save_checkpoint(esm, state)
                state.busy = False
            self.wake()

    def _failed(self, state: _Mapping, esm: Any, fn: Any, batch: Batch, *, bisect: bool = True) -> None:
        batch.attempts += 1
        retries = -1 if esm.max_retry_attempts is None else int(esm.max_retry_attempts)
        if bisect and esm.bisect_on_error and len(batch.records) > 1:
            # halving goes on down to single records; each half counts its own retries
            half = len(batch.records) // 2
            state.retries.extendleft([Batch(batch.records[half:]), Batch(batch.records[:half])])
        elif retries != -1 and batch.attempts > retries:
            self._discard(esm, fn, batch, "RetryAttemptsExhausted", function_ran=True)
        else:
            state.retries.appendleft(batch)

    def _expired(self, esm: Any, batch: Batch) -> bool:
        age = -1 if esm.max_record_age is None else int(esm.max_record_age)
        oldest = batch.records[0]["dynamodb"]["ApproximateCreationDateTime"]
        return age != -1 and self._now() - float(oldest) > age

    def _discard(self, esm: Any, fn: Any, batch: Batch, condition: str, *, function_ran: bool) -> None:
        log.info("mapping %s: %d records skipped (%s)", esm.uuid, len(batch.records), condition)
        destination = ((esm.destination_config or {}).get("OnFailure") or {}).get("Destination")
        if destination:
            body = json.dumps(failure_record(esm, fn, batch, condition, function_ran, self._now()))
            try:
                _send(destination, body)
            except Exception:  # AWS drops it too (and counts a DestinationDeliveryFailure)
                log.exception("mapping %s: the on-failure destination %s refused the record",
                              esm.uuid, destination)  # fmt: skip


# ---- AWS's shapes -------------------------------------------------------------------------------
def stream_record(record: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """A moto StreamRecord as Lambda's event has it: the creation time in epoch seconds, the
    mapping's region and stream."""
    dynamodb = dict(record["dynamodb"])
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        moment = created if created.tzinfo else created.replace(tzinfo=UTC)
        dynamodb["ApproximateCreationDateTime"] = int(moment.timestamp())
    return {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": record["eventVersion"],
        "eventSource": record["eventSource"],
        "awsRegion": region,
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }


def first_failed(payload: Any, sequence_numbers: list[str]) -> int | None:
    """Where a ReportBatchItemFailures answer asks the batch to resume: the index of the lowest
    sequence number it lists; None for full success; 0 (all of it) for an answer Lambda cannot
    read or an itemIdentifier that is not a record of the batch."""
    text = payload.decode(errors="replace") if isinstance(payload, bytes) else str(payload or "")
    if not text.strip():
        return None
    try:
        response = json.loads(text)
    except ValueError:
        return 0
    if response is None:
        return None
    if not isinstance(response, dict):
        return 0
    items = response.get("batchItemFailures")
    if items is None or items == []:
        return None
    if not isinstance(items, list):
        return 0
    found = []
    for item in items:
        ident = item.get("itemIdentifier") if isinstance(item, dict) else None
        if ident not in sequence_numbers:
            return 0
        found.append(sequence_numbers.index(ident))
    return min(found)


def failure_record(esm: Any, fn: Any, batch: Batch, condition: str, function_ran: bool,
                   now: float) -> dict[str, Any]:  # fmt: skip
    """The invocation record an on-failure destination gets for a discarded batch."""
    first, last = batch.records[0]["dynamodb"], batch.records[-1]["dynamodb"]
    record: dict[str, Any] = {
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": fn.function_arn,
            "condition": condition,
            "approximateInvokeCount": batch.attempts,
        },
        "version": "1.0",
        "timestamp": _iso(now, millis=True),
        "DDBStreamBatchInfo": {
            "shardId": _shard_id(esm.event_source_arn),
            "startSequenceNumber": first["SequenceNumber"],
            "endSequenceNumber": last["SequenceNumber"],
            "approximateArrivalOfFirstRecord": _iso(float(first["ApproximateCreationDateTime"])),
            "approximateArrivalOfLastRecord": _iso(float(last["ApproximateCreationDateTime"])),
            "batchSize": len(batch.records),
            "streamArn": esm.event_source_arn,
        },
    }
    if function_ran:
        record["responseContext"] = {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        }
    return record


def _iso(epoch: float, *, millis: bool = False) -> str:
    moment = datetime.fromtimestamp(epoch, UTC)
    if millis:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- moto's data --------------------------------------------------------------------------------
def _table_of(account: str, stream_arn: str) -> Any:
    """The moto Table whose current stream `stream_arn` is (None: no such table or stream)."""
    from moto.dynamodb.models import dynamodb_backends

    _, _, _, region, _, resource = stream_arn.split(":", 5)
    parts = resource.split("/")  # table/NAME/stream/LABEL
    if len(parts) != 4:
        return None
    regions = dict.get(dynamodb_backends, account)
    backend = dict.get(regions, region) if regions is not None else None
    table = backend.tables.get(parts[1]) if backend is not None else None
    if table is None or table.latest_stream_label != parts[3]:
        return None
    return table


def _shard_of(account: str, stream_arn: str) -> Any:
    table = _table_of(account, stream_arn)
    return table.stream_shard if table is not None else None


def _shard_id(stream_arn: str) -> str:
    shard = _shard_of(stream_arn.split(":")[4], stream_arn)
    return str(shard.id) if shard is not None else ""


def _start_of(esm: Any, shard: Any) -> int:
    """Where a mapping starts reading: its checkpoint in this shard (a poller started again, the
    local cloud restarted), else its position taken when it was made (LATEST), else the oldest
    record (TRIM_HORIZON, or a mapping made before the poller)."""
    checkpoint = getattr(esm, "_awslab_checkpoint", None)
    if checkpoint is not None and checkpoint[0] == shard.created_on and checkpoint[1] <= len(shard.items):
        return int(checkpoint[1])
    start = getattr(esm, "_awslab_start", None)
    return int(start) if start is not None and start <= len(shard.items) else 0


def _save_checkpoint(esm: Any, state: _Mapping) -> None:
    """The index of the first record the mapping is not done with, kept on moto's mapping (and so
    in the snapshot) with the shard it is in (a table made again has a new one)."""
    shard = state.shard
    if shard is None:
        return
    pending = [b.records[0] for b in state.retries] + state.gathered[:1]
    base = int(shard.starting_sequence_number)
    index = min((int(r["dynamodb"]["SequenceNumber"]) - base for r in pending), default=state.position or 0)
    esm._awslab_checkpoint = (shard.created_on, index)


@GATE.changing()  # no snapshot in the middle of it (awslab.local.state_gate)
def _send(arn: str, body: str) -> None:
    service, region, account = arn.split(":")[2:5]
    if service == "sqs":
        from moto.sqs.models import sqs_backends

        sqs_backends[account][region].send_message(arn.rsplit(":", 1)[1], body)
    elif service == "sns":
        from moto.sns.models import sns_backends

        sns_backends[account][region].publish(body, arn=arn)
    else:
        raise ValueError(f"{arn}: an on-failure destination is an SQS queue or an SNS topic")


# ---- moto, patched process-wide -----------------------------------------------------------------
_layer: Installed[StreamPoller] = Installed()
_originals = _layer.originals


def install(*, start: bool = True, **options: Any) -> StreamPoller:
    """Stop moto's delivery inside the table's writes, mark where LATEST mappings start and start
    the poller (idempotent)."""
    return _layer.install(_patch_moto, lambda: StreamPoller(**options).started(start))


def uninstall() -> None:
    _layer.uninstall()


def _patch_moto() -> None:
    from moto.awslambda.models import LambdaBackend
    from moto.dynamodb.models.table import StreamRecord, StreamShard

    def add(self: Any, old: Any, new: Any) -> None:
        """moto's StreamShard.add without invoking the mapped functions nor forgetting records."""
        view = self.table.stream_specification["StreamViewType"]
        name = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
        seq = len(self.items) + self.starting_sequence_number
        self.items.append(StreamRecord(self.table, view, name, old, new, seq))
        if (poller := _layer.active) is not None:
            poller.wake()

    create = LambdaBackend.__dict__["create_event_source_mapping"]

    def create_event_source_mapping(self: Any, spec: dict[str, Any]) -> Any:
        esm = create(self, spec)
        if esm.event_source_arn.split(":")[2] == "dynamodb" and esm.starting_position == "LATEST":
            shard = _shard_of(self.account_id, esm.event_source_arn)
            esm._awslab_start = len(shard.items) if shard is not None else 0
        return esm

    patches = [
        (StreamShard, "add", add),
        (LambdaBackend, "create_event_source_mapping", create_event_source_mapping),
    ]
    for owner, name, new in patches:
        _originals.setdefault((owner, name), owner.__dict__[name])
        setattr(owner, name, new)
