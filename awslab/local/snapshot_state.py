"""What a snapshot of the local cloud holds, and how it is taken and put back: every moto backend
in use (each service's per-account, per-region models: tables and items, buckets and objects,
queues and messages, functions and their code, APIs, roles, state machines, rules, schedules,
parameters, secrets, ...) and the EventBridge ticker's plans (awslab.local.eventbridge_ticker), in
one pickle.

moto has no persistence of its own. Its models are plain Python objects, so they are pickled as
they are, all in one pickle, so that what one service's objects share with another's (an event
source mapping's queue, a subscription's endpoint) is still shared after a restore. What cannot
or must not be pickled is reduced here:

- locks, conditions, events and thread-locals are made afresh on load (their waiters belong to
  threads of the old process);
- moto's BackendDict and AccountSpecificBackend objects (the registries) are never copied: an
  object pointing at one gets the live one on load, and the restored region backends are put into
  the live registries, so moto finds them as if it had made them;
- S3 objects' spooled temporary files are moto's own business (FakeKey.__getstate__ keeps the bytes).

Queue messages keep their wall-clock timers (moto's `visible_at`, `delayed_until`), so a message in
flight when the local cloud stopped becomes visible again when its visibility timeout has passed,
as on AWS. A capture runs through the state gate (awslab.local.state_gate, held by the saver): no
request, poller or delivery that changes something runs meanwhile. A read may still add an empty
entry to a defaultdict it looks into: a capture that meets one ("dictionary changed size") is retried.
"""

from __future__ import annotations

import copy
import io
import pickle
import sys
import threading
import time
import weakref
from collections import defaultdict
from typing import Any

_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))
_RETRIES = 5


def _fresh_lock(reentrant: bool) -> Any:
    return threading.RLock() if reentrant else threading.Lock()


def _fresh_event(is_set: bool) -> threading.Event:
    event = threading.Event()
    if is_set:
        event.set()
    return event


def _weak_values(items: dict[Any, Any]) -> weakref.WeakValueDictionary[Any, Any]:
    return weakref.WeakValueDictionary(items)


def _weak_keys(items: dict[Any, Any]) -> weakref.WeakKeyDictionary[Any, Any]:
    return weakref.WeakKeyDictionary(items)


def _weak_set(items: list[Any]) -> weakref.WeakSet[Any]:
    return weakref.WeakSet(items)


class _CopyFactory:
    """A defaultdict's factory that was a local function (`lambda: {}`, which pickle cannot name):
    fresh copies of what it made."""

    def __init__(self, sample: Any) -> None:
        self.sample = sample

    def __call__(self) -> Any:
        return copy.deepcopy(self.sample)


def _new_defaultdict(cls: type[defaultdict[Any, Any]], factory: Any) -> defaultdict[Any, Any]:
    """An empty defaultdict (or subclass, whose __init__ may want other arguments)."""
    made = cls.__new__(cls)
    defaultdict.__init__(made, factory)
    return made


class _Gone:
    """What a dead weak reference pointed at."""


def _dead_ref() -> weakref.ref[Any]:
    return weakref.ref(_Gone())  # the object goes at once: the reference is dead, as it was


def _live_registry(module: str, attr: str) -> Any:
    return getattr(sys.modules.get(module) or __import__(module, fromlist=[attr]), attr)


def _live_account(module: str, attr: str, account: str) -> Any:
    return _live_registry(module, attr)[account]


def _registry_name(registry: Any) -> tuple[str, str]:
    """The module and attribute of a moto BackendDict (e.g. moto.sqs.models, sqs_backends)."""
    candidates = [registry.backend.__module__, registry.backend.__module__.rsplit(".", 1)[0]]
    for name in candidates:
        module = sys.modules.get(name)
        for attr, value in vars(module or object()).items():
            if value is registry:
                return name, attr
    for name, module in list(sys.modules.items()):  # defined away from its backend class
        if name.startswith("moto.") and module is not None:
            for attr, value in list(vars(module).items()):
                if value is registry:
                    return name, attr
    raise pickle.PicklingError(f"cannot tell where moto's {registry.service_name} backends live")


class _Pickler(pickle.Pickler):
    def __init__(self, file: io.BytesIO) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._names: dict[int, tuple[str, str]] = {}

    def _name(self, registry: Any) -> tuple[str, str]:
        name = self._names.get(id(registry))
        if name is None:
            name = self._names[id(registry)] = _registry_name(registry)
        return name

    def reducer_override(self, obj: Any) -> Any:
        from moto.core.base_backend import AccountSpecificBackend, BackendDict

        if isinstance(obj, _LOCK_TYPES):
            return _fresh_lock, (isinstance(obj, _LOCK_TYPES[1]),)
        if isinstance(obj, threading.Condition):
            return threading.Condition, ()
        if isinstance(obj, threading.Event):
            return _fresh_event, (obj.is_set(),)
        if isinstance(obj, threading.local):
            return threading.local, ()
        # Weak references are kept weak; what they point at is pickled with whatever holds it.
        if isinstance(obj, weakref.WeakValueDictionary):
            return _weak_values, (dict(obj.items()),)
        if isinstance(obj, weakref.WeakKeyDictionary):
            return _weak_keys, (dict(obj.items()),)
        if isinstance(obj, weakref.WeakSet):
            return _weak_set, (list(obj),)
        if isinstance(obj, weakref.ref):
            target = obj()
            return (weakref.ref, (target,)) if target is not None else (_dead_ref, ())
        if isinstance(obj, defaultdict):
            factory = obj.default_factory
            if "<locals>" in getattr(factory, "__qualname__", ""):
                factory = _CopyFactory(factory())  # type: ignore[misc]
            return (
                _new_defaultdict,
                (type(obj), factory),
                getattr(obj, "__dict__", None),
                None,
                iter(obj.items()),
            )
        if isinstance(obj, BackendDict):
            return _live_registry, self._name(obj)
        if isinstance(obj, AccountSpecificBackend):
            registry = _registry_of(obj)
            return _live_account, (*self._name(registry), obj.account_id)
        return NotImplemented


def _registry_of(account: Any) -> Any:
    from moto.core.base_backend import BackendDict

    for registry in list(BackendDict._instances):  # type: ignore[misc]
        if dict.get(registry, account.account_id) is account:
            return registry
    raise pickle.PicklingError(
        f"moto's {account.service_name} backend of {account.account_id} is not registered"
    )


def _backends() -> dict[tuple[str, str], dict[str, dict[str, Any]]]:
    """(module, attribute) of each BackendDict in use -> account -> region -> backend."""
    from moto.core.base_backend import BackendDict

    found: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for registry in list(BackendDict._instances):  # type: ignore[misc]
        accounts = {account: dict(dict.items(regions)) for account, regions in list(dict.items(registry))}
        accounts = {account: regions for account, regions in accounts.items() if regions}
        if accounts:
            found[_registry_name(registry)] = accounts
    return found


def capture(ticker: Any = None) -> tuple[bytes, int]:
    """The pickled state (and how many region backends it holds). `ticker`: the EventBridge
    ScheduleTicker whose plans go with it. The caller holds the state gate; retried when a read
    added an entry to a dict meanwhile (see module doc)."""
    for attempt in range(_RETRIES):
        try:
            backends = _backends()
            plans = dict(ticker._plans) if ticker is not None else {}
            buffer = io.BytesIO()
            _Pickler(buffer).dump({"backends": backends, "ticker": plans})
            return buffer.getvalue(), sum(len(r) for accounts in backends.values() for r in accounts.values())
        except RuntimeError:  # "dictionary changed size during iteration": a request was changing it
            if attempt == _RETRIES - 1:
                raise
            time.sleep(0.01 * (attempt + 1))
    raise AssertionError("unreachable")


def restore(payload: bytes, ticker: Any = None) -> int:
    """Put a captured state into moto's (empty) registries; returns the region backends restored."""
    state = pickle.loads(payload)
    count = 0
    for (module, attr), accounts in state["backends"].items():
        registry = _live_registry(module, attr)
        for account, regions in accounts.items():
            live = registry[account]  # made (and registered) by moto's own BackendDict
            for region, backend in regions.items():
                dict.__setitem__(live, region, backend)
                count += 1
    if ticker is not None:
        _restore_plans(ticker, state.get("ticker") or {})
    return count


def _restore_plans(ticker: Any, plans: dict[tuple[str, ...], Any]) -> None:
    """The ticker's plans, each one's signature made again from the restored rule or schedule
    (a rule's includes the rule object's id, new in this process), so nothing is planned afresh:
    a rule's rate still counts from its creation, and nothing fires twice for one time."""
    items = dict(ticker._scheduled())
    with ticker._lock:
        for key, plan in plans.items():
            item = items.get(key)
            if item is None:
                continue
            if key[0] == "rule":
                plan.signature = (id(item), *plan.signature[1:])
            ticker._plans[key] = plan
