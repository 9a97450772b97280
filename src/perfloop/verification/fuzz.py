"""Tier 2: differential fuzzing with Hypothesis, original against candidate, in one worker.

Inputs are generated from the shapes of the captured calls (see `shapes` and
`strategies`), plus explicit edge cases. Arguments that held one same object in a
captured call are drawn together from one call (`shapes.Together`): mixed with another
call's, they would make a call no caller makes. On every example both versions run
on their own fresh copy of the inputs; an input on which the original raises
is kept (the candidate must raise the same type), an input on which the
original does not finish in time is dropped. When they differ the original
runs once more on the same input: if it disagrees with itself it depends on
something besides its arguments (randomness, time, module state) and the
target is unverifiable rather than the candidate wrong. A difference is
shrunk by Hypothesis to a small counterexample and reported as a call that
can be pasted into a shell: `shoplib.text:tokenize([''])`.

Generation is derandomized (the same inputs on every run, so verdicts are
reproducible) and uses no example database (nothing is written into the
user's project). The budget is a number of examples or seconds, whichever
ends first; shrinking gets at most half as long again.

`fuzz_versions` takes several versions at once so the mutation self-check can
share one worker; it can replay the captured calls first (`replay_first`).
"""

from __future__ import annotations

import contextlib
import inspect
import itertools
import pickle
import time
from dataclasses import dataclass
from pathlib import Path

from perfloop.config import Settings
from perfloop.model import CallRecord, Limits, ObservedType
from perfloop.runtime import pickling
from perfloop.sandbox.runner import run_in_worker
from perfloop.verification import calls as calling
from perfloop.verification.compare import ComparePolicy
from perfloop.verification.pasteable import CallSource
from perfloop.verification.shapes import Constants, call_forms, forms_with_observed

TIER = "fuzz"
_WORKER_OVERHEAD = 15.0  # seconds to start a worker and import Hypothesis, generously


@dataclass(frozen=True)
class FuzzSettings:
    examples: int = Settings.fuzz_examples
    seconds: float = Settings.fuzz_seconds


@dataclass(frozen=True)
class FuzzTask:
    module: str
    qualname: str
    path: str
    original_source: str
    versions: tuple[str | None, ...]  # module sources; None: the original against itself
    records: tuple[CallRecord, ...]
    constants: Constants
    settings: FuzzSettings
    policy: ComparePolicy
    replay_first: bool = False
    # the parameters' runtime types as the recorder observed them (capture's parameter_types)
    observed: tuple[ObservedType, ...] = ()


@dataclass(frozen=True)
class FuzzResult:
    """What fuzzing found for one version."""

    outcome: str  # "same" | "different" | "unverifiable" | "failed" | "skipped"
    examples: int
    seconds: float
    tier: str = TIER  # "replay" when replay_first found the difference
    call: str | None = None
    description: str | None = None
    note: str | None = None
    call_pasteable: bool = True  # pasting `call` rebuilds the inputs exactly


class _OutOfBudget(BaseException):
    """Generation time is up and nothing differed (a BaseException: Hypothesis lets it through)."""


class _NotDeterministic(BaseException):
    def __init__(self, call: CallSource, why: str) -> None:
        super().__init__(call, why)
        self.call = call
        self.why = why


class _Different(Exception):
    pass


class _Rejected(Exception):
    """The input cannot be used (it does not pickle, or the original did not finish)."""


@dataclass
class _Progress:
    examples: int = 0
    best: tuple[int, str, str, bool] | None = None  # (length, call text, description, pasteable)

    def found(self, call: CallSource, description: str) -> None:
        key = (len(call.text), call.text, description, call.exact)
        if self.best is None or key[:2] < self.best[:2]:
            self.best = key


def fuzz_versions(task: FuzzTask) -> tuple[FuzzResult, ...]:
    """Worker entry: fuzz each version against the original."""
    try:
        original = calling.load_original(
            task.module, task.qualname, task.path, task.original_source
        )
        captured = [pickle.loads(record.args) for record in task.records]
    except Exception as exc:
        note = f"the original could not be loaded: {type(exc).__name__}: {exc}"
        return tuple(FuzzResult("failed", 0, 0.0, note=note) for _ in task.versions)
    try:
        fuzzer = _Fuzzer(task, original, captured)
    except Exception as exc:
        # about the recorded calls, not the candidate: construct 2.10's parsing context,
        # a dict that holds itself, once made shape inference raise RecursionError here,
        # which read "the candidate failed where the original did not"
        note = (
            "no inputs could be generated from the recorded calls "
            f"({type(exc).__name__}: {str(exc)[:200]})"
        )
        return tuple(FuzzResult("skipped", 0, 0.0, note=note) for _ in task.versions)
    return tuple(fuzzer.run(source) for source in task.versions)


class _Fuzzer:
    def __init__(
        self, task: FuzzTask, original: calling.Version, captured: list[tuple[object, ...]]
    ) -> None:
        from perfloop.verification.strategies import StrategyBuilder

        self.task = task
        self.original = original
        self._outcomes: dict[int, calling.CallResult] = {}
        builder = StrategyBuilder(task.constants)
        forms = call_forms([(tuple(args), dict(kwargs)) for args, kwargs in captured])  # type: ignore[misc]
        forms = forms_with_observed(
            forms,
            _parameter_names(original.function),
            {t.parameter: t.types for t in task.observed if not t.parameter.startswith("self.")},
        )
        self.strategy = builder.call_strategy(forms) if forms else None
        self.explicit: list[object] = []
        if forms:
            first = forms[0]
            fitting = [
                (tuple(a), dict(k))
                for a, k in captured  # type: ignore[misc]
                if len(a) == len(first.args) and sorted(k) == [n for n, _ in first.kwargs]
            ]
            # edge cases on three captured calls, first, middle and last: an edge case of one
            # argument shows a difference only where the others let it through (pycodestyle's
            # `module_imports_on_top_of_file` checks its line only before the first statement)
            spread = (fitting[0], fitting[len(fitting) // 2], fitting[-1])
            bases = list({id(call): call for call in spread}.values())
            self.explicit = [
                call
                for base in bases
                for call in builder.edge_calls(base, first)  # type: ignore[arg-type]
            ]
        self.call_limit = self._calibrate()

    def _calibrate(self) -> float:
        """Time allowed to one call of the original: 20x its slowest captured call, 0.2-2 s."""
        slowest = 0.0
        for record in self.task.records[:20]:
            result = calling.call(self.original, record.args, 2.0)
            slowest = max(slowest, result.seconds)
        return min(2.0, max(0.2, 20 * slowest))

    def run(self, source: str | None) -> FuzzResult:
        started = time.monotonic()
        if source is None:
            version = self.original
        else:
            try:
                version = calling.load_copy(
                    self.task.module, self.task.qualname, self.task.path, source
                )
            except Exception as exc:
                return FuzzResult(
                    "failed", 0, 0.0, note=f"could not be loaded: {type(exc).__name__}: {exc}"
                )
        if self.task.replay_first:
            replayed = self._replay(version, started)
            if replayed is not None:
                return replayed
        if self.strategy is None or self.task.settings.examples <= 0:
            if self.task.settings.examples <= 0:
                note = "no inputs asked for (--fuzz-examples 0)"
            elif self.task.records:
                note = "the captured arguments could not be serialised to draw new inputs from"
            else:
                note = "no captured calls to derive inputs from"
            return FuzzResult("skipped", 0, 0.0, note=note)
        return self._fuzz(version, started)

    def _unstable(
        self, unstable: _NotDeterministic, progress: _Progress, started: float
    ) -> FuzzResult:
        return _unstable_result(unstable, progress.examples, started)

    def _expected(self, index: int) -> calling.CallResult:
        """Recorded call `index`'s outcome, loaded once for every version replayed (the
        self-check replays each recorded call for up to 30 mutants)."""
        loaded = self._outcomes.get(index)
        if loaded is None:
            record = self.task.records[index]
            loaded = calling.CallResult(pickle.loads(record.outcome), record.stdout, 0.0)
            self._outcomes[index] = loaded
        return loaded

    def _replay(self, version: calling.Version, started: float) -> FuzzResult | None:
        for index, record in enumerate(self.task.records):
            expected = self._expected(index)
            actual = calling.call(
                version,
                record.args,
                max(1.0, 10 * self.call_limit),
                expected=expected.outcome,
            )
            problem = calling.compare_sides(
                self.original, expected, version, actual, self.task.policy
            )
            if problem is not None:
                return FuzzResult(
                    "different",
                    index + 1,
                    time.monotonic() - started,
                    tier="replay",
                    call=record.call_repr,
                    description=problem,
                )
        return None

    def _fuzz(self, version: calling.Version, started: float) -> FuzzResult:
        from hypothesis import HealthCheck, Phase, Verbosity, given, reject, settings

        budget = self.task.settings
        generation_ends = started + budget.seconds
        shrinking_ends = generation_ends + budget.seconds / 2
        progress = _Progress()
        original, policy, task = self.original, self.task.policy, self.task
        seeds = itertools.count(1)  # a fresh random state per call: randomness shows

        def attempt(call: object) -> None:
            try:
                # perfloop's serialiser, as capture used: plain pickle reduces a bound
                # method of a function made at run time by name, which does not load
                # (pycparser 2.22's CParser.p_*_opt)
                data = pickling.dumps(call, faithful=True)
            except Exception:
                raise _Rejected from None
            expected = calling.call(original, data, self.call_limit, seed=next(seeds))
            if expected.exhausted is not None:
                raise _Rejected
            progress.examples += 1
            limit = max(1.0, 20 * expected.seconds)
            actual = calling.call(version, data, limit, seed=next(seeds))
            problem = calling.compare_sides(original, expected, version, actual, policy)
            if problem is None:
                return
            text = calling.call_text(task.module, task.qualname, data, original)
            again = calling.call(original, data, self.call_limit, seed=next(seeds))
            unstable = again.exhausted is not None or calling.differs(
                expected, again, policy, original.is_method
            )
            if unstable or version is original:
                why = calling.differs(expected, again, policy, False) or problem
                raise _NotDeterministic(text, why)
            progress.found(text, problem)
            raise _Different(problem)

        def check(call: object) -> None:
            now = time.monotonic()
            if now > shrinking_ends or (now > generation_ends and progress.best is None):
                if progress.best is None:
                    raise _OutOfBudget
                return  # let the shrinker wind down with what it has
            try:
                attempt(call)
            except _Rejected:
                reject()

        # the edge cases first, by hand: a failure among them is not shrunk by Hypothesis,
        # so generation and shrinking still run and the smaller counterexample is reported
        try:
            for explicit in self.explicit:
                if time.monotonic() > generation_ends:
                    break
                with contextlib.suppress(_Rejected, _Different):
                    attempt(explicit)
        except _NotDeterministic as unstable:
            return self._unstable(unstable, progress, started)
        test = given(self.strategy)(check)
        test = settings(
            max_examples=budget.examples // 2 if progress.best else budget.examples,
            deadline=None,
            derandomize=True,
            database=None,
            phases=(Phase.generate, Phase.shrink),
            suppress_health_check=list(HealthCheck),
            report_multiple_bugs=False,
            verbosity=Verbosity.quiet,
            print_blob=False,
        )(test)
        note = None
        try:
            test()
        except _OutOfBudget:
            note = f"stopped after {budget.seconds:g} s"
        except _NotDeterministic as unstable:
            return self._unstable(unstable, progress, started)
        except Exception as exc:  # _Different, Hypothesis' own errors (flaky, unsatisfiable)
            if progress.best is None and not isinstance(exc, _Different):
                note = f"fuzzing stopped early: {type(exc).__name__}: {exc}"
        seconds = time.monotonic() - started
        if progress.best is not None:
            _, text, description, pasteable = progress.best
            return FuzzResult(
                "different",
                progress.examples,
                seconds,
                call=text,
                description=description,
                call_pasteable=pasteable,
            )
        if progress.examples == 0:
            return FuzzResult(
                "skipped",
                0,
                seconds,
                note="the original did not finish in time on any generated input",
            )
        return FuzzResult("same", progress.examples, seconds, note=note)


def _parameter_names(function: object) -> list[str]:
    """The function's parameters in order (positional arguments line up with them)."""
    try:
        return list(inspect.signature(function).parameters)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return []


def _unstable_result(unstable: _NotDeterministic, examples: int, started: float) -> FuzzResult:
    return FuzzResult(
        "unverifiable",
        examples,
        time.monotonic() - started,
        call=unstable.call.text,
        call_pasteable=unstable.call.exact,
        description=(
            "the original gave different results on the same input when run twice"
            + (f" ({unstable.why})" if unstable.why else "")
        ),
    )


def fuzz_worker_limits(settings: FuzzSettings, versions: int, base: Limits) -> Limits:
    """Wall time for a worker fuzzing `versions` versions (shrinking included)."""
    wall = versions * settings.seconds * 1.5 + _WORKER_OVERHEAD
    return Limits(wall_seconds=wall, cpu_seconds=int(wall) + 5, memory_mb=base.memory_mb)


def run_fuzz(task: FuzzTask, *, root: Path, limits: Limits) -> tuple[FuzzResult, ...] | str:
    """Main side: run the task in a sandboxed worker; a message if the worker failed."""
    outcome = run_in_worker(
        "perfloop.verification.fuzz:fuzz_versions",
        task,
        root=root,
        limits=limits,
        returns=tuple[FuzzResult, ...],
        warm=(task.module,),
    )
    if not outcome.ok:
        return outcome.message
    assert isinstance(outcome.value, tuple)
    return outcome.value
