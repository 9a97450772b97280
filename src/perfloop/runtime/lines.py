"""Time the lines of chosen functions while the user's workload runs.

Only the chosen functions' code objects (and the comprehensions, generator
expressions and lambdas inside them) are instrumented, so the rest of the
workload runs at full speed on Python 3.12+ (`sys.monitoring` local events).
Before 3.12 a `sys.settrace` function sees every call but returns at once for
code it does not time.

With a `budget`, each target is timed for its first `budget` calls only; then its
probes are switched off (3.12+: `set_local_events(tool, code, 0)`; before: the trace
function returns at once for it too), and it runs at full speed for the rest of
the workload. The lines' shares of a hot function settle long before its
hundred-thousandth call.

A line's time runs from its line event to the next event of the same frame, so
it includes the callees it runs (a `sorted(x)` on the line is the line's time).
A nested timed frame (a recursive call, a generator expression) pauses its
caller, so no time is counted twice. Standard library only: this runs inside
the user's process.
"""

from __future__ import annotations

import sys
import threading
import time
import types
from collections.abc import Iterable

_clock = time.perf_counter


def code_objects(code: types.CodeType) -> Iterable[types.CodeType]:
    """`code` and every code object nested in it (comprehensions, lambdas, inner defs)."""
    yield code
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            yield from code_objects(constant)


class _Frame:
    __slots__ = ("code", "line", "since")

    def __init__(self, code: types.CodeType, line: int, since: float) -> None:
        self.code = code
        self.line = line
        self.since = since


class LineTimer:
    """Per code object and line: [hits, seconds]. Start once; `summary()` at exit."""

    def __init__(self, budget: int | None = None) -> None:
        self.budget = budget
        self.roots: dict[types.CodeType, str] = {}  # each target's own code
        self.calls: dict[str, int] = {}  # calls timed per target
        self.retired: set[types.CodeType] = set()  # codes of targets past their budget
        self.codes: dict[types.CodeType, str] = {}
        # the same by id(), for the callbacks: hashing a code object hashes its bytecode,
        # constants and names every time (about 2 µs); `codes` keeps each one alive
        self._ref_of: dict[int, str] = {}
        self._root_of: dict[int, str] = {}
        self.timings: dict[tuple[str, int], list[float]] = {}
        self._stacks = threading.local()
        self._tool: int | None = None

    # --- bookkeeping shared by both back ends -------------------------------

    def _stack(self) -> list[_Frame]:
        stack = getattr(self._stacks, "frames", None)
        if stack is None:
            stack = self._stacks.frames = []
        return stack

    def _charge(self, frame: _Frame, now: float) -> None:
        if frame.line > 0:
            entry = self.timings[(self._ref_of[id(frame.code)], frame.line)]
            entry[1] += now - frame.since
        frame.since = now

    def enter(self, code: types.CodeType) -> None:
        now = _clock()
        stack = self._stack()
        if stack:
            self._charge(stack[-1], now)
        stack.append(_Frame(code, 0, now))

    def line(self, code: types.CodeType, lineno: int) -> None:
        now = _clock()
        stack = self._stack()
        if not stack or stack[-1].code is not code:  # started before timing began
            stack.append(_Frame(code, 0, now))
        frame = stack[-1]
        self._charge(frame, now)
        frame.line = lineno
        entry = self.timings.setdefault((self._ref_of[id(code)], lineno), [0, 0.0])
        entry[0] += 1

    def leave(self, code: types.CodeType) -> None:
        now = _clock()
        stack = self._stack()
        if not stack or stack[-1].code is not code:
            return
        self._charge(stack.pop(), now)
        if stack:
            stack[-1].since = now

    # --- instrumentation ------------------------------------------------------

    def add(self, ref: str, code: types.CodeType) -> None:
        """Time the lines of `code` (and the code nested in it) as lines of `ref`."""
        self.roots[code] = ref
        self._root_of[id(code)] = ref
        for inner in code_objects(code):
            self.codes[inner] = ref
            self._ref_of[id(inner)] = ref
            if self._tool is not None:
                self._monitor(inner)

    def start(self) -> None:
        if sys.version_info >= (3, 12):
            self._start_monitoring()
        else:
            threading.settrace(self._trace_call)
            sys.settrace(self._trace_call)

    def stop(self) -> None:
        if self._tool is not None:
            monitoring = sys.monitoring  # type: ignore[attr-defined]
            monitoring.set_events(self._tool, 0)
            for code in self.codes:
                monitoring.set_local_events(self._tool, code, 0)
            monitoring.free_tool_id(self._tool)
            self._tool = None
        else:
            sys.settrace(None)
            threading.settrace(None)  # type: ignore[arg-type]

    def _within_budget(self, code: types.CodeType) -> bool:
        """Count a call of a target's own code; past the budget, switch the target off."""
        ref = self._root_of.get(id(code))
        if ref is None or self.budget is None:
            return True
        calls = self.calls[ref] = self.calls.get(ref, 0) + 1
        if calls <= self.budget:
            return True
        self._retire(ref)
        return False

    def _retire(self, ref: str) -> None:
        codes = [code for code, owner in self.codes.items() if owner == ref]
        self.retired.update(codes)
        if self._tool is not None:
            for code in codes:
                sys.monitoring.set_local_events(self._tool, code, 0)  # type: ignore[attr-defined]
        # frames of it still running (a recursion) will not report leaving: forget them
        stack = self._stack()
        kept = [frame for frame in stack if frame.code not in self.retired]
        if len(kept) != len(stack):
            stack[:] = kept
            if stack:
                stack[-1].since = _clock()

    def summary(self) -> dict[str, dict[int, tuple[int, float]]]:
        """{ref: {line: (hits, seconds)}}: plain data for the main process."""
        result: dict[str, dict[int, tuple[int, float]]] = {}
        for (ref, line), (hits, seconds) in self.timings.items():
            result.setdefault(ref, {})[line] = (int(hits), float(seconds))
        return result

    # sys.settrace (before 3.12)

    def _trace_call(self, frame: types.FrameType, event: str, arg: object) -> object:
        code = frame.f_code
        if code not in self.codes or code in self.retired or not self._within_budget(code):
            return None
        self.enter(code)
        return self._trace_local

    def _trace_local(self, frame: types.FrameType, event: str, arg: object) -> object:
        if event == "line":
            self.line(frame.f_code, frame.f_lineno)
        elif event == "return":  # also on yield and when an exception leaves the frame
            self.leave(frame.f_code)
        return self._trace_local

    # sys.monitoring (3.12+)

    def _start_monitoring(self) -> None:
        monitoring = sys.monitoring  # type: ignore[attr-defined]
        for tool in (monitoring.PROFILER_ID, 3, 4, monitoring.OPTIMIZER_ID):
            if monitoring.get_tool(tool) is None:
                monitoring.use_tool_id(tool, "perfloop-lines")
                self._tool = tool
                break
        else:
            return  # every tool id is taken (another profiler); no line profile
        events = monitoring.events
        monitoring.register_callback(tool, events.PY_START, self._on_start)
        monitoring.register_callback(tool, events.PY_RESUME, self._on_enter)
        monitoring.register_callback(tool, events.LINE, self.line)
        monitoring.register_callback(tool, events.PY_RETURN, self._on_leave)
        monitoring.register_callback(tool, events.PY_YIELD, self._on_leave)
        monitoring.register_callback(tool, events.PY_UNWIND, self._on_unwind)
        monitoring.set_events(tool, events.PY_UNWIND)  # only settable process-wide
        for code in self.codes:
            self._monitor(code)

    def _monitor(self, code: types.CodeType) -> None:
        events = sys.monitoring.events  # type: ignore[attr-defined]
        wanted = (
            events.PY_START | events.PY_RESUME | events.LINE | events.PY_RETURN | events.PY_YIELD
        )
        sys.monitoring.set_local_events(self._tool, code, wanted)  # type: ignore[attr-defined]

    def _on_start(self, code: types.CodeType, offset: int) -> None:
        if self._within_budget(code):
            self.enter(code)

    def _on_enter(self, code: types.CodeType, offset: int) -> None:
        self.enter(code)

    def _on_leave(self, code: types.CodeType, offset: int, value: object) -> None:
        self.leave(code)

    def _on_unwind(self, code: types.CodeType, offset: int, exception: BaseException) -> None:
        if code in self.codes and code not in self.retired:
            self.leave(code)
