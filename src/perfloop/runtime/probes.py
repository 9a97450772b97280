"""Capture probes that cost almost nothing between the calls they record (Python 3.12+).

On 3.10 and 3.11 a target's calls all go through its recording wrapper (see
perfloop.runtime.recorder): every call pays for a Python-level wrapper, even the
ones reservoir sampling does not keep, and most calls are not kept once the
reservoir is full (fib(25) calls fib 242,785 times; 50 are kept).

From 3.12 the recorder switches between two probes per target:

- **recording** (the function's code is a trampoline into the recorder, which records
  the call as the 3.11 wrapper does): while the reservoir fills, and for each call the
  sampler picks;
- **counting** (the original code back, and one `sys.monitoring` local event,
  PY_START, on the target's own code object only): between picked calls. The callback
  adds one to the count and, one call before the next pick, puts the trampoline back
  and switches its own event off (`set_local_events(tool, code, 0)`), so the picked
  call is recorded exactly as on 3.11.

The function object itself never moves, so capture follows it wherever the workload
holds it: aliases, `from m import f` copies, dispatch tables, bound methods.

No other code object is instrumented, so the rest of the workload runs at full speed.
The sampler draws the index of the next kept call directly (the skip of Vitter's
reservoir algorithms): call m is kept with probability k/m, as Algorithm R does one
draw per call, so the sample is the same uniform, seeded, spread-over-the-run sample.

Only targets that callers reach as the function itself take part: a plain function,
static or class method, that is not a generator. A cache, another decorator or a
generator function keeps the 3.11 wrapper for the whole run (the wrapper records the
call through the decorator; a cache hit runs no code to count; a generator's code
starts at its first `next`).
Standard library only: this runs inside the user's process.
"""

from __future__ import annotations

import math
import random
import sys
import threading
import types
from typing import Any

from perfloop.runtime.loader import Target

AVAILABLE = sys.version_info >= (3, 12)
TOOL_NAME = "perfloop-capture"

_LAZY_CODE = 0x20 | 0x80 | 0x100 | 0x200  # generator, coroutine, iterable coroutine, async gen


def next_pick(after: int, kept: int, draw: random.Random) -> int | None:
    """The index of the next call to keep after call `after`, when call m (m > after) is
    kept with probability kept/m independently (Algorithm R's rule); None if none can be.

    The chance that none of calls after+1..j is kept is
    S(j) = prod (1 - k/m) = Γ(j-k+1) Γ(after+1) / (Γ(after-k+1) Γ(j+1)); one uniform
    draw u gives the first j with S(j) < u, found by doubling then bisection.
    """
    k = kept
    if k <= 0:
        return None
    if after + 1 <= k:
        return after + 1  # within the reservoir's size every call is kept
    base = math.lgamma(after + 1) - math.lgamma(after - k + 1)

    def log_survival(j: int) -> float:
        return math.lgamma(j - k + 1) - math.lgamma(j + 1) + base

    log_u = math.log(1.0 - draw.random())  # in (-inf, 0]
    low, high = after, after + 1
    while log_survival(high) >= log_u:
        low, high = high, after + 2 * (high - after)
        if high > 1 << 62:
            return None
    while high - low > 1:
        middle = (low + high) // 2
        if log_survival(middle) >= log_u:
            low = middle
        else:
            high = middle
    return high


def eligible(target: Target) -> bool:
    """Whether callers reach the target as its plain function (see the module doc)."""
    if not AVAILABLE or target.function.__code__.co_flags & _LAZY_CODE:
        return False
    raw = target.raw
    if isinstance(raw, (staticmethod, classmethod)):
        plain = raw.__func__ is target.function
    else:
        plain = raw is target.function
    return plain and _tool().id is not None


class _Tool:
    """The one sys.monitoring tool id this process's capture uses, and its callback."""

    def __init__(self) -> None:
        monitoring = sys.monitoring  # type: ignore[attr-defined]
        self.id: int | None = None
        for tool in (3, 4, 5, 2):  # 0 is the debugger's, 1 coverage's: leave them to the user
            if monitoring.get_tool(tool) is None:
                monitoring.use_tool_id(tool, TOOL_NAME)
                self.id = tool
                break
        # by id(): hashing a code object hashes its bytecode, constants and names on
        # every call (not cached), about 2 µs, more than all the rest of the callback;
        # each probe holds its code object, so an id cannot be reused while it is here
        self.probes: dict[int, Probe] = {}
        if self.id is not None:
            monitoring.register_callback(self.id, monitoring.events.PY_START, self._on_start)

    def _on_start(self, code: types.CodeType, offset: int) -> object:
        # every call of a target between recorded calls runs this: kept short
        probe = self.probes.get(id(code))
        if probe is None:
            return sys.monitoring.DISABLE  # type: ignore[attr-defined]
        probe.events_seen += 1
        if probe.skip is not None and probe.skip == threading.get_ident():
            probe.skip = None  # the recorder's own call: the recorder counted it
            return None
        recorder = probe.recorder
        if recorder.pulling_now:
            return None  # inside an item of a lazy result being recorded: not a call
        recorder.calls_seen += 1
        pick = recorder.next_pick
        if pick is not None and recorder.calls_seen + 1 >= pick:
            probe.record_from_here()
        return None


_TOOL: _Tool | None = None


def _tool() -> _Tool:
    global _TOOL
    if _TOOL is None:
        _TOOL = _Tool()
    return _TOOL


PROBES_GLOBAL = "__perfloop_probes__"
"""The module global (a dunder: module snapshots leave it out) the trampolines call through."""


def _trampoline(function: types.FunctionType, index: int) -> types.CodeType:
    """Code for `function` that hands every call to its probe: `def f(*a, **k): return
    __perfloop_probes__[index](a, k)`, with as many free variables as the function's
    closure has cells (a function's code can only be swapped for code that has)."""
    code = function.__code__
    free = [f"__perfloop_free{i}__" for i in range(len(code.co_freevars))]
    keep = f"        if a is None: ({', '.join(free)},)\n" if free else ""
    source = (
        "def outer():\n"
        + "".join(f"    {name} = None\n" for name in free)
        + "    def trampoline(*a, **k):\n"
        + keep
        + f"        return {PROBES_GLOBAL}[{index}](a, k)\n"
        + "    return trampoline\n"
    )
    namespace: dict[str, Any] = {}
    exec(compile(source, code.co_filename, "exec"), namespace)
    inner = namespace["outer"]().__code__
    return inner.replace(  # type: ignore[no-any-return]
        co_name=code.co_name,
        co_qualname=code.co_qualname,  # type: ignore[attr-defined]
        co_firstlineno=code.co_firstlineno,
    )


class Probe:
    """Switches one target between recording every call and counting calls with an event.

    The target's function object stays bound wherever the workload holds it (its
    module, its class, aliases, `from m import f` copies, dispatch tables, bound
    methods); only its `__code__` changes: a trampoline into the recorder while
    recording, the original code while counting. The recorder calls a clone (the
    same code, globals, defaults and closure) for the call itself.
    """

    def __init__(self, target: Target, recorder: Any) -> None:
        tool = _tool()
        assert tool.id is not None, "eligible() checks that a tool id is free"
        function = target.function
        self.tool = tool.id
        self.function = function
        self.code = function.__code__
        self.recorder = recorder
        self.clone = types.FunctionType(
            self.code, function.__globals__, function.__name__, function.__defaults__,
            function.__closure__,
        )  # fmt: skip
        self.clone.__kwdefaults__ = function.__kwdefaults__
        self.clone.__qualname__ = function.__qualname__
        self.clone.__module__ = function.__module__
        table = function.__globals__.setdefault(PROBES_GLOBAL, [])
        table.append(self._enter)
        self.trampoline = _trampoline(function, len(table) - 1)
        self.bound = False  # the trampoline is the function's code
        self.counting = False
        self.events_seen = 0  # PY_START events this probe's callback received
        self.switches = 0  # times the trampoline was taken away again
        # the thread whose next start of the code is the recorder's own call of the clone
        self.skip: int | None = None
        tool.probes[id(self.code)] = self
        self.record_from_here()

    def _enter(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return self.recorder.call(self.clone, args, kwargs)

    # --- switching --------------------------------------------------------------

    def count_from_here(self, recorder_calls_next: bool) -> None:
        """Put the original code back and count with the event (the recorder's own call
        of the clone, about to happen when `recorder_calls_next`, is not counted again)."""
        if not self.bound:
            return
        self.function.__code__ = self.code
        self.bound = False
        self.switches += 1
        if recorder_calls_next:
            self.skip = threading.get_ident()
        self._set_events(sys.monitoring.events.PY_START)  # type: ignore[attr-defined]

    def record_from_here(self) -> None:
        """Switch the event off and the trampoline in: the next call is recorded."""
        if self.bound:
            return
        self._set_events(0)
        self.function.__code__ = self.trampoline
        self.bound = True

    def recorder_call_done(self) -> None:
        """The recorder's call of the clone has started or failed to; stop skipping."""
        self.skip = None

    def stop(self) -> None:
        """Switch the event off for good (at exit); the code stays as it is."""
        if self.counting:
            self._set_events(0)

    def _set_events(self, events: int) -> None:
        sys.monitoring.set_local_events(self.tool, self.code, events)  # type: ignore[attr-defined]
        self.counting = bool(events)


def counts() -> dict[str, dict[str, int]]:
    """Per probe (by code name): events its callback received, and switches to counting."""
    if _TOOL is None:
        return {}
    return {
        probe.recorder.ref: {"events": probe.events_seen, "switches": probe.switches}
        for probe in _TOOL.probes.values()
    }
