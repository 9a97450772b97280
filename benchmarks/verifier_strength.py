"""How much each verification tier catches: a corpus of (original, candidate) pairs.

    .venv/bin/python benchmarks/verifier_strength.py            # the whole corpus
    .venv/bin/python benchmarks/verifier_strength.py --only mean --strength

For every case of benchmarks/verifier_corpus/cases.py a small project is
written to a temporary folder (the module, a workload calling it with typical
inputs, a test file), the workload is captured as perfloop captures it, the
project's tests are indexed, and every candidate is verified with all tiers,
not stopping at the first difference, so each tier's finding is known. A tier
combination (replay only; +fuzz; +tests; +symbolic) catches a non-equivalent
candidate if any of its tiers finds a difference; it wrongly rejects an
equivalent one likewise. The time per candidate of a combination is what
`verify_candidate` would spend: its tiers in order up to the first that finds
a difference. This is a figure printer, not a timed test; the last line is one
JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from verifier_corpus.cases import CASES, Case, Pair

from perfloop.capture import capture_calls
from perfloop.model import Candidate, FunctionRef, Limits, TierRun
from perfloop.verification import (
    FuzzSettings,
    VerifySettings,
    measure_strength,
    prepare_target,
    verify_candidate,
)
from perfloop.verification.project_tests import index_tests, select_tests
from perfloop.verification.symbolic import available as symbolic_available

COMBINATIONS = (
    ("replay only", ("replay",)),
    ("+fuzz", ("replay", "fuzz")),
    ("+tests", ("replay", "fuzz", "tests")),
    ("+symbolic", ("replay", "fuzz", "tests", "symbolic")),
)
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


def run_case(case: Case, settings: VerifySettings, strength: bool) -> tuple[list[Outcome], str]:
    with tempfile.TemporaryDirectory(prefix=f"perfloop-corpus-{case.name}-") as tmp:
        root = Path(tmp)
        write_project(root, case)
        ref = FunctionRef("target", case.function)
        capture = capture_calls("python bench.py", root, [ref])[ref]
        tests = select_tests(index_tests(root, LIMITS), root, ref, "target.py", case.original)
        plan = prepare_target(
            ref,
            "target.py",
            case.original,
            capture,
            root=root,
            settings=settings,
            limits=LIMITS,
            tests=tests,
        )
        note = f"{len(capture.records)} calls, {len(tests.node_ids)} tests"
        if plan.problem:
            note += f"; UNVERIFIABLE: {plan.problem}"
        if strength:
            measured = measure_strength(plan, root=root, limits=LIMITS)
            score = "n/a" if measured.score is None else f"{measured.score:.0%}"
            note += f"; strength {score} ({measured.killed}/{measured.generated})"
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", help="run only this case (repeatable)")
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
    cases = [c for c in CASES if not args.only or c.name in args.only]
    started = time.perf_counter()
    outcomes: list[Outcome] = []
    for number, case in enumerate(cases, 1):
        case_outcomes, note = run_case(case, settings, args.strength)
        outcomes += case_outcomes
        marks = " ".join(
            ("caught" if o.rejected_by(COMBINATIONS[-1][1]) else "MISSED")
            if not o.pair.equivalent
            else ("REJECTED" if o.rejected_by(COMBINATIONS[-1][1]) else "accepted")
            for o in case_outcomes
        )
        print(f"[{number}/{len(cases)}] {case.name}: {note}; {marks}", flush=True)

    nonequivalent = [o for o in outcomes if not o.pair.equivalent]
    equivalent = [o for o in outcomes if o.pair.equivalent]
    print()
    print(
        f"{len(outcomes)} pairs from {len(cases)} originals: {len(nonequivalent)} non-equivalent "
        f"candidates, {len(equivalent)} equivalent; symbolic tier "
        f"{'available' if symbolic_available() else 'NOT installed (its rows repeat +tests)'}"
    )
    rows = []
    for name, tiers in COMBINATIONS:
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
    for tier in COMBINATIONS[-1][1]:
        ran = [
            o for o in outcomes if any(r.tier == tier and r.outcome != "skipped" for r in o.runs)
        ]
        caught = sum(o.rejected_by((tier,)) for o in nonequivalent)
        rejected = sum(o.rejected_by((tier,)) for o in equivalent)
        alone.append(
            [tier, f"{caught}/{len(nonequivalent)}", f"{rejected}/{len(equivalent)}", str(len(ran))]
        )
    print("each tier on its own (all tiers ran on every candidate):")
    print(
        table(
            ["tier", "non-equivalent caught", "equivalent rejected", "candidates it ran on"], alone
        )
    )
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
        print(f"e.g. {o.case} ({o.pair.label}): {o.first_difference}")
    print(f"total {time.perf_counter() - started:.0f} s")
    caught_share = (len(nonequivalent) - len(missed)) / max(1, len(nonequivalent))
    print(
        json.dumps(
            {
                "nonequivalent_caught": round(caught_share, 4),
                "equivalent_rejected": len(wrongly),
                "pairs": len(outcomes),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
