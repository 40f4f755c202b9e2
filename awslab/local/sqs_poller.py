"""SQS -> Lambda in the local cloud the way AWS's event source mapping poller does it.

moto delivers inside SendMessage, one invoke per message, and never again for messages sent before
the mapping existed or left after a failure. `install` switches that off and starts an SqsPoller:
one thread that, for every enabled SQS event source mapping of moto's Lambda backends, receives up
to BatchSize messages (gathering for MaximumBatchingWindowInSeconds when set), invokes the function
with AWS's SQS event, and deletes what succeeded: the whole batch, or with ReportBatchItemFailures
all but the listed messages (an invalid response fails the whole batch). A message no filter of
the mapping's FilterCriteria matches is deleted unseen, as AWS does. After a function error
nothing is deleted; the messages come back after the queue's visibility timeout, and moto's
ReceiveMessage moves them to the dead-letter queue once they were received maxReceiveCount times.
Batches of one mapping run one after another; different mappings run in parallel in a small pool.
Records have the shape of AWS's SQS event, and receipt handles (in events and ReceiveMessage
answers alike) the shape of SQS's.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from awslab.local import esm_filters
from awslab.local.moto_originals import Installed
from awslab.local.poll_loop import MappingKey, MappingPoller
from awslab.local.state_gate import GATE

log = logging.getLogger(__name__)

POLL_INTERVAL_S = 0.15  # idle rounds; a SendMessage or a finished batch wakes the poller at once
DEFAULT_POOL_SIZE = 4


@dataclass
class _Mapping:
    """What the poller keeps between rounds for one event source mapping."""

    buffer: dict[str, Any] = field(default_factory=dict)  # messageId -> received copy (batching window)
    window_started: float | None = None
    busy: bool = False  # a batch is being invoked: the next one waits for it
    queue: Any = None  # the moto Queue the buffered messages came from
    reported: set[str] = field(default_factory=set)  # problems already logged once


class SqsPoller(MappingPoller["_Mapping"]):
    """Polls every enabled SQS event source mapping in moto's backends (see module doc)."""

    service, label = "sqs", "SQS"
    _pool: ThreadPoolExecutor  # always a pool here (the loop's may be None for other pollers)

    def __init__(self, *, interval_s: float = POLL_INTERVAL_S, pool_size: int = DEFAULT_POOL_SIZE) -> None:
        pool = ThreadPoolExecutor(max_workers=pool_size, thread_name_prefix="sqs-esm")
        super().__init__(interval_s, "sqs-poller", pool)
        self._lock = threading.Lock()  # guards _Mapping.busy between the poller and the pool
        self.batches = 0  # batches invoked so far (for status and tests)

    # ---- one round (MappingPoller.poll_once) ---------------------------------------------------
    def _new_state(self) -> _Mapping:
        return _Mapping()

    def _step(self, key: MappingKey, esm: Any, state: _Mapping) -> int:
        with self._lock:
            if state.busy:
                return 0
        if not esm.enabled:
            self._release(state)
            return 0
        account, region, _ = key
        found = _queue_of(esm.event_source_arn)
        if found is None:
            self._report_once(
                state, "queue", "queue %s of mapping %s not found", esm.event_source_arn, esm.uuid
            )
            return 0
        sqs, queue = found
        if state.queue is not None and state.queue is not queue:  # the queue was deleted and made again
            self._release(state)
        from moto.awslambda.exceptions import LambdaClientError
        from moto.awslambda.utils import get_backend

        try:
            fn = get_backend(account, region).get_function(esm.function_arn)
        except LambdaClientError:  # deleted (or never made): AWS keeps the mapping and retries
            self._report_once(
                state, "function", "function %s of mapping %s not found", esm.function_arn, esm.uuid
            )
            return 0
        state.reported.clear()

        batch_size = int(esm.batch_size or 10)
        wanted = batch_size - len(state.buffer)
        if wanted > 0:
            visibility = int(queue.visibility_timeout or 30)
            filters = esm_filters.patterns(esm.filter_criteria)
            for message in sqs.receive_message(queue.name, wanted, 0, visibility, ["All"]):
                if not esm_filters.passes(filters, sqs_record(message, queue.queue_arn, region, False)):
                    # AWS deletes what no filter matches (the round holds the gate already)
                    _delete_ungated(queue, message.receipt_handle)
                    continue
                state.buffer[message.id] = message  # a copy received again replaces the stale one
            if state.buffer and state.window_started is None:
                state.window_started = time.monotonic()
                state.queue = queue
        if not state.buffer or state.window_started is None:
            return 0
        window = float(esm.max_batch_window or 0)
        if len(state.buffer) < batch_size and time.monotonic() - state.window_started < window:
            return 0  # still gathering: AWS waits up to the batching window for a full batch
        batch = list(state.buffer.values())
        state.buffer, state.window_started = {}, None
        with self._lock:
            state.busy = True
        report_failures = "ReportBatchItemFailures" in (esm.function_response_types or [])
        self._pool.submit(self._deliver, state, esm.uuid, fn, queue, batch, report_failures, region)
        return 1

    def _deliver(self, state: _Mapping, uuid: str, fn: Any, queue: Any, batch: list[Any],
                 report_failures: bool, region: str) -> None:  # fmt: skip
        """Invoke the function with one batch and delete what it processed (in the pool)."""
        try:
            event = {
                "Records": [sqs_record(m, queue.queue_arn, region, bool(queue.fifo_queue)) for m in batch]
            }
            headers: dict[str, Any] = {}
            payload = fn.invoke(json.dumps(event), {}, headers)
            with self._lock:
                self.batches += 1
            ids = [m.id for m in batch]
            if "x-amz-function-error" in headers:
                failed = set(ids)
                log.info("mapping %s: %s failed a batch of %d; the messages return after the visibility "
                         "timeout", uuid, fn.function_name, len(batch))  # fmt: skip
            elif report_failures:
                failed = failed_message_ids(payload, ids)
            else:
                failed = set()
            for message in batch:
                if message.id not in failed:
                    _delete(queue, message.receipt_handle)
        except Exception:  # a failure here must leave the mapping usable
            log.exception("SQS event source mapping %s: delivering a batch failed", uuid)
        finally:
            with self._lock:
                state.busy = False
            self.wake()  # more messages may be waiting: no need to sit out the interval

    def _forget(self, state: _Mapping) -> None:
        self._release(state)

    def _release(self, state: _Mapping) -> None:
        """Buffered (received, not yet invoked) messages become visible again at once."""
        for message in state.buffer.values():
            message_visible_now(state.queue, message.receipt_handle)  # a no-op for a deleted one
        state.buffer, state.window_started = {}, None

    def _report_once(self, state: _Mapping, problem: str, message: str, *args: Any) -> None:
        if problem not in state.reported:
            state.reported.add(problem)
            log.warning(message, *args)


# ---- moto's data --------------------------------------------------------------------------------
def _queue_of(arn: str) -> tuple[Any, Any] | None:
    """(moto SQS backend, Queue) for a queue ARN, or None when there is no such queue."""
    from moto.sqs.models import sqs_backends

    _, _, _, region, account_id, name = arn.split(":", 5)
    regions = dict.get(sqs_backends, account_id)
    backend = dict.get(regions, region) if regions is not None else None
    queue = backend.queues.get(name) if backend is not None else None
    return (backend, queue) if queue is not None else None


@GATE.changing()  # in the pool, after a batch: no snapshot in the middle of it (awslab.local.state_gate)
def _delete(queue: Any, receipt_handle: str) -> None:
    _delete_ungated(queue, receipt_handle)


def _delete_ungated(queue: Any, receipt_handle: str) -> None:
    """Inside a poller's round, which passed the gate: passing it again would let a waiting
    snapshot stall the round (state_gate.YIELD_S) for each message."""
    from moto.sqs.exceptions import ReceiptHandleIsInvalid

    try:
        queue.delete_message(receipt_handle)
    except ReceiptHandleIsInvalid:  # gone meanwhile (a purge, a reset): nothing left to delete
        log.debug("message %s... of %s was gone before its delete", receipt_handle[:12], queue.name)


@GATE.changing()
def message_visible_now(queue: Any, receipt_handle: str) -> None:
    for message in list(queue._messages):
        if message.had_receipt_handle(receipt_handle):
            message.change_visibility(0)
            queue.pending_messages.discard(message)
            return


# ---- AWS's shapes -------------------------------------------------------------------------------
def sqs_record(message: Any, queue_arn: str, region: str, fifo: bool) -> dict[str, Any]:
    """One record of the event Lambda's SQS poller sends, from a received moto Message."""
    attributes = {
        "ApproximateReceiveCount": str(message.approximate_receive_count),
        "SentTimestamp": str(message.sent_timestamp),
        "SenderId": message.sender_id,
        "ApproximateFirstReceiveTimestamp": str(message.approximate_first_receive_timestamp),
    }
    trace = (message.system_attributes or {}).get("AWSTraceHeader")
    if trace:
        attributes["AWSTraceHeader"] = trace.get("StringValue") if isinstance(trace, dict) else str(trace)
    if fifo:
        attributes.update({
            "SequenceNumber": message.sequence_number, "MessageGroupId": message.group_id,
            "MessageDeduplicationId": message.deduplication_id,
        })  # fmt: skip
    record: dict[str, Any] = {
        "messageId": message.id,
        "receiptHandle": message.receipt_handle,
        "body": message.body,
        "attributes": {k: v for k, v in attributes.items() if v is not None},
        "messageAttributes": {
            name: lambda_message_attribute(value)
            for name, value in (message.message_attributes or {}).items()
        },
        "md5OfBody": message.body_md5,
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if message.message_attributes:
        record["md5OfMessageAttributes"] = message.attribute_md5
    return record


def lambda_message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    """An SQS message attribute ({"DataType", "StringValue" | "BinaryValue"}) as Lambda shows it."""
    shown: dict[str, Any] = {
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": value.get("DataType"),
    }
    if value.get("StringValue") is not None:
        shown["stringValue"] = value["StringValue"]
    if value.get("BinaryValue") is not None:
        binary = value["BinaryValue"]
        shown["binaryValue"] = base64.b64encode(binary).decode() if isinstance(binary, bytes) else str(binary)
    return shown


def failed_message_ids(payload: Any, message_ids: list[str]) -> set[str]:
    """The messages a ReportBatchItemFailures response asks to keep. As AWS: null, an object without
    failures or an empty list is full success; anything unreadable, or an itemIdentifier that is
    missing, empty or not a message of the batch, fails the whole batch."""
    everything = set(message_ids)
    text = payload.decode(errors="replace") if isinstance(payload, bytes) else str(payload or "")
    if not text.strip():
        return set()
    try:
        response = json.loads(text)
    except ValueError:
        return everything
    if response is None:
        return set()
    if not isinstance(response, dict):
        return everything
    items = response.get("batchItemFailures")
    if items is None:
        return set()
    if not isinstance(items, list):
        return everything
    failed: set[str] = set()
    for item in items:
        ident = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(ident, str) or ident not in everything:
            return everything
        failed.add(ident)
    return failed


# ---- moto, patched process-wide -----------------------------------------------------------------
_layer: Installed[SqsPoller] = Installed()
_originals = _layer.originals  # (moto class or module, name) -> moto's own


def install(**options: Any) -> SqsPoller:
    """Stop moto's delivery inside SendMessage, give messages SQS-shaped receipt handles and start
    the poller (idempotent)."""
    return _layer.install(_patch_moto, lambda: SqsPoller(**options).started())


def uninstall() -> None:
    """Stop the poller and give moto its own SendMessage delivery (and receipt handles) back."""
    _layer.uninstall()


def receipt_handle() -> str:
    """A receipt handle shaped like SQS's: "AQEB" and a long base64 string (moto's are 185 lower-case
    letters). Handlers and clients treat it as opaque, but may log, store or URL-encode it."""
    return "AQEB" + base64.b64encode(secrets.token_bytes(270)).decode("ascii")


def _patch_moto() -> None:
    from moto.sqs import models
    from moto.sqs.models import DEDUPLICATION_TIME_IN_SECONDS, Queue

    def add_message(self: Any, message: Any) -> None:
        """moto's Queue.add_message (FIFO deduplication, then append) without its Lambda trigger."""
        if self.fifo_queue and (
            self.attributes.get("ContentBasedDeduplication") == "true" or message.deduplication_id
        ):
            for other in list(self._messages):
                if other.deduplication_id == message.deduplication_id:
                    age_ms = message.sent_timestamp - other.sent_timestamp
                    if age_ms / 1000 < DEDUPLICATION_TIME_IN_SECONDS:
                        return
        with self._messages_lock:
            self._messages.append(message)
            self._messages_lock.notify_all()
        if (poller := _layer.active) is not None:
            poller.wake()

    def delete_message(self: Any, receipt_handle: str) -> None:
        # moto rebuilds the message list without a lock; a message appended meanwhile (SendMessage
        # in another thread while the poller deletes) would be lost.
        with self._messages_lock:
            _originals[(Queue, "delete_message")](self, receipt_handle)

    # Message.mark_received calls the module's generate_receipt_handle for every receive.
    patches = [(Queue, "add_message", add_message), (Queue, "delete_message", delete_message),
               (models, "generate_receipt_handle", receipt_handle)]  # fmt: skip
    for owner, name, new in patches:
        _originals.setdefault((owner, name), owner.__dict__[name])
        setattr(owner, name, new)
