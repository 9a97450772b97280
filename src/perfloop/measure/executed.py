"""Does a candidate run, on the recorded calls, the very instructions the original runs?

A rewrite can be verified and still change nothing the recorded calls execute: a rule
that fires in a branch the workload never takes. pyparsing 3.1.4's `Forward.parseImpl`
warns, in a branch taken only for a `Forward` that was never given an expression, after
searching the stack for a tuple of names; `set-membership` makes that tuple a set. Not
one recorded call reaches the branch, yet the candidate measured 1.064x [1.053, 1.075]
and 1.070x [1.014, 1.129] in two runs of the real-library bed (and 1.02x-1.03x with
`perfloop bench`): two module copies of the same code laid out differently in memory
(Mytkowicz et al., "Producing wrong data without doing anything obviously wrong!", 2009).
Only its weak verification kept it from being applied.

So before timing, the first timing process runs each recorded call once more on each
version with a trace on the target's code objects (the function and the functions,
lambdas and comprehensions defined in it) and compares the instructions they execute,
call by call: opcode and argument (names, constants; jumps by opcode only, as their
offsets move with any edit). When every call runs the same instructions, and the
candidate's module differs from the original's only inside the function's body (a
changed default value, decorator or module constant would make the same instructions
do other work), no timing could show a difference that is not noise, and the candidate
is reported as not timed, and why, instead of being timed.

This is a claim about the recorded calls only, which are what the timing uses: the
workload may reach the branch on calls that were not recorded; then the edit is
untested there too, and the verification strength says so.
"""

from __future__ import annotations

import ast
import dis
import functools
import hashlib
import inspect
import sys
import threading
import types
from collections.abc import Callable, Iterator
from typing import Any

from perfloop.qualnames import find_function

MAX_TRACED_INSTRUCTIONS = 1_000_000
"""Per version and pass over the recorded calls: a longer one gives up, and the candidate
is timed as any other (tracing costs about 0.5 us an instruction, so at most about a
second a version)."""

_JUMPS = frozenset((*dis.hasjrel, *dis.hasjabs, *getattr(dis, "hasjump", ())))


@functools.lru_cache(maxsize=8)
def only_the_body_differs(original_source: str, candidate_source: str, qualname: str) -> bool:
    """Whether the two module sources differ, and only in the statements of `qualname`'s
    body: its decorators, signature (defaults too), enclosing class and the rest of the
    module the same. Cached: a timing run asks once per candidate, about modules of
    thousands of lines."""
    if original_source == candidate_source:
        return False
    try:
        trees = ast.parse(original_source), ast.parse(candidate_source)
    except SyntaxError:
        return False
    for tree in trees:
        function = find_function(tree, qualname)
        if function is None:
            return False
        function.body = [ast.Pass()]
    return ast.dump(trees[0]) == ast.dump(trees[1])


def target_codes(function: object) -> tuple[types.CodeType, ...]:
    """The code objects of the plain function behind `function` (decorators unwrapped,
    a bound method's function) and of every function, lambda, comprehension and class
    body defined in it, at any depth; () when there is no Python function behind it."""
    plain = inspect.unwrap(getattr(function, "__func__", function))  # type: ignore[arg-type]
    code = getattr(plain, "__code__", None)
    if not isinstance(code, types.CodeType):
        return ()
    return tuple(_nested(code))


def _nested(code: types.CodeType) -> Iterator[types.CodeType]:
    yield code
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            yield from _nested(constant)


@functools.lru_cache(maxsize=256)
def _instruction_keys(code: types.CodeType) -> dict[int, bytes]:
    """Each instruction's offset -> what it does, without where it is: the opcode's
    name and its argument (a jump's target is left out). Cached: a trace is made per
    recorded call and version, over the same code objects."""
    keys = {}
    for instruction in dis.get_instructions(code):
        value = instruction.argval
        if instruction.opcode in _JUMPS:
            argument = ""
        elif isinstance(value, types.CodeType):
            argument = value.co_name
        else:
            argument = repr(value)
        keys[instruction.offset] = f"{instruction.opname} {argument}\n".encode()
    return keys


class InstructionTrace:
    """A digest of the instructions the given code objects execute while it is active
    (in this thread and in threads started meanwhile); `complete` is False when more
    than `limit` ran or another tracer was active (nothing can be said)."""

    def __init__(
        self, codes: tuple[types.CodeType, ...], limit: int = MAX_TRACED_INSTRUCTIONS
    ) -> None:
        self._codes = codes  # kept alive: their ids key the tables
        self._keys = {id(code): _instruction_keys(code) for code in codes}
        self._digest = hashlib.blake2b(digest_size=16)
        self._limit = limit
        self.count = 0
        self.complete = True
        self._tool: int | None = None  # the sys.monitoring tool id, on 3.12+

    def digest(self) -> bytes:
        return self._digest.digest()

    def __enter__(self) -> InstructionTrace:
        if sys.version_info >= (3, 12):
            self._start_monitoring()
        elif sys.gettrace() is not None:  # a debugger or coverage: leave it alone
            self.complete = False
        else:
            self._threads = threading.gettrace()  # type: ignore[attr-defined]
            threading.settrace(self._on_call)
            sys.settrace(self._on_call)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._tool is not None:
            monitoring = sys.monitoring  # type: ignore[attr-defined]
            for code in self._codes:
                monitoring.set_local_events(self._tool, code, 0)
            monitoring.register_callback(self._tool, monitoring.events.INSTRUCTION, None)
            monitoring.free_tool_id(self._tool)
        elif hasattr(self, "_threads"):
            sys.settrace(None)
            threading.settrace(self._threads)  # type: ignore[arg-type]

    def _count_one(self) -> bool:
        self.count += 1
        if self.count > self._limit:
            self.complete = False
        return self.complete

    # sys.settrace (before 3.12): every call is seen; opcode events in the target's frames

    def _on_call(self, frame: types.FrameType, event: str, arg: Any) -> Callable[..., Any] | None:
        if id(frame.f_code) not in self._keys or not self.complete:
            return None
        frame.f_trace_lines = False
        frame.f_trace_opcodes = True
        return self._on_event

    def _on_event(self, frame: types.FrameType, event: str, arg: Any) -> Callable[..., Any] | None:
        if event != "opcode":
            return self._on_event
        if not self._count_one():
            frame.f_trace_opcodes = False
            return None
        self._digest.update(self._keys[id(frame.f_code)].get(frame.f_lasti, b"?\n"))
        return self._on_event

    # sys.monitoring (3.12+): instruction events on the target's code objects only (setting
    # f_trace_opcodes in a settrace call event missed a code object's first call on 3.12.1)

    def _start_monitoring(self) -> None:
        monitoring = sys.monitoring  # type: ignore[attr-defined]
        for tool in (4, 3, 5, 2):  # 0 is the debugger's, 1 coverage's
            if monitoring.get_tool(tool) is None:
                monitoring.use_tool_id(tool, "perfloop-instructions")
                self._tool = tool
                break
        else:
            self.complete = False  # every tool id is taken: nothing can be said
            return
        monitoring.register_callback(tool, monitoring.events.INSTRUCTION, self._on_instruction)
        for code in self._codes:
            monitoring.set_local_events(tool, code, monitoring.events.INSTRUCTION)

    def _on_instruction(self, code: types.CodeType, offset: int) -> object:
        if not self._count_one():
            for each in self._codes:
                sys.monitoring.set_local_events(self._tool, each, 0)  # type: ignore[attr-defined]
            return None
        self._digest.update(self._keys[id(code)].get(offset, b"?\n"))
        return None
