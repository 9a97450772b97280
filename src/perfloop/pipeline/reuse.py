"""Results kept across runs: a target's verdicts and measurements, the whole-workload A/B
of a patch and a merged file's re-verification, reused from the result cache when what
decides them is unchanged (perfloop.store.cache_keys), else computed and kept.

What a hit assumes is in the README ("Reruns: the result cache"): the profile and the
recorded calls are always taken again, so the calls' fingerprint is the one this run's
workload produced; a target is reused when its source, the project code it reaches, its
recorded calls, the Python, the platform, perfloop's verifier, proposer and measurer code
and the settings that change verdicts are all the same as when it was computed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from perfloop.measure import settings_from
from perfloop.model import (
    CandidateResult,
    FunctionRef,
    Limits,
    LineProfile,
    Profile,
    RunId,
    TargetCapture,
    VerdictStatus,
)
from perfloop.patch import FileChange, SpliceError, splice_class, splice_function
from perfloop.pipeline.candidates import optimize_target, select_best, time_candidate
from perfloop.pipeline.context import DEFAULT_PROPOSERS, Context, candidate_limits
from perfloop.pipeline.whole_class import Methods, optimize_class_target
from perfloop.progress import Detail
from perfloop.propose import propose_rule_candidates
from perfloop.results import CacheState, CacheUse, TargetResult, WorkloadSpeedup
from perfloop.store.cache import CacheKey
from perfloop.store.cache_keys import (
    LLM_CODE,
    PROPOSER_CODE,
    RECIPES_CODE,
    capture_key,
    code_version,
    files_digest,
    function_dependencies,
    measure_key,
    profile_key,
    target_key,
    tests_digest,
    text_digest,
    workload_key,
)

# the words for a key part that changed, in "recomputed: ..."
_CHANGED = {
    "function": "its source changed",
    "callees": "project code it calls or uses changed",
    "calls": "its recorded calls changed (the workload called it with other data)",
    "python": "another Python",
    "platform": "another platform",
    "verifier": "perfloop's verification code changed",
    "proposer": "the proposers changed",
    "settings": "settings that change verdicts changed",
    "tests": "the project's tests changed",
}


def target_result(
    context: Context,
    ref: FunctionRef,
    share: float,
    source: tuple[str, str],
    capture: TargetCapture,
    lines: LineProfile | None = None,
) -> TargetResult:
    """The target's result from the cache when nothing that decides it changed; else
    computed (optimize_target) and kept. `cache` on the result says which, and why."""
    return _cached(
        context,
        ref,
        share,
        source,
        capture,
        lambda: optimize_target(context, ref, share, source, capture, lines),
    )


def class_target_result(
    context: Context,
    ref: FunctionRef,
    share: float,
    source: tuple[str, str],
    capture: TargetCapture,
    methods: Methods,
) -> TargetResult:
    """A whole class's result (`optimize_class_target`), from the cache as a function's is:
    its key holds the class's source and the project code its methods reach, and the
    recorded histories of its instances."""
    return _cached(
        context,
        ref,
        share,
        source,
        capture,
        lambda: optimize_class_target(context, ref, share, source, capture, methods),
        whole_class=True,
    )


def _cached(
    context: Context,
    ref: FunctionRef,
    share: float,
    source: tuple[str, str],
    capture: TargetCapture,
    optimize: Callable[[], TargetResult],
    whole_class: bool = False,
) -> TargetResult:
    def compute(why: CacheUse) -> TargetResult:
        return replace(optimize(), cache=why)

    cache, settings = context.cache, context.settings
    if cache is None:
        why = "--no-cache" if not settings.cache else "the result cache could not be opened"
        return compute(CacheUse(CacheState.OFF, why))
    proposer = _proposer_identity(context)
    if proposer is None:
        return compute(
            CacheUse(CacheState.OFF, "a proposer perfloop cannot identify (passed in by the API)")
        )
    _path, module_source = source
    key = target_key(
        settings,
        function_dependencies(context.project, ref, module_source),
        capture,
        proposer,
        tests_digest(context.root) if settings.project_tests else None,
    )
    context.cache_keys[ref] = key
    measured_under = dict(measure_key(settings).parts)
    entry = cache.get("target", key, tuple) if settings.cache else None
    if entry is not None:
        reused = _reused(context, entry.payload, module_source, share, ref, whole_class)
        if reused is not None:
            result, earlier_measure, test_notes = reused
            known = context.reused_test_notes
            known.extend(note for note in test_notes if note not in known)
            if not settings.remeasure and earlier_measure == measured_under:
                use = CacheUse(CacheState.REUSED, "nothing that decides it changed", entry.run_id)
                result = replace(result, cache=use)
            else:
                why = (
                    "--remeasure"
                    if settings.remeasure
                    else "measurement settings or perfloop's timing code changed"
                )
                context.progress(Detail(f"{ref}: measuring the cached verified candidates again"))
                result = _remeasured(context, result, module_source, capture, whole_class)
                use = CacheUse(CacheState.REMEASURED, f"verdicts reused; {why}", entry.run_id)
                result = replace(result, cache=use)
                _keep(context, key, result, module_source, measured_under)
            for candidate in result.candidates:
                context.store.save_candidate_result(context.run_id, candidate)
            return result
    why = _why_computed(context, key, ref) if settings.cache else "--no-cache"
    result = compute(CacheUse(CacheState.COMPUTED, why))
    budget = context.budget
    if ref in budget.skipped_candidates or budget.spent():  # cut short: not the whole result
        return replace(result, cache=CacheUse(CacheState.COMPUTED, f"{why}; not kept: --budget"))
    _keep(context, key, result, module_source, measured_under)
    return result


def _proposer_identity(context: Context) -> str | None:
    """The proposers and the code they run, or None when one is not perfloop's own."""
    names = []
    for proposer in context.proposers:
        if proposer is propose_rule_candidates or proposer in DEFAULT_PROPOSERS:
            names.append(f"rules {code_version(*PROPOSER_CODE)}")
        elif type(proposer).__module__.startswith("perfloop.llm"):
            names.append(f"llm {code_version(*LLM_CODE)}")
        elif type(proposer).__module__.startswith("perfloop.recipes"):
            identity = proposer.cache_identity  # type: ignore[union-attr]
            names.append(f"{identity} {code_version(*RECIPES_CODE)}")
        else:
            return None
    return " + ".join(names)


def _why_computed(context: Context, key: CacheKey, ref: FunctionRef) -> str:
    assert context.cache is not None
    earlier = context.cache.latest_parts("target", str(ref))
    if earlier is None:
        return "not in the cache"
    _run, parts = earlier
    return why_changed(key.changed_since(parts))


def why_changed(parts: list[str]) -> str:
    """The changed parts of a target's cache key, in words. The recorder is part of the
    verifier's code: where both changed, the calls may differ because perfloop records
    them otherwise (simplejson 3.19.3 and cbor2 5.6.5, on a rerun after a perfloop change,
    read "the workload called it with other data", of the same workload)."""
    changed = [_CHANGED.get(name, name) for name in parts]
    if "calls" in parts and "verifier" in parts:
        changed[parts.index("calls")] = (
            "its recorded calls changed (perfloop's recording changed with its code, or the "
            "workload called it with other data)"
        )
    return "; ".join(changed) if changed else "not in the cache"


def _keep(
    context: Context,
    key: CacheKey,
    result: TargetResult,
    module_source: str,
    measured_under: dict[str, str],
) -> None:
    assert context.cache is not None
    tests = context.verification.tests_problem()
    notes = [*context.verification.tests_notes()]
    if tests is not None:
        notes.append(f"the project's tests did not judge the candidates: {tests}")
    best = result.best
    speedup = best.measurement.speedup if best and best.measurement else None
    summary: dict[str, object] = {
        "status": result.status.value,
        "best": best.candidate.origin if best else None,
        "speedup": speedup.ratio if speedup else None,
        "ci": [speedup.ci_low, speedup.ci_high] if speedup else None,
        "candidates": len(result.candidates),
    }
    stored = replace(result, cache=None)
    context.cache.put(
        "target",
        key,
        context.run_id,
        (stored, module_source, measured_under, tuple(notes)),
        function=str(result.function),
        summary=summary,
    )


def _reused(
    context: Context,
    payload: object,
    module_source: str,
    share: float,
    ref: FunctionRef,
    whole_class: bool = False,
) -> tuple[TargetResult, dict[str, str], tuple[str, ...]] | None:
    """The cached result with its candidates put into today's module source (another
    function of the module may have changed), and the current share; None if the payload
    is not what this perfloop keeps or a candidate no longer splices in."""
    if not (isinstance(payload, tuple) and len(payload) == 4):
        return None
    result, earlier_source, measured_under, notes = payload
    if not isinstance(result, TargetResult) or result.function != ref:
        return None
    if not isinstance(earlier_source, str) or not isinstance(measured_under, dict):
        return None
    result = replace(result, share=share)
    if earlier_source == module_source:
        return result, measured_under, tuple(notes)
    splice = splice_class if whole_class else splice_function
    try:
        rebased = {
            id(c): _rebased(c, module_source, ref.qualname, splice) for c in result.candidates
        }
        best = None
        if result.best is not None:
            best = rebased.get(id(result.best)) or _rebased(
                result.best, module_source, ref.qualname, splice
            )
    except SpliceError:
        return None
    return (
        replace(result, candidates=tuple(rebased.values()), best=best),
        measured_under,
        tuple(notes),
    )


def _rebased(
    result: CandidateResult,
    module_source: str,
    qualname: str,
    splice: Callable[[str, str, str], str] = splice_function,
) -> CandidateResult:
    """The candidate's new function (or class) put into today's module source."""
    candidate = result.candidate
    new = splice(module_source, qualname, candidate.module_source)
    return replace(result, candidate=replace(candidate, module_source=new))


def _remeasured(
    context: Context,
    result: TargetResult,
    module_source: str,
    capture: TargetCapture,
    whole_class: bool = False,
) -> TargetResult:
    """The same candidates and verdicts, the verified ones timed again; then the best
    chosen again on the new figures."""
    limits = candidate_limits(context)
    settings = settings_from(context.settings, limits)
    tried = []
    for candidate_result in result.candidates:
        verdict = candidate_result.verdict
        if verdict is None or verdict.status is not VerdictStatus.EQUIVALENT:
            tried.append(replace(candidate_result, measurement=None))
            continue
        candidate = candidate_result.candidate
        measurement = time_candidate(
            context, candidate, module_source, capture, settings, whole_class, again=True
        )
        tried.append(replace(candidate_result, measurement=measurement))
    if result.status.value in ("unverifiable", "error"):
        return result
    chosen = select_best(result.function, result.share, result.calls_recorded, tried)
    return replace(
        chosen,
        strength=result.strength,
        notes=result.notes,
        original_source=result.original_source,
        whole_class=result.whole_class,
    )


# --- the profile and the recorded calls, with --trust-capture --------------------------------


def profile(context: Context, compute: Callable[[], Profile]) -> Profile:
    """The workload's profile: with --trust-capture, the one of the last run of the same
    command on the same sources (the workload does not run); else profiled, and kept for
    a later --trust-capture."""
    cache, settings = context.cache, context.settings
    if cache is None:
        return compute()
    key = profile_key(settings, context.root)
    if settings.trust_capture and settings.cache:
        entry = cache.get("profile", key, tuple)
        payload = entry.payload if entry is not None else None
        if (
            entry is not None
            and isinstance(payload, tuple)
            and len(payload) == 2
            and isinstance(payload[0], Profile)
            and isinstance(payload[1], Limits)
        ):
            found, limits = payload
            context.store.save_profile(context.run_id, found)
            context.checkpoints.step("workload-limits", lambda: limits)
            context.trusted.append(entry.run_id)
            return found
    found = compute()
    limits = context.checkpoints.done.get("workload-limits")
    if isinstance(limits, Limits):
        cache.put("profile", key, context.run_id, (found, limits))
    return found


def captures(
    context: Context,
    targets: Sequence[FunctionRef],
    compute: Callable[[], dict[FunctionRef, TargetCapture]],
) -> dict[FunctionRef, TargetCapture]:
    """The targets' recorded calls: with --trust-capture (and a trusted profile), those an
    earlier run recorded for the same targets on the same sources; else recorded."""
    cache, settings = context.cache, context.settings
    if cache is None:
        return compute()
    key = capture_key(profile_key(settings, context.root), settings, targets)
    if settings.trust_capture and settings.cache and context.trusted:
        entry = cache.get("capture", key, str)
        if entry is not None:
            found = context.store.load_captures(RunId(str(entry.payload)))
            if all(target in found for target in targets):
                context.trusted.append(str(entry.payload))
                return {target: found[target] for target in targets}
    recorded = compute()
    cache.put("capture", key, context.run_id, str(context.run_id))
    return recorded


def trusted_note(context: Context) -> str | None:
    if not context.trusted:
        return None
    runs = ", ".join(dict.fromkeys(context.trusted))
    what = "profile and recorded calls" if len(context.trusted) > 1 else "profile"
    return (
        f"--trust-capture: the workload's {what} were reused from run {runs} (the same "
        "command and project sources); the workload did not run, so a change of its data "
        "or environment is not seen"
    )


# --- the whole workload, and merged files -------------------------------------------------


def workload_comparison(
    context: Context,
    changes: Sequence[FileChange],
    profile: Profile,
    compute: Callable[[], tuple[WorkloadSpeedup | None, list[str]]],
) -> tuple[tuple[WorkloadSpeedup | None, list[str]], str | None]:
    """The whole-workload A/B of `changes`, from the cache when the patch, every project
    file the workload imported, its output, the command and the measurement settings are
    unchanged (and not --remeasure); else measured and kept. The second value is the run
    whose A/B was reused, or None."""
    cache, settings = context.cache, context.settings
    if cache is None:
        return compute(), None
    imported = [path for _name, path in profile.imports.modules]
    sources = f"{files_digest(context.root, imported)}-{text_digest(profile.workload_stdout)}"
    key = workload_key(settings, [(c.path, c.original, c.new) for c in changes], sources)
    if settings.cache and not settings.remeasure:
        entry = cache.get("workload", key, tuple)
        if entry is not None and _is_comparison(entry.payload):
            speedup, notes = entry.payload  # type: ignore[misc]
            if speedup is not None:
                context.store.save_workload_measurement(
                    context.run_id,
                    speedup.speedup,
                    speedup.speedup.clears(settings.min_speedup),
                    None,
                )
            return (speedup, list(notes)), entry.run_id
    comparison = compute()
    if comparison[0] is not None:
        cache.put("workload", key, context.run_id, (comparison[0], tuple(comparison[1])))
    return comparison, None


def _is_comparison(payload: object) -> bool:
    return (
        isinstance(payload, tuple)
        and len(payload) == 2
        and (payload[0] is None or isinstance(payload[0], WorkloadSpeedup))
        and isinstance(payload[1], tuple)
        and all(isinstance(note, str) for note in payload[1])
    )


# the kind of a merged file's check in the cache: why not, "" if it verified (the kind was
# "merged" while it held a bool, which an older perfloop's entries still do)
_MERGED = "merged-why-not"


def merged_verifies(
    context: Context,
    function: FunctionRef,
    merged: str,
    verify: Callable[[], tuple[str | None, bool]],
) -> str | None:
    """None if `function` still verifies in the merged file `merged`, else why not: from
    the cache under the target's key and the merged source, else checked by `verify`
    (why not, or None; and whether that was decided). Only a decided answer is kept: a
    check that could not finish (out of time on a busy machine) runs again next time."""
    cache, target = context.cache, context.cache_keys.get(function)
    if cache is None or target is None:
        return verify()[0]
    key = CacheKey((*target.parts, ("merged", text_digest(merged))))
    if context.settings.cache:
        entry = cache.get(_MERGED, key, str)
        if entry is not None:
            return str(entry.payload) or None
    why, decided = verify()
    if decided:
        cache.put(_MERGED, key, context.run_id, why or "", function=str(function))
    return why
