"""How much each verification tier catches: a corpus of (original, candidate) pairs.

    .venv/bin/python benchmarks/verifier_strength.py            # the whole corpus
    .venv/bin/python benchmarks/verifier_strength.py --only mean --strength
    .venv/bin/python benchmarks/verifier_strength.py --corpus stateful

Two corpora: functions (benchmarks/verifier_corpus/cases.py: one function per
case, the wrong candidates wrong on an edge case only) and stateful
(verifier_corpus/stateful.py: a method of a class that keeps state, driven by
its workload through sequences of calls; wrong candidates keep state wrong
across calls, outside the instance, or in a cache never invalidated). For every
case a small project is written to a temporary folder (the module, a workload
calling it with typical inputs, a test file), the workload is captured as
perfloop captures it (calls, and for a method the histories of a few
instances), the project's tests are indexed, and every candidate is verified
with all tiers, not stopping at the first difference, so each tier's finding is
known. A stateful case's workload prints what it computed, so the rollout tier
(the whole workload with the candidate in place) runs there too.

The classes corpus is the stateful one judged as `perfloop verify pkg.mod:Class`
judges a whole class: the target is the case's class, not its method, so each
candidate (a whole module: the class with one method, its constructor or its
attributes changed) is judged on the recorded instance histories and sequences
generated from them, the tests and the workload's output; replay, fuzzing and the
symbolic search of single calls do not apply to a class. Side by side with the
stateful rows it shows what judging the class as a whole changes.

A tier combination (replay only; +fuzz; +interaction; ...) catches a
non-equivalent candidate if any of its tiers finds a difference; it wrongly
rejects an equivalent one likewise. The time per candidate of a combination is
what `verify_candidate` would spend: its tiers in order up to the first that
finds a difference. This is a figure printer, not a timed test; the last line
is one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from verifier_corpus.cases import CASES, Case, Pair
from verifier_corpus.stateful import STATEFUL_CASES

from perfloop.capture import capture_calls
from perfloop.model import Candidate, FunctionRef, Limits, TierRun
from perfloop.verification import (
    FuzzSettings,
    VerifySettings,
    measure_strength,
    prepare_target,
    verify_candidate,
)
from perfloop.verification.plan import Rollout
from perfloop.verification.project_tests import index_tests, select_tests
from perfloop.verification.rollout import WorkloadReference
from perfloop.verification.symbolic import available as symbolic_available

# cumulative, in the order verification runs the tiers
ORDER = ("replay", "fuzz", "interaction", "tests", "symbolic", "rollout")
COMBINATIONS = tuple(
    ("replay only" if n == 1 else f"+{ORDER[n - 1]}", ORDER[:n]) for n in range(1, len(ORDER) + 1)
)
WORKLOAD = "python bench.py"
REJECTING = ("different", "failed", "unverifiable")
LIMITS = Limits(wall_seconds=60.0, cpu_seconds=70, memory_mb=2048)


@dataclass(frozen=True)
class Outcome:
    case: str
    pair: Pair
    runs: tuple[TierRun, ...]
    first_difference: str | None

    def rejected_by(self, tiers: tuple[str, ...]) -> bool:
        return any(r.tier in tiers and r.outcome in REJECTING for r in self.runs)

    def seconds(self, tiers: tuple[str, ...]) -> float:
        """What verify_candidate would spend: tiers in order, up to the first rejection."""
        total = 0.0
        for run in self.runs:
            if run.tier not in tiers:
                continue
            total += run.seconds
            if run.outcome in REJECTING:
                break
        return total


def write_project(root: Path, case: Case) -> None:
    (root / "tests").mkdir(parents=True)
    (root / "target.py").write_text(case.original)
    (root / "bench.py").write_text("from target import *\n\n" + case.workload)
    (root / "tests" / "test_target.py").write_text(
        "from target import *\n\n\n" + textwrap.dedent(case.tests)
    )


def run_case(
    case: Case, settings: VerifySettings, strength: bool, stateful: bool, whole_class: bool
) -> tuple[list[Outcome], str]:
    """Every candidate of `case` verified with all tiers; `whole_class`: the target is the
    class of the case's method (`Prober.feed` -> `Prober`), judged as a whole class."""
    with tempfile.TemporaryDirectory(prefix=f"perfloop-corpus-{case.name}-") as tmp:
        root = Path(tmp)
        write_project(root, case)
        target = case.function.split(".")[0] if whole_class else case.function
        ref = FunctionRef("target", target)
        capture = capture_calls(WORKLOAD, root, [ref])[ref]
        tests = select_tests(index_tests(root, LIMITS), root, ref, "target.py", case.original)
        reference = None
        if stateful:  # its workload prints what it computed: the rollout tier can compare it
            settings = replace(settings, rollout=Rollout(WORKLOAD, timeout=60.0))
            reference = WorkloadReference(settings.rollout, root)
        plan = prepare_target(
            ref,
            "target.py",
            case.original,
            capture,
            root=root,
            settings=settings,
            limits=LIMITS,
            tests=tests,
            reference=reference,
            whole_class=whole_class,
        )
        note = f"{len(capture.records)} calls, {len(tests.node_ids)} tests"
        if whole_class:
            note = f"class {target}: {len(tests.node_ids)} tests"
        if capture.histories:
            note += f", {len(capture.histories)} histories"
        if plan.problem:
            note += f"; UNVERIFIABLE: {plan.problem}"
        if strength:
            measured = measure_strength(plan, root=root, limits=LIMITS)
            score = "n/a" if measured.score is None else f"{measured.score:.0%}"
            by = ", ".join(f"{tier} {count}" for tier, count in measured.killed_by)
            note += f"; strength {score} ({measured.killed}/{measured.generated}: {by or 'none'})"
        outcomes = []
        for pair in case.pairs:
            candidate = Candidate(
                ref, f"corpus:{pair.label}", pair.label, pair.source, "", "target.py"
            )
            verdict = verify_candidate(
                candidate, plan, root=root, limits=LIMITS, stop_at_first_difference=False
            )
            difference = verdict.difference
            shown = (
                f"{difference.tier}: {difference.call}: {difference.description}"
                if difference
                else verdict.reason
            )
            outcomes.append(Outcome(case.name, pair, verdict.runs, shown))
        return outcomes, note


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)) for row in rows]
    return "\n".join(lines)


def mark(outcome: Outcome, tiers: tuple[str, ...]) -> str:
    rejected = outcome.rejected_by(tiers)
    if outcome.pair.equivalent:
        return "REJECTED" if rejected else "accepted"
    return "caught" if rejected else "MISSED"


def report(group: str, outcomes: list[Outcome], cases: int) -> dict[str, object]:
    """Print the tables of one corpus; its headline figures."""
    nonequivalent = [o for o in outcomes if not o.pair.equivalent]
    equivalent = [o for o in outcomes if o.pair.equivalent]
    print()
    print(
        f"{group}: {len(outcomes)} pairs from {cases} originals: {len(nonequivalent)} "
        f"non-equivalent candidates, {len(equivalent)} equivalent; symbolic tier "
        f"{'available' if symbolic_available() else 'NOT installed (its rows repeat +tests)'}"
    )
    ran = [
        (name, tiers)
        for name, tiers in COMBINATIONS
        if any(r.tier == tiers[-1] and r.outcome != "skipped" for o in outcomes for r in o.runs)
    ]
    idle = [tiers[-1] for name, tiers in COMBINATIONS if (name, tiers) not in ran]
    if idle:
        print(f"tiers that ran on no candidate here (left out below): {', '.join(idle)}")
    rows = []
    for name, tiers in ran:
        caught = sum(o.rejected_by(tiers) for o in nonequivalent)
        rejected = sum(o.rejected_by(tiers) for o in equivalent)
        median = statistics.median(o.seconds(tiers) for o in outcomes) if outcomes else 0.0
        rows.append(
            [
                name,
                f"{caught}/{len(nonequivalent)} ({caught / max(1, len(nonequivalent)):.0%})",
                f"{rejected}/{len(equivalent)}",
                f"{median:.2f}",
            ]
        )
    print(
        table(
            ["tiers", "non-equivalent caught", "equivalent rejected", "median s/candidate"],
            rows,
        )
    )
    print()
    alone = []
    by_tier: dict[str, dict[str, int]] = {}
    for tier in ORDER:
        ran_on = [
            o for o in outcomes if any(r.tier == tier and r.outcome != "skipped" for r in o.runs)
        ]
        caught = sum(o.rejected_by((tier,)) for o in nonequivalent)
        rejected = sum(o.rejected_by((tier,)) for o in equivalent)
        took = [r.seconds for o in ran_on for r in o.runs if r.tier == tier]
        median = statistics.median(took) if took else 0.0
        alone.append(
            [
                tier,
                f"{caught}/{len(nonequivalent)}",
                f"{rejected}/{len(equivalent)}",
                str(len(ran_on)),
                f"{median:.2f}",
            ]
        )
        by_tier[tier] = {
            "caught": caught,
            "rejected": rejected,
            "ran": len(ran_on),
            "median_seconds": round(median, 3),
        }
    print("each tier on its own (all tiers ran on every candidate they fit):")
    header = ["tier", "non-equivalent caught", "equivalent rejected", "candidates it ran on"]
    print(table([*header, "median s where it ran"], alone))
    print()
    first: dict[str, int] = {}
    for o in nonequivalent:
        tier = next((r.tier for r in o.runs if r.outcome in REJECTING), "none")
        first[tier] = first.get(tier, 0) + 1
    print(
        "first tier to catch each non-equivalent candidate: "
        + ", ".join(f"{tier} {count}" for tier, count in sorted(first.items()))
    )
    all_tiers = COMBINATIONS[-1][1]
    missed = [o for o in nonequivalent if not o.rejected_by(all_tiers)]
    wrongly = [o for o in equivalent if o.rejected_by(all_tiers)]
    for o in missed:
        print(f"MISSED   {o.case}: {o.pair.label}")
    for o in wrongly:
        print(f"REJECTED {o.case}: {o.pair.label}: {o.first_difference}")
    examples = [o for o in nonequivalent if o.first_difference][:3]
    for o in examples:
        print(f"e.g. {o.case} ({o.pair.label}): {condensed(o.first_difference or '')}")
    replay_only = COMBINATIONS[0][1]
    return {
        "nonequivalent_caught": round(
            (len(nonequivalent) - len(missed)) / max(1, len(nonequivalent)), 4
        ),
        "equivalent_rejected": len(wrongly),
        "pairs": len(outcomes),
        "replay_only_caught": sum(o.rejected_by(replay_only) for o in nonequivalent),
        "replay_only_rejected": sum(o.rejected_by(replay_only) for o in equivalent),
        "by_tier": by_tier,
    }


def condensed(text: str) -> str:
    """A counterexample on one line: a pasteable program of several lines by its last."""
    lines = text.splitlines()
    if len(lines) <= 2:
        return " / ".join(lines)
    return f"{lines[0]} ... ({len(lines)} lines) ... {lines[-1]}"


def pair_matrix(outcomes: list[Outcome]) -> None:
    """One line per candidate: what each tier said (x: rejected, .: passed, -: did not run)."""
    rows = []
    for o in outcomes:
        said = []
        for tier in ORDER:
            run = next((r for r in o.runs if r.tier == tier), None)
            said.append(
                "-"
                if run is None or run.outcome == "skipped"
                else "x"
                if run.outcome in REJECTING
                else "."
            )
        kind = "equivalent" if o.pair.equivalent else "wrong"
        rows.append([o.case, kind, *said, o.pair.label[:70]])
    print()
    print("per candidate (x: the tier rejected it, .: passed it, -: did not run):")
    print(table(["case", "candidate", *ORDER, "what it does"], rows))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", help="run only this case (repeatable)")
    parser.add_argument(
        "--corpus",
        choices=("all", "functions", "stateful", "classes"),
        default="all",
        help="which corpus to run: functions, methods of stateful classes, the same "
        "judged with the whole class as the target, or all three (default)",
    )
    parser.add_argument("--strength", action="store_true", help="also run the mutation self-check")
    parser.add_argument("--fuzz-examples", type=int, default=200)
    parser.add_argument("--fuzz-seconds", type=float, default=10.0)
    parser.add_argument("--symbolic-seconds", type=float, default=5.0)
    args = parser.parse_args()
    settings = VerifySettings(
        fuzz=FuzzSettings(args.fuzz_examples, args.fuzz_seconds),
        symbolic_seconds=args.symbolic_seconds,
        candidate_seconds=120.0,
    )
    groups = [
        (group, stateful, whole_class, [c for c in corpus if not args.only or c.name in args.only])
        for group, stateful, whole_class, corpus in (
            ("functions", False, False, CASES),
            ("stateful", True, False, STATEFUL_CASES),
            ("classes", True, True, STATEFUL_CASES),
        )
        if args.corpus in ("all", group)
    ]
    started = time.perf_counter()
    total = sum(len(cases) for *_, cases in groups)
    number = 0
    results: list[tuple[str, bool, list[Outcome], int]] = []
    for group, stateful, whole_class, cases in groups:
        outcomes: list[Outcome] = []
        for case in cases:
            number += 1
            case_outcomes, note = run_case(case, settings, args.strength, stateful, whole_class)
            outcomes += case_outcomes
            marks = " ".join(mark(o, COMBINATIONS[-1][1]) for o in case_outcomes)
            print(f"[{number}/{total}] {case.name}: {note}; {marks}", flush=True)
        results.append((group, stateful, outcomes, len(cases)))

    figures: dict[str, object] = {}
    for group, stateful, outcomes, cases in results:
        if not outcomes:
            continue
        headline = report(group, outcomes, cases)
        if stateful:
            pair_matrix(outcomes)
            figures[group] = headline
        else:
            figures.update(
                {k: headline[k] for k in ("nonequivalent_caught", "equivalent_rejected", "pairs")}
            )
    print(f"total {time.perf_counter() - started:.0f} s")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
