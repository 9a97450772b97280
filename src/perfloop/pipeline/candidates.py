"""One target: propose, gate, verify, measure and select its candidates (rules combined)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial

from perfloop.config import Settings
from perfloop.gate import gate_candidate, gate_on_calls
from perfloop.measure import (
    MeasureSettings,
    judged_on_workload,
    measure_candidate,
    measure_workload,
    settings_from,
    workload_overrides,
)
from perfloop.measure.whole_workload import CACHE_THRESHOLD
from perfloop.model import (
    Candidate,
    CandidateResult,
    FunctionRef,
    Limits,
    LineProfile,
    Measurement,
    TargetCapture,
    TargetContext,
    VerdictStatus,
    verified,
)
from perfloop.outside.whole_class import history_records
from perfloop.pipeline.context import Context, candidate_limits
from perfloop.progress import Detail, Progress, tier_progress
from perfloop.propose import combine_rules, in_combination_order
from perfloop.propose.rounds import RoundProposer, run_rounds
from perfloop.qualnames import function_source
from perfloop.results import TargetResult, TargetStatus
from perfloop.sandbox.pool import side_by_side
from perfloop.verification import TargetPlan, verify_candidate
from perfloop.verification.replay import replay_original
from perfloop.verification.tiers import tier_named


def offered_candidates(
    context: Context,
    function: FunctionRef,
    path: str,
    module_source: str,
    target: FunctionRef | None = None,
) -> list[Candidate]:
    """What the proposers that answer at once (rules, recipes; not the rounds of an LLM
    or a command) offer for `function`, as the settings allow, until the --budget runs
    out: a candidate left out then counts for `target` (default: `function`; a whole
    class's, for its methods' rewrites)."""
    offered = []
    for proposer in context.proposers:
        if isinstance(proposer, RoundProposer):
            continue
        for candidate in proposer(function, path, module_source):
            if not rule_allowed(context.settings, candidate):
                continue
            if context.budget.spent():
                context.budget.skip_candidate(target or function)
                continue
            offered.append(candidate)
    return offered


def optimize_target(
    context: Context,
    ref: FunctionRef,
    share: float,
    source: tuple[str, str],
    capture: TargetCapture,
    lines: LineProfile | None = None,
) -> TargetResult:
    """Propose, gate, verify and measure candidates for one function; pick the best."""
    recorded = len(capture.records)
    if not capture.usable:
        return TargetResult(ref, share, TargetStatus.UNVERIFIABLE, capture.problem, recorded)
    path, module_source = source
    original = replay_original(
        ref.module,
        ref.qualname,
        context.root / path,
        capture.records,
        root=context.root,
        limits=candidate_limits(context),
        policy=context.policy,
    )
    baseline, capture = original.verdict, replace(capture, records=original.records)
    problem = original.problem()
    if problem is not None:
        return TargetResult(ref, share, TargetStatus.UNVERIFIABLE, problem, recorded)
    limits = candidate_limits(context, baseline.seconds)
    indexing = " (running the project's tests once)" if context.verification.indexes_tests() else ""
    context.progress(Detail(f"{ref}: preparing its verification{indexing}"))
    plan = context.verification.plan(ref, path, module_source, capture, limits)
    if plan.problem is not None:
        return TargetResult(ref, share, TargetStatus.UNVERIFIABLE, plan.problem, recorded)
    seen: set[str] = set()
    budget = context.budget
    proposed = offered_candidates(context, ref, path, module_source)

    def self_check(progress: Progress) -> object:  # verification too: beside the candidates'
        if budget.spent():
            return None
        announce_self_check(context, ref, progress)
        return context.verification.strength(plan, limits)

    tried = evaluate_candidates(
        context, proposed, module_source, capture, limits, seen, plan, beside=self_check
    )
    tried += combine_verified_rules(  # then the verified rules together
        ref,
        path,
        module_source,
        tried,
        lambda c: evaluate_candidate(context, c, module_source, capture, limits, seen),
        more=lambda: not budget.spent(),
    )
    tried += round_candidates(  # the LLM's and the command's compete in the same pool
        context,
        ref,
        tried,
        lambda done: target_context(context, ref, share, source, capture, lines, done),
        lambda c: evaluate_candidate(context, c, module_source, capture, limits, seen),
    )
    notes = tuple(context.store.proposer_problems(context.run_id, ref))
    strength = None
    if any(r.gate.passed for r in tried):  # how much "verified" means for this target
        announce_self_check(context, ref, context.progress)
        strength = context.verification.strength(plan, limits)
    best = select_best(ref, share, recorded, tried, notes)
    rebasing = original.note()
    return replace(
        best,
        strength=strength,
        original_source=function_source(module_source, ref.qualname),
        notes=(*best.notes, rebasing) if rebasing else best.notes,
    )


def announce_self_check(context: Context, ref: FunctionRef, progress: Progress) -> None:
    """Say that the mutants of `ref` are about to run, unless they ran already. Run beside
    the candidates, they outlast them: idna 3.10's check_label showed "rollout tier" for
    the 23 s they took, pyasn1 0.6.1's encoder for 61 s."""
    if not context.verification.knows_strength(ref):
        progress(Detail(f"{ref}: checking how strong its verification is (mutants)"))


def round_candidates(
    context: Context,
    ref: FunctionRef,
    tried: Sequence[CandidateResult],
    about: Callable[[Sequence[CandidateResult]], TargetContext],
    evaluate: Callable[[Candidate], CandidateResult],
) -> list[CandidateResult]:
    """The candidates of the proposers that work in rounds (an LLM, --proposer-cmd), one
    after the other, each told about the target by `about(every candidate judged so far)`
    and its candidates judged by `evaluate`, until the --budget runs out."""
    results: list[CandidateResult] = []
    for round_proposer in context.round_proposers:
        if context.budget.spent():
            context.budget.skip_candidate(ref)
            continue
        results += run_rounds(round_proposer, about((*tried, *results)), evaluate)
    return results


def target_context(
    context: Context,
    ref: FunctionRef,
    share: float,
    source: tuple[str, str],
    capture: TargetCapture,
    lines: LineProfile | None,
    tried: Sequence[CandidateResult],
    request: str = "",
) -> TargetContext:
    """What a round proposer (an LLM) is told about the target; `request` is a person's hint."""
    path, module_source = source
    return TargetContext(
        context.run_id,
        ref,
        path,
        module_source,
        share,
        capture.parameter_types,
        capture.return_types,
        tuple(record.call_repr for record in capture.records[:3]),
        lines,
        verified=tuple(r for r in tried if verified(r)),
        request=request,
        tried=tuple(tried),
    )


def rule_allowed(settings: Settings, candidate: Candidate) -> bool:
    """`--rules` limits the rule proposals to those ids; other proposers are not affected."""
    if not settings.rules or not candidate.origin.startswith("rule:"):
        return True
    return candidate.origin.removeprefix("rule:") in settings.rules


def combine_verified_rules(
    ref: FunctionRef,
    path: str,
    module_source: str,
    tried: Sequence[CandidateResult],
    evaluate: Callable[[Candidate], CandidateResult],
    more: Callable[[], bool] = lambda: True,
) -> list[CandidateResult]:
    """Combinations of the single rules that verified, searched greedily (see
    `greedy_combinations`); rules apply in registry order. A rule judged on the whole
    workload (it keeps answers between calls) is left out: its ratio is the workload's,
    not comparable with the others' function ratios. `more` says whether there is time
    for another (the run's --budget)."""
    singles = [
        r
        for r in tried
        if r.candidate.origin.startswith("rule:")
        and verified(r)
        and not (r.measurement and r.measurement.learns)  # its ratio is the whole workload's
    ]

    def combine(best: Candidate, single: Candidate) -> Candidate | None:
        rule_ids = in_combination_order([*_rule_ids(best), *_rule_ids(single)])
        return combine_rules(ref, path, module_source, rule_ids)

    return greedy_combinations(singles, combine, evaluate, more)


def _rule_ids(candidate: Candidate) -> list[str]:
    """`rule:a` or `rules:a+b` -> the rule ids."""
    return candidate.origin.split(":", 1)[1].split("+")


def greedy_combinations(
    singles: Sequence[CandidateResult],
    combine: Callable[[Candidate, Candidate], Candidate | None],
    evaluate: Callable[[Candidate], CandidateResult],
    more: Callable[[], bool] = lambda: True,
) -> list[CandidateResult]:
    """Verified rewrites combined, searched greedily: start from the best measured one and
    try adding each other one, best first (`combine(best so far, single)`, None if they do
    not combine); an addition stays only if the combination verifies and is measurably
    better than the best so far (`measurably_better`); one that was measurably slower on
    its own is not tried. k singles cost at most k - 1 more
    candidates (not 2^k). The rules of one function combine so, and the rewrites of a
    class's methods (`perfloop.pipeline.whole_class`)."""

    ordered = sorted(singles, key=_gain, reverse=True)
    if len(ordered) < 2:
        return []
    best = ordered[0]
    combinations = []
    for single in ordered[1:]:
        if _measurably_slower(single):  # adding it would add its cost
            continue
        if not more():  # the run's budget ran out
            break
        combined = combine(best.candidate, single.candidate)
        if combined is None:  # one of them no longer applies after the others
            continue
        result = evaluate(combined)
        combinations.append(result)
        if verified(result) and measurably_better(result, than=best):
            best = result
    return combinations


def _measurably_slower(result: CandidateResult) -> bool:
    """Its time interval lies wholly below 1: on its own it made the function slower
    (markdown-it-py's text rule timed 0.42x [0.41, 0.44] with one rewrite, and 0.44x with
    it and a hoisted lookup together, 12 s later)."""
    measurement = result.measurement
    if measurement is None or measurement.speedup is None or measurement.objective == "memory":
        return False
    return measurement.speedup.ci_high < 1.0


def _gain(result: CandidateResult) -> float:
    return result.measurement.gain if result.measurement else 0.0


def measurably_better(result: CandidateResult, than: CandidateResult) -> bool:
    """`result` improves on `than` by more than its measurement's uncertainty: on time, the
    lower end of its interval lies above `than`'s ratio (both are ratios to the original);
    on memory (no interval), a larger ratio of peaks.

    A combination of rewrites is kept over a part of it only so: by point estimates alone,
    the example's `discontinued_units` took a cache kept between calls (1.00x [0.98, 1.02]
    on its own) into its patch, because set-membership + sum-loop + that cache came out at
    33.57x [30.64, 36.77] beside set-membership's 32.30x."""
    mine, theirs = result.measurement, than.measurement
    if mine is None or theirs is None:
        return mine is not None
    if mine.objective == "memory" or mine.speedup is None or theirs.speedup is None:
        return mine.gain > theirs.gain
    return mine.speedup.ci_low > theirs.speedup.ratio


def rewrite_parts(origin: str) -> frozenset[str] | None:
    """The rewrites a rule-made candidate consists of, None for a candidate of another
    origin: `rule:a` -> {rule:a}; `rules:a+b` -> {rule:a, rule:b}; a class's
    `class:m/rule:a+n/rules:b+c` -> {m/rule:a, n/rule:b, n/rule:c}."""
    kind, _, body = origin.partition(":")
    if kind in ("rule", "rules"):
        return frozenset(f"rule:{name}" for name in body.split("+"))
    if kind != "class" or not body:
        return None
    parts, method = set(), ""
    for token in body.split("+"):
        if "/" in token:  # a method's first rewrite: method/rule:a or method/rules:a
            method, _, step = token.partition("/")
            step_kind, _, name = step.partition(":")
            if step_kind not in ("rule", "rules"):
                return None
        else:  # another rule of the same method's rules:a+b
            name = token
        parts.add(f"{method}/rule:{name}")
    return frozenset(parts)


def smallest_as_good(best: CandidateResult, improved: Sequence[CandidateResult]) -> CandidateResult:
    """`best` (the highest ratio), or the smallest part of it (a rule-made candidate with
    a subset of its rewrites, itself improved) that `best` is not measurably better than
    (`measurably_better`): a rewrite whose gain the timing cannot show stays out of the
    patch."""
    while (parts := rewrite_parts(best.candidate.origin)) is not None:
        smaller = [
            r
            for r in improved
            if (theirs := rewrite_parts(r.candidate.origin)) is not None
            and theirs < parts
            and not measurably_better(best, than=r)
        ]
        if not smaller:
            break
        best = max(smaller, key=_gain)
    return best


def _passed_over(top: CandidateResult, chosen: CandidateResult) -> str:
    """Why the candidate with the highest ratio was not the one chosen."""
    mine, theirs = top.measurement, chosen.measurement
    assert mine is not None and theirs is not None
    if mine.speedup is None or theirs.speedup is None or mine.objective == "memory":
        figures = f"{mine.gain:.2f}x against {theirs.gain:.2f}x"
    else:
        high, low = mine.speedup, theirs.speedup
        figures = (
            f"{high.ratio:.2f}x [{high.ci_low:.2f}, {high.ci_high:.2f}], not measurably faster "
            f"than {low.ratio:.2f}x"
        )
    return (
        f"{top.candidate.origin} measured {figures} for {chosen.candidate.origin}, a part of "
        "it: the smaller change was chosen"
    )


def evaluate_candidate(
    context: Context,
    candidate: Candidate,
    module_source: str,
    capture: TargetCapture,
    limits: Limits,
    seen: set[str],
    plan: TargetPlan | None = None,
) -> CandidateResult:
    """Gate, then verify, then measure; stop at the first stage that says no."""
    return evaluate_candidates(context, [candidate], module_source, capture, limits, seen, plan)[0]


def evaluate_candidates(
    context: Context,
    candidates: Sequence[Candidate],
    module_source: str,
    capture: TargetCapture,
    limits: Limits,
    seen: set[str],
    plan: TargetPlan | None = None,
    beside: Callable[[Progress], object] | None = None,
) -> list[CandidateResult]:
    """Candidates of one target judged as evaluate_candidate judges each, with their
    verification side by side on the worker pool (perfloop.sandbox.pool): gated in order
    (a duplicate is the later one), verified together, then the verified ones measured one
    after the other once no verification runs. A candidate the --budget leaves out is not
    in the list (the budget counts it). `beside` is more verification work of the target
    (its self-check, given the progress to report through), run in the pool with them if
    any candidate passed the gate. The
    results, and their order in the store, are those of judging one candidate after the
    other."""
    modules = context.project.top_level_modules()
    whole_class = plan is not None and plan.whole_class
    gated = [
        CandidateResult(
            candidate,
            gate_on_calls(
                gate_candidate(candidate, module_source, seen, modules, whole_class),
                candidate,
                module_source,
                capture,
            ),
        )
        for candidate in candidates
    ]
    done = context.checkpoints.done  # a resumed run reuses the verdict and measurement
    step = {id(r): f"candidate:{r.candidate.function}:{r.candidate.candidate_id}" for r in gated}
    to_verify = [r for r in gated if r.gate.passed and step[id(r)] not in done]
    progress = one_at_a_time(context.progress)
    if plan is None and to_verify:
        first = to_verify[0].candidate
        plan = context.verification.plan(first.function, first.path, module_source, capture, limits)

    def verify(result: CandidateResult) -> Callable[[], CandidateResult | None]:
        def task() -> CandidateResult | None:
            if context.budget.spent():  # left out: the run's --budget ran out
                return None
            doing = f"{result.candidate.function}: verifying {result.candidate.origin}"
            progress(Detail(doing))
            assert plan is not None
            verdict = verify_candidate(
                result.candidate,
                plan,
                root=context.root,
                limits=limits,
                on_tier=tier_progress(progress, doing),
            )
            return replace(result, verdict=verdict)

        return task

    passed = beside is not None and any(r.gate.passed for r in gated)
    more = [partial(beside, progress)] if passed else []  # type: ignore[arg-type]
    tasks = [verify(r) for r in to_verify] + more
    verdicts = dict(zip(map(id, to_verify), side_by_side(tasks)))
    results = []
    for result in gated:  # measured alone, in order: nothing else of perfloop runs
        if result.gate.passed and step[id(result)] in done:
            result = done[step[id(result)]]
        elif result.gate.passed:
            checked = verdicts[id(result)]
            if checked is None or (verified(checked) and context.budget.spent()):
                context.budget.skip_candidate(result.candidate.function)
                continue
            if verified(checked):
                settings = settings_from(context.settings, limits)
                measurement = time_candidate(
                    context, result.candidate, module_source, capture, settings, whole_class
                )
                checked = replace(checked, measurement=measurement)
            result = context.checkpoints.step(step[id(result)], lambda c=checked: c)
        context.store.save_candidate_result(context.run_id, result)
        results.append(result)
    return results


def one_at_a_time(progress: Progress) -> Progress:
    """`progress` for several threads: one call at a time."""
    lock = threading.Lock()

    def report(text: str) -> None:
        with lock:
            progress(text)

    return report


def time_candidate(
    context: Context,
    candidate: Candidate,
    module_source: str,
    capture: TargetCapture,
    settings: MeasureSettings,
    whole_class: bool = False,
    again: bool = False,
) -> Measurement:
    """The micro A/B on the recorded calls (for a whole class, on its instances' recorded
    histories); for a candidate that keeps answers between calls (it learns), the whole
    workload with only it in place decides instead. `again`: a cached verified candidate
    timed again (the progress says so)."""
    root = context.root
    records = history_records(capture) if whole_class else capture.records
    if not context.noise_floors.has(candidate.function, module_source):
        context.progress(
            Detail(f"{candidate.function}: timing the original against itself (noise)")
        )
    noise = context.noise_floors.get(
        candidate, module_source, records, root=root, settings=settings, whole_class=whole_class
    )
    timing = f"{candidate.function}: timing {candidate.origin}{' again' if again else ''}"
    context.progress(Detail(timing))
    measurement = measure_candidate(
        candidate,
        module_source,
        records,
        root=root,
        settings=settings,
        noise=noise,
        whole_class=whole_class,
    )
    workload = context.settings.workload
    if not measurement.learns or measurement.speedup is None or workload is None:
        return measurement
    context.progress(
        Detail(
            f"{candidate.function}: {candidate.origin} keeps answers between calls; timing it "
            "on the whole workload"
        )
    )
    comparison = measure_workload(
        workload,
        root,
        workload_overrides(
            root, [(candidate.function.module, candidate.path, candidate.module_source)]
        ),
        settings=replace(settings, min_speedup=CACHE_THRESHOLD),  # decided about it, early
        runs=context.settings.workload_runs,
        timeout=context.settings.workload_timeout,
        writes=context.settings.workload_writes,
    )
    return judged_on_workload(measurement, comparison)


def select_best(
    ref: FunctionRef,
    share: float,
    recorded: int,
    tried: Sequence[CandidateResult],
    notes: tuple[str, ...] = (),
) -> TargetResult:
    """The fastest improved candidate, or the smallest part of it that it is not measurably
    faster than (`smallest_as_good`, said in the notes); `notes` say what went wrong with a
    proposer."""
    faster = [
        r for r in tried if r.measurement and r.measurement.speedup and r.measurement.improved
    ]
    if faster:
        top = max(faster, key=_gain)
        best = smallest_as_good(top, faster)
        if best is not top:
            notes = (*notes, _passed_over(top, best))
        return TargetResult(
            ref, share, TargetStatus.IMPROVED, None, recorded, tuple(tried), best, notes=notes
        )
    return TargetResult(
        ref,
        share,
        TargetStatus.NO_FASTER_CANDIDATE,
        _why_nothing_faster(tried, notes),
        recorded,
        tuple(tried),
        notes=notes,
    )


NO_RULE_APPLIES = "no rule applies to this function"


def _why_nothing_faster(tried: Sequence[CandidateResult], notes: Sequence[str] = ()) -> str:
    if not tried and notes:  # the proposers beside the rules said why they gave nothing
        more = f" (and {len(notes) - 1} more notes)" if len(notes) > 1 else ""
        return f"{NO_RULE_APPLIES}, and no other proposer gave one: {notes[0]}{more}"
    if not tried:
        return NO_RULE_APPLIES
    statuses = [r.verdict.status if r.verdict else None for r in tried]
    verified = statuses.count(VerdictStatus.EQUIVALENT)
    if not verified and statuses.count(VerdictStatus.FAILED) == len(tried):
        # perfloop's failure, not the candidates' (pycparser 2.22: recorded calls that
        # the fuzz tier could not load were reported as behaving differently)
        last = tried[-1].verdict
        reason = (last.reason if last and last.reason else "no reason given").strip()
        which = "the candidate" if len(tried) == 1 else f"the {len(tried)} candidates"
        return f"checking {which} failed: {reason.splitlines()[-1]}"
    if not verified:
        found = [r.verdict.difference for r in tried if r.verdict and r.verdict.difference]
        places = dict.fromkeys(tier_named(d.tier).found_in for d in found if d.tier)
        where = " and ".join(place for place in places if place)  # by the tiers that saw it
        where = f" {where}" if where else ""
        if len(tried) == 1:
            return f"the one candidate did not behave the same{where}"
        return f"none of {len(tried)} candidates behaved the same{where}"
    counted = "1 candidate" if verified == 1 else f"{verified} candidates"
    measured = [  # the verified candidates' measurements
        r.measurement
        for r in tried
        if r.verdict and r.verdict.status is VerdictStatus.EQUIVALENT and r.measurement
    ]
    untimed = [m.error for m in measured if m.error]
    alike = sum(1 for m in measured if m.untimed)
    if alike and alike == verified:  # nothing to time: say so, not "none faster"
        which = "it runs" if verified == 1 else "each runs"
        return (
            f"{counted} verified, none timed: on the recorded calls {which} the very "
            "instructions the original runs (the edits are in code those calls never reach)"
        )
    if untimed and len(untimed) == verified:  # none was timed: say why, not "none faster"
        which = "it" if verified == 1 else "any of them"
        return f"{counted} verified, but timing {which} failed: {untimed[-1].splitlines()[0]}"
    others = []
    if untimed:
        others.append(f"{len(untimed)} could not be timed: {untimed[-1].splitlines()[0]}")
    if alike:
        was = "was" if alike == 1 else "were"
        others.append(f"{alike} ran the original's very instructions, so {was} not timed")
    if others:
        none = (
            "none timed" if len(untimed) + alike == verified else "none faster beyond the threshold"
        )
        return f"{counted} verified, {none} ({'; '.join(others)})"
    return f"{counted} verified, none faster beyond the threshold{_raised_by_noise(tried)}"


def _raised_by_noise(tried: Sequence[CandidateResult]) -> str:
    """Where the A/A noise floor set the threshold, that threshold and what it means.

    xmltodict 0.13.0: `_DictSAXHandler.startElement`'s A/A run spread to 66.6x (3 ABBA
    pairs a process, while other work shared the cores), and the target only said "none
    faster beyond the threshold", as if a measured 0.96x had lost against 1.05."""
    floors = [
        r.measurement.speedup.noise_floor
        for r in tried
        if r.measurement is not None
        and r.measurement.speedup is not None
        and r.measurement.speedup.noise_floor is not None
        and r.measurement.speedup.noise_floor >= (r.measurement.speedup.threshold or 0.0)
    ]
    if not floors:
        return ""
    floor = max(floors)
    if floor >= _TOO_NOISY_FLOOR:  # python-dateutil 2.9.0's get_token at load 6.5: 73x
        return (
            f" ({floor:.3g}x, the noise floor: timed against itself, the original's 95% "
            "interval reached that far, so nothing short of it could be told from noise "
            "on this machine now; time it on a quieter machine or with more processes, "
            "measure-processes)"
        )
    return (
        f" ({floor:.3g}x, the noise floor: the original timed against itself varied that "
        "much; time it on a quieter machine or with more processes, measure-processes)"
    )


_TOO_NOISY_FLOOR = 2.0
"""A floor this high is no property of the code: the A/A run's interval was too wide to
bound anything (a few processes of a few pairs each, on a busy machine)."""
