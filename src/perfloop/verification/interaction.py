"""The interaction tier: sequences of calls on one object, original against candidate.

A per-call check starts every call from the instance as the workload had it just
before; state a candidate keeps wrong across calls (a counter off after the second
chunk, a cache that is never invalidated, state kept outside the instance) shows
only when the same object is driven through a sequence of calls. Capture follows a
few instances of the target's class through the workload (perfloop.runtime.histories);
here, in one sandboxed worker, each recorded history is replayed three times side by
side, step by step: twice on the original (if the two disagree, the history depends
on something besides its calls and is left out) and once with the candidate in
place. Then Hypothesis's stateful testing makes up new sequences: constructors and
method calls drawn from those the workload made, and new arguments of the shapes it
passed; a difference is shrunk to the shortest sequence.

What is compared at each step is what a caller of the object observes: the step's
return value or exception type (and message, under the policy), what it printed,
the state of the arguments it was passed, and the instance's public attributes
(names without a leading underscore). Private attributes are free to differ as
long as no later call shows it; the result says which ones were treated as private.
At the end of each sequence, what a caller can still ask the object is asked too:
its length and its items, where its class defines `__len__` or `__iter__` (cachetools
6.2's LFUCache evicts another key than 6.0's among keys used equally often; the first
100 calls of the workload's caches never looked up an evicted key, so every step
answered the same while the caches already held different keys). Where the original
answers differently twice (items of a set of objects hashed by identity), the end is
not compared.

A difference comes back as a program a user can paste: the import, the constructor
and the calls up to the step that differs.
"""

from __future__ import annotations

import contextlib
import itertools
import pickle
import random
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from perfloop.model import Limits, ObjectHistory
from perfloop.runtime import pickling
from perfloop.runtime.loader import attribute_name, serving
from perfloop.sandbox.runner import run_in_worker
from perfloop.verification import calls as calling
from perfloop.verification.compare import ComparePolicy, compare_values
from perfloop.verification.fuzz import FuzzSettings
from perfloop.verification.pasteable import argument_source
from perfloop.verification.shapes import Constants, call_forms

TIER = "interaction"
OBSERVED = "<end>"  # the pseudo-step that asks the object its length and items at the end
OBSERVED_ITEMS = 10_000  # items read at most from an object at the end of a sequence
ORIGINAL_STEP_SECONDS = 10.0  # a step of the original (it ran in the workload) may take this
GENERATED_STEPS = 20  # at most, per generated sequence
POOL = 50  # distinct recorded argument lists per method offered to generated sequences
_MISSING = object()


@dataclass(frozen=True)
class InteractionTask:
    module: str
    qualname: str  # the target method, `Class.method`
    path: str
    original_source: str
    source: str  # the candidate's module
    histories: tuple[ObjectHistory, ...]
    constants: Constants
    settings: FuzzSettings  # the budget of generated sequences
    policy: ComparePolicy
    history_seconds: float = 60.0  # for the recorded histories; those left are not replayed
    # the target is a whole class (`qualname` names it): the candidate module's class is
    # put in place of the original, and public properties are compared after each step too
    whole_class: bool = False


@dataclass(frozen=True)
class InteractionResult:
    """What the interaction tier found for one candidate."""

    outcome: str  # "same" | "different" | "unverifiable" | "skipped" | "failed"
    histories: int  # recorded histories replayed to the end (or to the difference)
    generated: int  # sequences Hypothesis made up
    seconds: float
    program: str | None = None  # the pasteable sequence that differs
    description: str | None = None
    exact: bool = True  # pasting `program` rebuilds every argument exactly
    note: str | None = None
    private: tuple[str, ...] = ()  # the instance attributes treated as private


class _Unusable(Exception):
    """The original cannot run this sequence the same way twice, or not at all."""


class _Different(Exception):
    pass


class _OutOfBudget(BaseException):
    """Generation time is up and nothing differed (a BaseException: Hypothesis lets it through)."""


@dataclass
class _Found:
    steps: tuple[tuple[str, bytes], ...]  # the calls up to and with the one that differs
    constructor: bytes
    description: str
    where: str  # "recorded history 3 (instance #12 the workload made)", "a generated sequence"


@dataclass
class _Seen:
    private: set[str] = field(default_factory=set)
    unstable: list[str] = field(default_factory=list)  # why histories were left out


class _Episode:
    """One sequence being run on two originals and the candidate, step by step."""

    def __init__(self, checker: _Checker, constructor: bytes) -> None:
        self.checker = checker
        self.constructor = constructor
        self.steps: list[tuple[str, bytes]] = []
        self.instances: tuple[object, object, object] | None = None

    def start(self) -> str | None:
        """Construct the three instances; a description if the candidate differs already."""
        checker = self.checker
        first, second = (checker.construct(checker.original, self.constructor) for _ in range(2))
        if first.outcome is None or first.outcome[0] == "raise":
            raise _Unusable("the original's constructor did not finish or raised")
        if second.outcome is None or second.outcome[0] == "raise":
            raise _Unusable("the original's constructor raised when run again")
        third = checker.construct(checker.candidate, self.constructor)
        a, b = first.outcome[1], second.outcome[1]
        if third.outcome is None or third.outcome[0] == "raise":
            self.instances = (a, b, None)
            return checker.describe(first, third)
        c = third.outcome[1]
        self.instances = (a, b, c)
        unstable = checker.attributes(a, checker.original, b, checker.original)
        if unstable is not None:
            raise _Unusable(f"two instances made alike differ at once: {unstable}")
        return checker.attributes(a, checker.original, c, checker.candidate)

    def step(self, method: str, data: bytes) -> str | None:
        """Run one call on each instance; a description if the candidate's differs."""
        assert self.instances is not None
        checker = self.checker
        a, b, c = self.instances
        self.steps.append((method, data))
        seed = len(self.steps)
        first = checker.call(checker.original, a, method, data, ORIGINAL_STEP_SECONDS, seed)
        if first.exhausted is not None:
            raise _Unusable(f"the original's .{method}() did not finish")
        second = checker.call(checker.original, b, method, data, ORIGINAL_STEP_SECONDS, seed)
        unstable = checker.describe(first, second) or checker.attributes(
            a, checker.original, b, checker.original
        )
        if unstable is not None:
            raise _Unusable(f"the original gave two answers to the same calls: {unstable}")
        limit = max(1.0, 20 * first.seconds)
        third = checker.call(checker.candidate, c, method, data, limit, seed)
        return checker.describe(first, third) or checker.attributes(
            a, checker.original, c, checker.candidate
        )

    def finish(self) -> str | None:
        """Ask each instance its length and items, where its class answers such questions;
        a description if the candidate's answer differs (nothing where the original's two
        answers differ, or it has none)."""
        if self.instances is None or self.instances[2] is None:
            return None
        checker = self.checker
        a, b, c = self.instances
        first = checker.observe(checker.original, a, ORIGINAL_STEP_SECONDS)
        if first is None or first.exhausted is not None:
            return None
        second = checker.observe(checker.original, b, ORIGINAL_STEP_SECONDS)
        if second is None or checker.describe(first, second) is not None:
            return None
        third = checker.observe(checker.candidate, c, max(1.0, 20 * first.seconds))
        if third is None:
            return "the object no longer has a length or items to iterate over"
        problem = checker.describe(first, third)
        if problem is None:
            return None
        self.steps.append((OBSERVED, b""))
        for asked in ("len(obj)", "list(obj)"):  # name what was asked, not the dict of answers
            problem = problem.replace(f"result[{asked!r}]", asked)
        return f"asked for its length and items after the last call: {problem}"


class _Checker:
    def __init__(self, task: InteractionTask) -> None:
        self.task = task
        if task.whole_class:
            self.original = calling.load_original_class(
                task.module, task.qualname, task.path, task.original_source
            )
            self.candidate = calling.load_class_copy(
                task.module, task.qualname, task.path, task.source
            )
            self.owner = task.qualname
        else:
            self.original = calling.load_original(
                task.module, task.qualname, task.path, task.original_source
            )
            self.candidate = calling.load_copy(task.module, task.qualname, task.path, task.source)
            self.owner = task.qualname.rpartition(".")[0]
        self.seen = _Seen()
        self.calls = 0

    def _class(self, version: calling.Version) -> type:
        if self.task.whole_class:  # the version is the class itself
            assert isinstance(version.function, type)
            return version.function
        found: object = version.module
        for part in self.owner.split("."):
            found = getattr(found, part)
        assert isinstance(found, type)
        return found

    def _loads(self, version: calling.Version, data: bytes) -> tuple[tuple[object, ...], dict]:
        with serving(version.module):
            return pickle.loads(data)  # type: ignore[no-any-return]

    def construct(self, version: calling.Version, data: bytes) -> calling.CallResult:
        args, kwargs = self._loads(version, data)
        random.seed(0)
        cls = self._class(version)
        return calling.run_call(  # the instance the steps drive, even an iterator
            cls, args, kwargs, ORIGINAL_STEP_SECONDS, calling.installed(version), pull=False
        )

    def call(
        self,
        version: calling.Version,
        instance: object,
        method: str,
        data: bytes,
        limit: float,
        seed: int,
    ) -> calling.CallResult:
        args, kwargs = self._loads(version, data)
        random.seed(seed)  # each side draws the same random numbers, in the same order

        def step(*args: object, **kwargs: object) -> object:  # looked up with the version in place
            return getattr(instance, method)(*args, **kwargs)

        self.calls += 1
        return calling.run_call(
            step,
            args,
            kwargs,
            limit,
            calling.installed(version),
            receiver=instance,
            module=version.module,
        )

    def observe(
        self, version: calling.Version, instance: object, limit: float
    ) -> calling.CallResult | None:
        """The instance's length and items (up to OBSERVED_ITEMS), read with its version in
        place; None where its class defines neither `__len__` nor `__iter__`."""
        cls = type(instance)
        sized = getattr(cls, "__len__", None) is not None
        iterable = getattr(cls, "__iter__", None) is not None
        if not sized and not iterable:
            return None

        def answers() -> dict[str, object]:
            found: dict[str, object] = {}
            if sized:
                found["len(obj)"] = len(instance)  # type: ignore[arg-type]
            if iterable:
                items = itertools.islice(iter(instance), OBSERVED_ITEMS)  # type: ignore[call-overload]
                found["list(obj)"] = list(items)
            return found

        return calling.run_call(answers, (), {}, limit, calling.installed(version))

    def describe(self, expected: calling.CallResult, actual: calling.CallResult) -> str | None:
        if actual.outcome is not None:
            rebuilt = calling.as_original(actual.outcome, self.candidate, self.original)
            actual = calling.CallResult(rebuilt, actual.stdout, actual.seconds, actual.exhausted)
        return calling.differs(expected, actual, self.task.policy, False)

    def attributes(
        self, a: object, side_a: calling.Version, b: object, side_b: calling.Version
    ) -> str | None:
        """How the instances' public attributes differ, or None."""
        properties = self.task.whole_class
        public_a, private_a = _attributes(a, side_a, properties)
        public_b, private_b = _attributes(b, side_b, properties)
        self.seen.private |= private_a | private_b
        if side_b is not side_a:
            rebuilt = calling.as_original(("return", public_b, ((), {})), side_b, side_a)
            public_b = rebuilt[1]  # type: ignore[assignment]
        for name in sorted(public_a.keys() | public_b.keys()):
            want, have = public_a.get(name, _MISSING), public_b.get(name, _MISSING)
            if want is _MISSING or have is _MISSING:
                missing = "has no" if have is _MISSING else "has an extra"
                return f"the instance {missing} public attribute {name!r} after the call"
            mismatch = compare_values(want, have, f"obj.{name}", self.task.policy)
            if mismatch is not None:
                return f"public attribute after the call: {mismatch.describe()}"
        return None

    def program(self, found: _Found) -> tuple[str, bool]:
        """The sequence as Python to paste, and whether it rebuilds every argument exactly."""
        module, owner = self.task.module, self.owner
        imports = [f"from {module} import {owner.split('.')[0]}"]
        exact = True

        def arguments(data: bytes) -> str:
            nonlocal exact
            args, kwargs = self._loads(self.original, data)
            parts = []
            for key, value in [*((None, a) for a in args), *kwargs.items()]:
                source = argument_source(value, self.task.policy)
                text = source.text
                if not source.exact:
                    named = _named_global(value, module, self.task.policy)
                    if named is None:
                        exact = False
                    else:
                        imports.append(f"from {named[0]} import {named[1]}")
                        text = named[1]
                parts.append(text if key is None else f"{key}={text}")
            return ", ".join(parts)

        lines = [f"obj = {owner}({arguments(found.constructor)})"]
        for number, (method, data) in enumerate(found.steps, 1):
            if method == OBSERVED:
                lines.append("len(obj), list(obj)  # differs here: the length or the items")
                continue
            line = f"obj.{method}({arguments(data)})"
            if number == len(found.steps):
                line += "  # differs here"
            lines.append(line)
        if not found.steps:
            lines[0] += "  # differs here"
        return "\n".join([*dict.fromkeys(imports), *lines]), exact


def _attributes(
    instance: object, version: calling.Version, properties: bool = False
) -> tuple[dict[str, object], set[str]]:
    """(public attributes, names of private ones) of an instance: its __dict__ and the
    slots it has set (a rewrite may move attributes into `__slots__`), and with
    `properties` the values of the public properties of its class, read with its version
    in place (what such a property raises counts as its value)."""
    held = getattr(instance, "__dict__", None)
    values: dict[str, object] = dict(held) if isinstance(held, dict) else {}
    for name in _slots(type(instance)):
        with contextlib.suppress(AttributeError):  # a slot never set
            values[name] = getattr(instance, name)
    public = {str(k): v for k, v in values.items() if not str(k).startswith("_")}
    private = {str(k) for k in values if str(k).startswith("_")}
    if properties:
        with calling.installed(version):
            for name in _public_properties(type(instance)):
                if name in public:
                    continue
                try:
                    public[name] = getattr(instance, name)
                except Exception as exc:
                    kind = type(exc)
                    public[name] = ("raises", f"{kind.__module__}.{kind.__qualname__}")
    return public, private


def _slots(cls: type) -> list[str]:
    """The slot names of `cls` and its bases, as the instance stores them (mangled)."""
    names: list[str] = []
    for klass in cls.__mro__:
        declared = klass.__dict__.get("__slots__", ())
        for name in (declared,) if isinstance(declared, str) else declared:
            if name in ("__dict__", "__weakref__"):
                continue
            names.append(attribute_name(klass, name))
    return names


def _public_properties(cls: type) -> list[str]:
    """The public properties of `cls` and its bases: what callers read as attributes."""
    found: list[str] = []
    for klass in cls.__mro__[:-1]:
        for name, value in vars(klass).items():
            if isinstance(value, property) and not name.startswith("_") and name not in found:
                found.append(name)
    return sorted(found)


def _named_global(value: object, module: str, policy: ComparePolicy) -> tuple[str, str] | None:
    """A module global of the target's package equal to `value` (a model table passed to a
    constructor), as (module, name), so a program can import it instead of spelling it."""
    import sys

    package = module.split(".")[0]
    for name, loaded in sorted(sys.modules.items()):
        if name.split(".")[0] != package or loaded is None:
            continue
        for attribute, held in sorted(vars(loaded).items()):
            if attribute.startswith("_") or type(held) is not type(value):
                continue
            with contextlib.suppress(Exception):
                if compare_values(held, value, "value", policy) is None:
                    return name, attribute
    return None


def check_interactions(task: InteractionTask) -> InteractionResult:
    """Worker entry: the recorded histories, then generated sequences."""
    started = time.monotonic()
    try:
        checker = _Checker(task)
    except Exception as exc:
        note = f"the versions could not be loaded: {type(exc).__name__}: {exc}"
        return InteractionResult("failed", 0, 0, 0.0, note=note)
    replayed, stopped, differing = 0, None, []
    history_ends = started + task.history_seconds
    for history in task.histories:
        if time.monotonic() > history_ends:
            left = len(task.histories) - replayed - len(checker.seen.unstable)
            budget = f"{task.history_seconds:.0f} s"
            stopped = f"{left} recorded histories not replayed: their {budget} were up"
            break
        steps = tuple((step.method, step.args) for step in history.steps)
        where = f"recorded history {replayed + 1} (instance #{history.number} the workload made)"
        try:
            found = _run(checker, history.constructor, steps, where)
        except _Unusable as exc:
            checker.seen.unstable.append(str(exc))
            continue
        replayed += 1
        if found is not None:  # go on: another history may give a shorter, pasteable program
            differing.append(found)
    if differing:
        return _different(checker, differing, replayed, 0, started)
    generated, found, note = _generate(checker, started)
    if found is not None:
        return _different(checker, [found], replayed, generated, started)
    private = tuple(sorted(checker.seen.private))
    if replayed == 0 and generated == 0:
        why = checker.seen.unstable[0] if checker.seen.unstable else "no sequence could run"
        return InteractionResult(
            "skipped", 0, 0, time.monotonic() - started, note=f"no history could be used: {why}"
        )
    notes = [n for n in (stopped, note) if n]
    if checker.seen.unstable:
        notes.append(
            f"{len(checker.seen.unstable)} recorded histories left out: {checker.seen.unstable[0]}"
        )
    return InteractionResult(
        "same",
        replayed,
        generated,
        time.monotonic() - started,
        note="; ".join(notes) or None,
        private=private,
    )


def _run(
    checker: _Checker, constructor: bytes, steps: tuple[tuple[str, bytes], ...], where: str
) -> _Found | None:
    episode = _Episode(checker, constructor)
    problem = episode.start()
    if problem is not None:
        return _Found((), constructor, f"constructing it: {problem}", where)
    for method, data in steps:
        problem = episode.step(method, data)
        if problem is not None:
            return _Found(tuple(episode.steps), constructor, problem, where)
    problem = episode.finish()
    if problem is not None:
        return _Found(tuple(episode.steps), constructor, problem, where)
    return None


def _different(
    checker: _Checker, differing: list[_Found], replayed: int, generated: int, started: float
) -> InteractionResult:
    """The best of the differing sequences: one that pastes exactly, then the shortest."""
    programs = [(checker.program(found), found) for found in differing]
    (program, exact), found = min(
        programs, key=lambda item: (not item[0][1], len(item[1].steps), len(item[0][0]))
    )
    count = len(found.steps)
    step = f"call {count}" if count else "the constructor"
    if found.steps and found.steps[-1][0] == OBSERVED:
        step = f"the end (after call {count - 1})"
    return InteractionResult(
        "different",
        replayed,
        generated,
        time.monotonic() - started,
        program=program,
        description=f"{found.where}, {step}: {found.description}",
        exact=exact,
        private=tuple(sorted(checker.seen.private)),
    )


def _pools(task: InteractionTask) -> tuple[list[bytes], dict[str, list[bytes]]]:
    """The distinct recorded constructors and, per method, argument lists (up to POOL)."""
    constructors = list(dict.fromkeys(h.constructor for h in task.histories))
    methods: dict[str, list[bytes]] = {}
    for history in task.histories:
        for step in history.steps:
            pool = methods.setdefault(step.method, [])
            if step.args not in pool and len(pool) < POOL:
                pool.append(step.args)
    return constructors, methods


def _generate(checker: _Checker, started: float) -> tuple[int, _Found | None, str | None]:
    """Sequences Hypothesis makes up from the recorded ones; (how many, the shortest that
    differs, a note)."""
    from hypothesis import HealthCheck, Phase, Verbosity, assume, settings
    from hypothesis import strategies as st
    from hypothesis.stateful import (
        RuleBasedStateMachine,
        initialize,
        rule,
        run_state_machine_as_test,
    )

    from perfloop.verification.strategies import StrategyBuilder

    task, budget = checker.task, checker.task.settings
    constructors, methods = _pools(task)
    if not constructors or not methods or budget.examples <= 0:
        return 0, None, None
    generation_ends = time.monotonic() + budget.seconds
    shrinking_ends = generation_ends + budget.seconds / 2
    best: list[_Found] = []
    count = [0]
    builder = StrategyBuilder(task.constants)

    def arguments(pool: list[bytes]) -> st.SearchStrategy[bytes]:
        recorded = st.sampled_from(pool)
        loaded = [checker._loads(checker.original, data) for data in pool]
        strategy = builder.call_strategy(call_forms(loaded))
        if strategy is None:
            return recorded
        return st.one_of(recorded, strategy.map(_dumps_or_none).filter(bool))  # type: ignore[arg-type]

    def budget_left() -> None:
        now = time.monotonic()
        if now > shrinking_ends or (now > generation_ends and not best):
            raise _OutOfBudget

    def check(problem: str | None, episode: _Episode) -> None:
        if problem is None:
            return
        found = _Found(tuple(episode.steps), episode.constructor, problem, "a generated sequence")
        if not best or len(found.steps) < len(best[0].steps):
            best[:] = [found]
        raise _Different(problem)

    namespace: dict[str, object] = {}

    @initialize(constructor=st.sampled_from(constructors))
    def make(self: RuleBasedStateMachine, constructor: bytes) -> None:
        budget_left()
        count[0] += 1
        self.episode = _Episode(checker, constructor)  # type: ignore[attr-defined]
        try:
            problem = self.episode.start()  # type: ignore[attr-defined]
        except _Unusable:
            assume(False)
        check(problem, self.episode)  # type: ignore[attr-defined]

    namespace["make"] = make

    def teardown(self: RuleBasedStateMachine) -> None:
        episode = getattr(self, "episode", None)
        if episode is not None:
            check(episode.finish(), episode)

    namespace["teardown"] = teardown
    for method, pool in sorted(methods.items()):

        def call(self: RuleBasedStateMachine, data: bytes, method: str = method) -> None:
            budget_left()
            try:
                problem = self.episode.step(method, data)  # type: ignore[attr-defined]
            except _Unusable:
                assume(False)
            check(problem, self.episode)  # type: ignore[attr-defined]

        namespace[f"call_{len(namespace)}"] = rule(data=arguments(pool))(call)
    machine = type("Interactions", (RuleBasedStateMachine,), namespace)
    options = settings(
        max_examples=max(1, budget.examples // 2),
        stateful_step_count=GENERATED_STEPS,
        deadline=None,
        derandomize=True,
        database=None,
        phases=(Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
        verbosity=Verbosity.quiet,
        print_blob=False,
    )
    note = None
    try:
        run_state_machine_as_test(machine, settings=options)  # type: ignore[arg-type]
    except _OutOfBudget:
        note = f"generation stopped after {budget.seconds:g} s"
    except Exception as exc:  # _Different (shrunk), or Hypothesis' own errors
        if not best and not isinstance(exc, _Different):
            note = f"generation stopped early: {_first_line(exc)}"
    return count[0], (best[0] if best else None), note


def _first_line(exc: Exception) -> str:
    if "Flaky" in type(exc).__name__:  # Hypothesis: a sequence ran differently the second time
        return (
            "the same generated calls ran differently when repeated (state shared between "
            "instances: class attributes, module globals?)"
        )
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"


def _dumps_or_none(call: object) -> bytes:
    try:
        return pickling.dumps(call, faithful=True)
    except Exception:
        return b""


WORKER_OVERHEAD = 15.0  # seconds to start a worker, load both versions and Hypothesis


def history_seconds(settings: FuzzSettings, base: Limits, seconds_left: float) -> float:
    """What the recorded histories may take: what is left after generation and shrinking."""
    left = min(base.wall_seconds, seconds_left) - settings.seconds * 1.5 - WORKER_OVERHEAD
    return max(1.0, left)


def worker_limits(settings: FuzzSettings, base: Limits, seconds_left: float) -> Limits:
    """Wall time for the tier's worker: the histories, then generation and shrinking."""
    wall = history_seconds(settings, base, seconds_left) + settings.seconds * 1.5
    wall = max(1.0, min(seconds_left, wall + WORKER_OVERHEAD))
    return Limits(wall_seconds=wall, cpu_seconds=int(wall) + 5, memory_mb=base.memory_mb)


@dataclass(frozen=True)
class InteractionBatch:
    """The interaction tier for several versions in one worker (the self-check's mutants:
    starting a worker per mutant would cost more than checking it)."""

    task: InteractionTask  # its `source` is replaced by each of `sources` in turn
    sources: tuple[str, ...]


def check_each(batch: InteractionBatch) -> tuple[InteractionResult, ...]:
    """Worker entry: `check_interactions` for each version, in order."""
    return tuple(check_interactions(replace(batch.task, source=s)) for s in batch.sources)


def run_interaction_batch(
    batch: InteractionBatch, *, root: Path, limits: Limits
) -> tuple[InteractionResult, ...] | str:
    """Main side: run the batch in a sandboxed worker; a message if the worker failed (a
    version hung it, or the time ran out)."""
    outcome = run_in_worker(
        "perfloop.verification.interaction:check_each",
        batch,
        root=root,
        limits=limits,
        returns=tuple[InteractionResult, ...],
        warm=(batch.task.module,),
    )
    if not outcome.ok:
        return outcome.message
    assert isinstance(outcome.value, tuple)
    return outcome.value


def run_interactions(task: InteractionTask, *, root: Path, limits: Limits) -> InteractionResult:
    """Main side: run the task in a sandboxed worker."""
    outcome = run_in_worker(
        "perfloop.verification.interaction:check_interactions",
        task,
        root=root,
        limits=limits,
        returns=InteractionResult,
        warm=(task.module,),
    )
    if not outcome.ok:
        return InteractionResult("failed", 0, 0, outcome.seconds, note=outcome.message)
    assert isinstance(outcome.value, InteractionResult)
    return outcome.value
