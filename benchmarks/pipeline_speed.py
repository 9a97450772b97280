"""How long `perfloop optimize` takes with one fresh worker, with the local worker pool of
fresh workers and with the pool of warm workers, and whether all three judge every
candidate the same.

    .venv/bin/python benchmarks/pipeline_speed.py                      # the bundled example
    .venv/bin/python benchmarks/pipeline_speed.py --libraries chardet  # and a real library

For each subject, the bundled example (examples/shop) and any library named from the
real-library bed (benchmarks/real_libraries.py: its pinned sdist, workload and venv), the
script runs the real command as a user would, `perfloop optimize --no-cache --json`, three
times in the same folder, its `.perfloop` removed before each run: `--workers 1
--no-warm-workers` (the behaviour before the pool and warm workers: one candidate at a
time, a new interpreter per task), `--no-warm-workers` with the pool perfloop plans by
default (the CPU count, fewer if memory is short), and the default (that pool, with warm
workers: perfloop.sandbox.warm). The later runs are given the targets the first one chose
(`--function`): which functions rank hottest varies from one profile to the next on a busy
machine, and the runs must do the same work. It records the wall
time, the CPU time of perfloop and every process it waited for (user + sys, from
getrusage), the machine's load average before each run (the machine may be shared: the
load says how far to trust the wall times), and from the run store every candidate's
verdict in the order stored (function, origin, gate, status, tiers run).

It prints a table, then as its last line one JSON object of the headline figures:

    workers (the pool's size), subjects, wall_ratio and cpu_ratio per subject (one fresh
    worker over the warm pool: above 1 means the warm pool is faster),
    fresh_pool_wall_ratio (one fresh worker over the fresh pool), warm_wall_ratio and
    warm_cpu_ratio (the fresh pool over the warm pool: what warm workers add),
    seconds (wall seconds of each run), verdicts_agree per subject (every candidate two
    runs both tried has the same verdict in each), same_order per subject (and the run
    store holds them in the same order), tried_by_one (candidates only some runs tried:
    combinations of rules are searched by measured gain, so timing noise can change which
    are tried), decisions_agree per subject (each target's status and winner, compared
    target by target; they depend on timing too), load_average

A real library takes 10 minutes or more per run: name one at a time on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE.parent / "examples" / "shop"
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))
import real_libraries  # noqa: E402  (the bed's libraries and how to set one up)

from perfloop.sandbox.runner import plan_workers  # noqa: E402  (this checkout's perfloop)

Verdict = tuple[str, str, bool, str | None, str | None]


@dataclass(frozen=True)
class Subject:
    """A project to run perfloop on, and how: the command and its environment."""

    name: str
    root: Path
    perfloop: tuple[str, ...]
    arguments: tuple[str, ...] = ()
    env: dict[str, str] | None = None


@dataclass(frozen=True)
class Timed:
    """One run of `perfloop optimize`: its times, and what it decided."""

    label: str  # "1 fresh", "2 fresh", "2 warm"
    workers: int
    wall: float
    cpu: float
    load: float  # the 1-minute load average just before
    verdicts: tuple[Verdict, ...]
    decisions: tuple[tuple[str, str, str | None], ...]


def example(scratch: Path) -> Subject:
    root = scratch / "shop"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".perfloop", "__pycache__"))
    return Subject("example", root, (sys.executable, "-m", "perfloop"))


def library(name: str, scratch: Path, cache: Path) -> Subject:
    """The library's sdist unpacked, its workload written, a venv with this checkout."""
    known = real_libraries.LIBRARIES.get(name)
    if known is None:
        choices = ", ".join(real_libraries.LIBRARIES)
        sys.exit(f"no library {name!r} in benchmarks/real_libraries.py; choose from {choices}")
    folder = scratch / name
    folder.mkdir()
    project = real_libraries.unpack(real_libraries.fetch_sdist(known.spec, cache), folder / "p")
    real_libraries.write_workload(project, known)
    log(f"{name}: installing into its venv")
    python = real_libraries.make_venv(folder / "venv", project, known)
    return Subject(
        name,
        project,
        (str(python.parent / "perfloop"),),
        ("--workload", "python workload.py"),
        real_libraries.venv_env(python),
    )


def optimize(
    subject: Subject, workers: int, warm: bool, timeout: float, targets: tuple[str, ...] = ()
) -> Timed:
    shutil.rmtree(subject.root / ".perfloop", ignore_errors=True)
    command = [*subject.perfloop, "optimize", "--workers", str(workers), "--no-cache", "--json"]
    command += [] if warm else ["--no-warm-workers"]
    command += [f"--function={target}" for target in targets]
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [*command, *subject.arguments],
        cwd=subject.root,
        env=subject.env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"perfloop optimize failed ({done.returncode}):\n{done.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    document = json.loads(done.stdout)
    decisions = tuple(  # sorted by target: the runs list targets by their own profile's shares
        sorted(
            (t["function"], t["status"], (t["best"] or {}).get("origin"))
            for t in document["targets"]
        )
    )
    label = f"{workers} {'warm' if warm else 'fresh'}"
    return Timed(label, workers, wall, cpu, load, stored_verdicts(subject.root), decisions)


def stored_verdicts(root: Path) -> tuple[Verdict, ...]:
    """Every candidate of the run, in the order the run stored them, with its verdict."""
    with sqlite3.connect(root / ".perfloop" / "perfloop.db") as db:
        rows = db.execute(
            "SELECT function, origin, gate_passed, status, tiers FROM candidates "
            "LEFT JOIN verdicts USING (run_id, candidate_id) ORDER BY candidates.rowid"
        ).fetchall()
    return tuple((f, o, bool(g), s, t) for f, o, g, s, t in rows)


def compared(one: Timed, pool: Timed) -> tuple[bool, bool, list[str]]:
    """Whether every candidate both runs tried got the same verdict, whether the store
    holds those in the same order, and the candidates only one of them tried."""
    first = {v[:2]: v for v in one.verdicts}
    second = {v[:2]: v for v in pool.verdicts}
    both = [key for key in first if key in second]
    agree = all(first[key] == second[key] for key in both)
    order = [key for key in second if key in first] == both
    only = [f"{f} {o}" for f, o in sorted(first.keys() ^ second.keys())]
    return agree, order, only


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def print_table(results: dict[str, list[Timed]]) -> None:
    print(f"{'subject':<10} {'workers':>8} {'wall s':>8} {'CPU s':>8} {'load':>5}  verdicts")
    for name, runs in results.items():
        one = runs[0]
        for run in runs:
            agree = compared(one, run)[0]
            same = "-" if run is one else ("same verdicts" if agree else "verdicts DIFFER")
            counts: dict[str, int] = {}
            for verdict in run.verdicts:
                status = verdict[3] or ("gate" if not verdict[2] else "none")
                counts[status] = counts.get(status, 0) + 1
            summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
            print(
                f"{name:<10} {run.label:>8} {run.wall:>8.1f} {run.cpu:>8.1f} "
                f"{run.load:>5.2f}  {summary} ({same})"
            )
        for run in runs[1:]:
            print(
                f"{'':<10} {one.label + '/' + run.label:>17} wall {one.wall / run.wall:.2f}, "
                f"CPU {one.cpu / run.cpu:.2f}"
            )
            by_key = {v[:2]: v for v in run.verdicts}
            for verdict in one.verdicts:
                other = by_key.get(verdict[:2])
                if other is not None and other != verdict:
                    print(f"  differs: {verdict} with {one.label}, {other} with {run.label}")
            for only in compared(one, run)[2]:
                print(f"  tried by one run only (chosen by measured gain): {only}")
            decided = {function: decision for function, *decision in run.decisions}
            for function, *decision in one.decisions:
                if decided.get(function) != decision:
                    print(
                        f"  decided for {function}: {decision} with {one.label}, "
                        f"{decided.get(function)} with {run.label}"
                    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--libraries", default="", help="real-library bed names, comma-separated")
    parser.add_argument("--no-example", action="store_true", help="leave out the example")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "perfloop-bench",
                        help="where sdists are kept (~/.cache/perfloop-bench)")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds for one run")
    args = parser.parse_args()
    pool = plan_workers(None, 2048)
    if pool.count < 2:
        log(f"only {pool.count} worker fits on this machine: the two runs are the same")
    results: dict[str, list[Timed]] = {}
    with tempfile.TemporaryDirectory(prefix="perfloop-speed-") as tmp:
        scratch = Path(tmp)
        subjects = [] if args.no_example else [example(scratch)]
        names = [n.strip() for n in args.libraries.split(",") if n.strip()]
        subjects += [library(name, scratch, args.cache) for name in names]
        for subject in subjects:
            log(f"{subject.name}: perfloop optimize --workers 1 --no-warm-workers")
            one = optimize(subject, 1, False, args.timeout)
            targets = tuple(function for function, _, _ in one.decisions)
            runs = [one]
            for warm in (False, True):
                how = "warm workers" if warm else "--no-warm-workers"
                log(f"{subject.name}: --workers {pool.count}, {how}, on the same targets")
                runs.append(optimize(subject, pool.count, warm, args.timeout, targets))
            results[subject.name] = runs
    print_table(results)
    headline = {
        "workers": pool.count,
        "subjects": list(results),
        "wall_ratio": {n: round(r[0].wall / r[2].wall, 3) for n, r in results.items()},
        "cpu_ratio": {n: round(r[0].cpu / r[2].cpu, 3) for n, r in results.items()},
        "fresh_pool_wall_ratio": {n: round(r[0].wall / r[1].wall, 3) for n, r in results.items()},
        "warm_wall_ratio": {n: round(r[1].wall / r[2].wall, 3) for n, r in results.items()},
        "warm_cpu_ratio": {n: round(r[1].cpu / r[2].cpu, 3) for n, r in results.items()},
        "seconds": {n: {t.label: round(t.wall, 1) for t in r} for n, r in results.items()},
        "verdicts_agree": {n: all(compared(r[0], t)[0] for t in r[1:]) for n, r in results.items()},
        "same_order": {n: all(compared(r[0], t)[1] for t in r[1:]) for n, r in results.items()},
        "tried_by_one": {
            n: len({o for t in r[1:] for o in compared(r[0], t)[2]}) for n, r in results.items()
        },
        "decisions_agree": {
            n: all(r[0].decisions == t.decisions for t in r[1:]) for n, r in results.items()
        },
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(headline))


if __name__ == "__main__":
    main()
