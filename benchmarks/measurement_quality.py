"""How often does a measurement method call identical code "faster", and how often does it
find a true difference? perfloop's micro A/B against pyperf, timeit and a naive timer.

    python benchmarks/measurement_quality.py --quick          # a few trials, to check it works
    python benchmarks/measurement_quality.py --load both --loaded-trials 100 --detect-trials 25 \
        --loaded-detect-trials 15 --other-trials 5           # the README's table (~65 min)
    python benchmarks/measurement_quality.py --pairs 10% --trials 25 --detect-trials 25 \
        --detect-budget 10 [--load on]                        # the 10% pair at 10 s (~35 min)

The pairs (benchmarks/measure_pairs) are one function in versions whose cost
differs by construction: identical, and the original doing 3%, 5%, 10% or
30% more of the same work. Every method gets the same wall-clock budget per
comparison (`--budget`, seconds) and the same threshold (`--min-speedup`, 1.05);
"faster" means, per method, what its users take it to mean:

- perfloop: `measure_candidate`'s decision (the 95% interval's lower bound
  clears the threshold, raised to the A/A noise floor if that is higher). The
  noise floor is measured once per pair and condition every `--noise-every`
  trials and shared by the trials after it, as the pipeline measures it once
  per target and shares it among that target's candidates; it is not charged
  to the per-comparison budget.
- pyperf: `pyperf timeit` for each version (its own worker processes), then
  `pyperf compare_to`: faster when it calls the difference significant and
  the ratio of means exceeds the threshold.
- timeit: `python -m timeit -r 5` for each version; faster when the ratio of
  the best of 5 exceeds the threshold.
- naive: one process times a loop of the original, then of the candidate,
  once each; faster when the ratio exceeds the threshold.

pyperf, timeit and naive get loop counts from a calibration at start-up
(not charged), sized so each fills its share of the budget, then corrected
after every comparison by the time it really took (`held_to_budget`), so a
change in the machine's load does not hand them more time; the table shows
the seconds each really took. Trials of all methods and pairs are interleaved
in a seeded random order within each round, so the afternoon's load hits them
alike. `--load on` starts `python -c "while True: pass"` (unpinned) for the
duration of the loaded rounds; `--load both` alternates plain and loaded rounds.

The last line is one JSON object with the headline figures (perfloop's unless named).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pickle
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from measure_pairs import MODULE, PAIRS, inputs, pickled_calls, source  # noqa: E402

from perfloop.measure.micro import (  # noqa: E402
    NoiseFloor,
    groups_of,
    measure_noise_floor,
    run_micro_ab,
    summarise_run,
    time_threshold,
    timing_task,
)
from perfloop.measure.settings import MeasureSettings  # noqa: E402
from perfloop.measure.stats import paired_ratio_interval  # noqa: E402
from perfloop.model import CallRecord, Candidate, FunctionRef, Limits  # noqa: E402

METHODS = ("perfloop", "pyperf", "timeit", "naive")
PYTHON = sys.executable


@dataclass
class Outcome:
    faster: bool
    ratio: float
    seconds: float
    low: float | None = None
    high: float | None = None
    bootstrap_low: float | None = None
    bootstrap_high: float | None = None
    error: str | None = None


@dataclass
class Tally:
    outcomes: dict[tuple[str, str], list[Outcome]] = field(
        default_factory=lambda: defaultdict(list)
    )
    load_averages: list[float] = field(default_factory=list)


class Project:
    """A temporary folder with each pair's two module versions and the inputs."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / f"{MODULE}.py").write_text(source(0))
        self.calls = pickled_calls()
        self.records = [
            CallRecord(i, data, b"", "", f"work(<list {i}>)") for i, data in enumerate(self.calls)
        ]
        (root / "inputs.pkl").write_bytes(pickle.dumps(inputs()))
        for name, (extra, _) in PAIRS.items():
            slug = pair_slug(name)
            (root / f"orig_{slug}.py").write_text(source(extra))
            (root / f"cand_{slug}.py").write_text(source(0))

    def candidate(self, module_source: str) -> Candidate:
        path = str(self.root / f"{MODULE}.py")
        return Candidate(FunctionRef(MODULE, "work"), "bench", "", module_source, "", path)

    def setup(self, module: str) -> str:
        return (
            f"import sys, pickle; sys.path.insert(0, {str(self.root)!r}); "
            f"from {module} import work; "
            f"DATA = pickle.load(open({str(self.root / 'inputs.pkl')!r}, 'rb'))"
        )


def pair_slug(name: str) -> str:
    return name.replace("%", "pct")


STATEMENT = "for xs in DATA: work(xs)"


# --- the methods -----------------------------------------------------------------------


def run_perfloop(
    project: Project, pair: str, settings: MeasureSettings, noise: NoiseFloor | None
) -> Outcome:
    """perfloop's micro A/B as measure_candidate runs it (its decision for the time objective);
    the parts are called one by one to keep each process's timings for the bootstrap column."""
    extra, _ = PAIRS[pair]
    started = time.perf_counter()
    task = timing_task(
        project.candidate(source(0)), source(extra), project.records, project.root, settings
    )
    run = run_micro_ab(task, project.root, settings, time_threshold(settings, noise))
    seconds = time.perf_counter() - started
    if run.error is not None or run.estimate is None:
        return Outcome(False, math.nan, seconds, error=run.error)
    speedup = summarise_run(run, settings, noise)
    groups = groups_of(run.timings)
    boot = paired_ratio_interval(groups, resamples=1000)  # the old method, on the same data
    return Outcome(
        faster=speedup.clears(speedup.threshold or settings.min_speedup),
        ratio=speedup.ratio,
        seconds=seconds,
        low=speedup.ci_low,
        high=speedup.ci_high,
        bootstrap_low=boot.low,
        bootstrap_high=boot.high,
    )


def run_pyperf(project: Project, pair: str, plan: dict[str, int], threshold: float) -> Outcome:
    slug = pair_slug(pair)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-pyperf-") as tmp:
        files = []
        for side in ("orig", "cand"):
            out = Path(tmp) / f"{side}.json"
            command = [
                PYTHON, "-m", "pyperf", "timeit", "--quiet",
                "-p", str(plan["processes"]), "-n", str(plan["values"]), "-w", "1",
                "-l", str(plan["loops"]), "-o", str(out), "--name", "work",
                "-s", project.setup(f"{side}_{slug}"), STATEMENT,
            ]  # fmt: skip
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode != 0:
                return Outcome(False, math.nan, 0, error=done.stderr[-300:])
            files.append(str(out))
        compared = subprocess.run(
            [PYTHON, "-m", "pyperf", "compare_to", *files], capture_output=True, text=True
        ).stdout
    seconds = time.perf_counter() - started
    if "not significant" in compared.lower():
        return Outcome(False, 1.0, seconds)
    found = re.search(r"([\d.]+)x (faster|slower)", compared)
    if not found:
        return Outcome(False, math.nan, seconds, error=compared[-300:])
    ratio = float(found.group(1)) if found.group(2) == "faster" else 1 / float(found.group(1))
    return Outcome(ratio > threshold, ratio, seconds)


def run_timeit(project: Project, pair: str, plan: dict[str, int], threshold: float) -> Outcome:
    slug = pair_slug(pair)
    started = time.perf_counter()
    best = {}
    for side in ("orig", "cand"):
        command = [
            PYTHON, "-m", "timeit", "-r", "5", "-n", str(plan["loops"]),
            "-s", project.setup(f"{side}_{slug}"), STATEMENT,
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True)
        found = re.search(r"best of 5: ([\d.]+) (nsec|usec|msec|sec)", done.stdout)
        if not found:
            return Outcome(False, math.nan, 0, error=(done.stdout + done.stderr)[-300:])
        scale = {"nsec": 1e-9, "usec": 1e-6, "msec": 1e-3, "sec": 1.0}[found.group(2)]
        best[side] = float(found.group(1)) * scale
    ratio = best["orig"] / best["cand"]
    return Outcome(ratio > threshold, ratio, time.perf_counter() - started)


NAIVE = """
import time
{setup_a}
work_a = work
{setup_b}
start = time.perf_counter()
for _ in range({loops}):
    for xs in DATA: work_a(xs)
a = time.perf_counter() - start
start = time.perf_counter()
for _ in range({loops}):
    for xs in DATA: work(xs)
b = time.perf_counter() - start
print(a / b)
"""


def run_naive(project: Project, pair: str, plan: dict[str, int], threshold: float) -> Outcome:
    slug = pair_slug(pair)
    started = time.perf_counter()
    script = NAIVE.format(
        setup_a=project.setup(f"orig_{slug}"),
        setup_b=project.setup(f"cand_{slug}"),
        loops=plan["loops"],
    )
    done = subprocess.run([PYTHON, "-c", script], capture_output=True, text=True)
    try:
        ratio = float(done.stdout.strip())
    except ValueError:
        return Outcome(False, math.nan, 0, error=done.stderr[-300:])
    return Outcome(ratio > threshold, ratio, time.perf_counter() - started)


# --- calibration and the busy process ------------------------------------------------


def pass_seconds(project: Project) -> float:
    """One pass over the inputs in a fresh process: the median wall time under today's load."""
    script = (
        project.setup("cand_identical") + "\nimport time, statistics\ntimes = []\n"
        "for _ in range(50):\n    s = time.perf_counter()\n    " + STATEMENT + "\n"
        "    times.append(time.perf_counter() - s)\nprint(statistics.median(times))"
    )
    return float(subprocess.run([PYTHON, "-c", script], capture_output=True, text=True).stdout)


def make_plans(budget: float, one_pass: float, startup: float) -> dict[str, dict[str, int]]:
    """Loop counts that fill each baseline's share of the budget (per side: half of it)."""
    per_side = budget / 2
    pyperf_processes, pyperf_values = 2, 3
    # pyperf: its runner and `processes` workers each start an interpreter and import pyperf
    timed = max(0.05, per_side - (pyperf_processes + 1) * 1.5 * startup)
    pyperf_loops = max(1, int(timed / (pyperf_processes * (pyperf_values + 1)) / one_pass))
    timeit_loops = max(1, int(max(0.05, per_side - startup) / 6 / one_pass))  # 5 + autorange-free
    naive_loops = max(1, int(max(0.05, per_side - startup / 2) / one_pass))
    return {
        "pyperf": {"processes": pyperf_processes, "values": pyperf_values, "loops": pyperf_loops},
        "timeit": {"loops": timeit_loops},
        "naive": {"loops": naive_loops},
    }


def held_to_budget(loops: int, seconds: float, budget: float) -> int:
    """The next loop count of a baseline that took `seconds` against its `budget`.

    Loop counts sized once drift as the machine's load changes (at load 5 the
    baselines took 2-3x their budget); this feedback, per method, budget and load
    condition, keeps their mean time at the budget, halving or doubling at most.
    """
    if seconds <= 0:
        return loops
    return max(1, round(loops * min(2.0, max(0.5, budget / seconds))))


def startup_seconds() -> float:
    started = time.perf_counter()
    for _ in range(3):
        subprocess.run([PYTHON, "-c", "import pyperf"], capture_output=True)
    return (time.perf_counter() - started) / 3


class BusyCore:
    """`python -c "while True: pass"` while loaded rounds run."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if self.process is None:
            self.process = subprocess.Popen([PYTHON, "-c", "while True: pass"])

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


# --- the experiment ------------------------------------------------------------------


def round_jobs(
    number: int, condition: str, args: argparse.Namespace, rng: random.Random
) -> list[tuple[str, str]]:
    """This round's (pair, method) comparisons, in a seeded random order."""
    loaded = condition == "loaded"
    if number >= (args.loaded_trials if loaded else args.trials):
        return []
    pairs = ["identical"]
    if number < (args.loaded_detect_trials if loaded else args.detect_trials):
        pairs.append("10%")
    if number < (args.loaded_other_trials if loaded else args.other_trials):
        pairs += ["3%", "5%", "30%"]
    jobs = [(pair, method) for pair in pairs if pair in args.pairs for method in METHODS]
    rng.shuffle(jobs)
    return jobs


def rate(outcomes: list[Outcome]) -> float | None:
    valid = [o for o in outcomes if o.error is None]
    return sum(o.faster for o in valid) / len(valid) if valid else None


def table(tally: Tally, title: str, args: argparse.Namespace) -> str:
    lines = [
        "",
        f"{title} (budget per comparison: {args.budget:g} s identical, {args.detect_budget:g} s "
        "true differences; threshold 1.05; "
        f"load average {min(tally.load_averages, default=0):.1f}-"
        f"{max(tally.load_averages, default=0):.1f}, mean "
        f"{statistics.mean(tally.load_averages) if tally.load_averages else 0:.1f})",
        f"{'method':<10}{'false +':>16}"
        + "".join(f"{'detect ' + p:>16}" for p in PAIRS if p != "identical")
        + f"{'s/comparison':>14}{'errors':>8}",
    ]
    for method in METHODS:
        cells = []
        for pair in PAIRS:
            outcomes = [o for o in tally.outcomes[(method, pair)] if o.error is None]
            hits = sum(o.faster for o in outcomes)
            cells.append(
                f"{hits / len(outcomes):6.1%} ({hits}/{len(outcomes)})" if outcomes else "-"
            )
        everything = [o for pair in PAIRS for o in tally.outcomes[(method, pair)]]
        seconds = [o.seconds for o in everything if o.error is None]
        errors = sum(o.error is not None for o in everything)
        lines.append(
            f"{method:<10}"
            + "".join(f"{cell:>16}" for cell in cells)
            + f"{statistics.mean(seconds) if seconds else 0:>14.2f}{errors:>8}"
        )
    lines.append("perfloop intervals:")
    for pair, (_, nominal) in PAIRS.items():
        outcomes = [o for o in tally.outcomes[("perfloop", pair)] if o.error is None and o.low]
        if not outcomes:
            continue
        widths = [(o.high - o.low) / o.ratio for o in outcomes if math.isfinite(o.high or math.inf)]
        pooled = math.exp(statistics.mean(math.log(o.ratio) for o in outcomes))
        contains = sum(o.low <= pooled <= o.high for o in outcomes) / len(outcomes)
        boot = sum(
            (o.bootstrap_low or 0) <= pooled <= (o.bootstrap_high or 0) for o in outcomes
        ) / len(outcomes)
        lines.append(
            f"  {pair:<10} nominal {nominal:.2f}x, measured {pooled:.3f}x (all trials pooled); "
            f"median relative width {statistics.median(widths) if widths else math.inf:.2%}; "
            f"contain the pooled ratio: t-interval {contains:.1%}, "
            f"hierarchical bootstrap {boot:.1%}"
        )
    return "\n".join(lines)


def figures(tally: Tally) -> dict[str, object]:
    identical = tally.outcomes
    widths = [
        (o.high - o.low) / o.ratio
        for pair in PAIRS
        for o in identical[("perfloop", pair)]
        if o.error is None and o.low is not None and math.isfinite(o.high or math.inf)
    ]
    return {
        "false_positive_rate": rate(identical[("perfloop", "identical")]),
        "detect_10pct": rate(identical[("perfloop", "10%")]),
        "pyperf_false_positive_rate": rate(identical[("pyperf", "identical")]),
        "timeit_false_positive_rate": rate(identical[("timeit", "identical")]),
        "naive_false_positive_rate": rate(identical[("naive", "identical")]),
        "pyperf_detect_10pct": rate(identical[("pyperf", "10%")]),
        "timeit_detect_10pct": rate(identical[("timeit", "10%")]),
        "naive_detect_10pct": rate(identical[("naive", "10%")]),
        "median_relative_width": statistics.median(widths) if widths else None,
        "trials": len([o for o in identical[("perfloop", "identical")] if o.error is None]),
        "load_average": statistics.mean(tally.load_averages) if tally.load_averages else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=200, help="identical-pair trials (200)")
    parser.add_argument("--detect-trials", type=int, default=30, help="10%% trials (30)")
    parser.add_argument("--other-trials", type=int, default=8, help="3/5/30%% trials (8)")
    parser.add_argument("--budget", type=float, default=1.5, help="s per identical pair (1.5)")
    parser.add_argument("--detect-budget", type=float, default=4.0, help="s per true difference")
    parser.add_argument("--loaded-trials", type=int, default=200)
    parser.add_argument("--loaded-detect-trials", type=int, default=30)
    parser.add_argument("--loaded-other-trials", type=int, default=0)
    parser.add_argument("--min-speedup", type=float, default=1.05)
    parser.add_argument("--noise-every", type=int, default=25)
    parser.add_argument("--load", choices=("off", "on", "both"), default="off")
    parser.add_argument("--quick", action="store_true", help="3 trials of each, to check")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--pairs",
        default=",".join(PAIRS),
        help="which pairs to run, e.g. '10%%' for a detection-only run (all)",
    )
    args = parser.parse_args()
    if args.quick:
        args.trials = args.detect_trials = args.other_trials = 3
        args.loaded_trials = args.loaded_detect_trials = args.loaded_other_trials = 3
    args.pairs = [pair.strip() for pair in args.pairs.split(",")]
    conditions = {"off": ["as is"], "on": ["loaded"], "both": ["as is", "loaded"]}[args.load]
    base_settings = MeasureSettings(
        min_speedup=args.min_speedup,
        processes=2,
        max_processes=20,
        budget_seconds=args.budget,
        limits=Limits(wall_seconds=60),
    )
    rng = random.Random(args.seed)
    busy = BusyCore()
    with tempfile.TemporaryDirectory(prefix="bench-measure-") as tmp:
        project = Project(Path(tmp))
        one_pass = pass_seconds(project)
        startup = startup_seconds()
        plans = {
            (condition, b): make_plans(b, one_pass, startup)
            for condition in conditions
            for b in (args.budget, args.detect_budget)
        }
        print(
            f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
            f"{os.getloadavg()[0]:.1f}; one pass over the inputs {one_pass * 1e3:.2f} ms (median "
            f"now); interpreter + pyperf start-up {startup:.2f} s; budgets: identical pairs "
            f"{args.budget:g} s, true differences {args.detect_budget:g} s per comparison; "
            f"plans {plans}; perfloop {base_settings} (budget_seconds per the pair's budget)",
            flush=True,
        )
        tallies = {condition: Tally() for condition in conditions}
        noise: dict[tuple[str, str], NoiseFloor] = {}
        try:
            for number in range(args.trials):
                for condition in conditions:
                    if condition == "loaded":
                        busy.start()
                    else:
                        busy.stop()
                    tally = tallies[condition]
                    for pair, method in round_jobs(number, condition, args, rng):
                        budget = args.budget if pair == "identical" else args.detect_budget
                        settings = replace(base_settings, budget_seconds=budget)
                        tally.load_averages.append(os.getloadavg()[0])
                        if method == "perfloop":
                            key = (condition, pair)
                            if number % args.noise_every == 0:  # refreshed now and then
                                noise[key] = measure_noise_floor(
                                    project.candidate(source(0)),
                                    source(PAIRS[pair][0]),
                                    project.records,
                                    root=project.root,
                                    settings=base_settings,
                                )
                            outcome = run_perfloop(project, pair, settings, noise.get(key))
                        else:
                            runner = {"pyperf": run_pyperf, "timeit": run_timeit}.get(
                                method, run_naive
                            )
                            plan = plans[(condition, budget)][method]
                            outcome = runner(project, pair, plan, args.min_speedup)
                            plan["loops"] = held_to_budget(plan["loops"], outcome.seconds, budget)
                        tally.outcomes[(method, pair)].append(outcome)
                        if outcome.error:
                            print(f"  {method} {pair}: error {outcome.error}", flush=True)
                busy.stop()
                if (number + 1) % 10 == 0 or number + 1 == args.trials:
                    for condition in conditions:
                        title = f"after {number + 1} rounds, {condition}"
                        print(table(tallies[condition], title, args), flush=True)
                    print("partial:", json.dumps(summary(tallies, conditions, args)), flush=True)
        finally:
            busy.stop()
        floors = [n.floor for n in noise.values() if n.error is None]
        print(
            f"\nnoise floors (A/A, {base_settings.noise_processes} processes): "
            + ", ".join(f"{f:.3f}x" for f in floors)
        )
    print(json.dumps(summary(tallies, conditions, args)))


def summary(
    tallies: dict[str, Tally], conditions: list[str], args: argparse.Namespace
) -> dict[str, object]:
    result = figures(tallies[conditions[0]])
    result["budget_seconds"] = args.budget
    result["detect_budget_seconds"] = args.detect_budget
    result["condition"] = conditions[0]
    if len(conditions) > 1:
        result["loaded"] = figures(tallies["loaded"])
    return result


if __name__ == "__main__":
    main()
