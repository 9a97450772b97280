"""How much perfloop slows a workload while it watches it, beside the usual profilers.

    python benchmarks/probe_overhead.py --python 3.11=.venv/bin/python \\
        --python 3.12=.venv312/bin/python --repeats 5

Each interpreter must have perfloop installed (from this checkout); cProfile is in
the standard library; line_profiler and py-spy are installed into it with pip when
absent (the table says when one cannot be). Per interpreter and workload (the
bundled example examples/shop, and the real libraries chardet 5.2.0 and tabulate
0.9.0 from pinned PyPI sdists, with the workloads of benchmarks/real_libraries.py)
it first profiles once and takes the five hottest functions perfloop can target,
then times, in alternating order, `--repeats` rounds of:

- plain: the workload alone (`python workload.py`), its bytecode cached as on a
  user's second run (in a cache of the benchmark's own, PYTHONDONTWRITEBYTECODE
  unset; so are cProfile, line_profiler and py-spy);
- runner: perfloop's way of running it with no probe (its import report on, and
  its shared bytecode cache, see perfloop.bytecode): the floor under profile,
  capture and lines;
- profile: perfloop's function profile (cProfile in every process of the workload);
- capture: perfloop's capture of the five targets (max_calls 200, the default; given
  the profile's call counts, as `perfloop optimize` does);
- lines: perfloop's line profile of the five targets;
- cProfile: `python -m cProfile -o FILE workload.py`;
- line_profiler: its LineProfiler on the five targets (what `kernprof -l` does);
- py-spy: `py-spy record --rate 100` (a sampling profiler in another process).

Each is the wall time of the whole thing a user waits for (process start and
perfloop's own reading of the results included); a figure is the median over the
rounds of (its time / the plain time of the same round). The machine may be shared:
the alternating order puts the noise on every column alike. The last line is one
JSON object: capture_overhead_311, capture_overhead_312, profile_overhead_312 (and
the rest per interpreter), each the median ratio over the workloads' medians.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
MODES = ("plain", "runner", "profile", "capture", "lines", "cProfile", "line_profiler", "py-spy")
TARGETS = 5

LINE_PROFILER_RUNNER = """
import importlib, runpy, sys
from line_profiler import LineProfiler

profiler = LineProfiler()
output, script, refs = sys.argv[1], sys.argv[2], sys.argv[3:]
for ref in refs:
    module, qualname = ref.split(":")
    owner = importlib.import_module(module)
    for part in qualname.split("."):
        name = part
        if isinstance(owner, type) and part.startswith("__") and not part.endswith("__"):
            name = f"_{owner.__name__.lstrip('_')}{part}"
        owner = vars(owner)[name] if isinstance(owner, type) else getattr(owner, name)
    owner = getattr(owner, "__func__", owner)
    profiler.add_function(getattr(owner, "fget", owner))
sys.argv = [script]
profiler.enable_by_count()
try:
    runpy.run_path(script, run_name="__main__")
finally:
    profiler.disable_by_count()
    profiler.dump_stats(output)  # outside the project
"""


def workloads(cache: Path) -> dict[str, tuple[Path, str]]:
    """name -> (project root, workload command); the real libraries unpacked from sdists."""
    sys.path.insert(0, str(CHECKOUT / "benchmarks"))
    sys.path.insert(0, str(CHECKOUT / "tests"))
    from pypi_sdists import cached_sdist, unpacked
    from real_libraries import CHECKSUM, LIBRARIES

    found = {"shop": (CHECKOUT / "examples" / "shop", "python bench.py")}
    for name in ("chardet", "tabulate"):
        library = LIBRARIES[name]
        version = library.spec.split("==")[1]
        root = unpacked(cached_sdist(library.spec, f"{name}-{version}.tar.gz"), cache / name)
        (root / "workload.py").write_text(CHECKSUM + textwrap.dedent(library.workload))
        found[name] = (root, "python workload.py")
    return found


def ensure_tools(python: str) -> dict[str, str]:
    """line_profiler and py-spy in `python`'s environment: installed, or why not."""
    missing: dict[str, str] = {}
    checks = {
        "line_profiler": [python, "-c", "import line_profiler"],
        "py-spy": [str(Path(python).parent / "py-spy"), "--version"],
    }
    for tool, check in checks.items():
        if _succeeds(check):
            continue
        install = subprocess.run(
            [python, "-m", "pip", "install", "--quiet", tool.replace("-", "_")
             if tool == "line_profiler" else tool],
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        if install.returncode != 0 or not _succeeds(check):
            missing[tool] = f"not installable: {install.stderr.strip()[-200:] or 'unknown'}"
    return missing


def _succeeds(command: list[str]) -> bool:
    try:
        return subprocess.run(command, capture_output=True, timeout=120).returncode == 0
    except OSError:
        return False


# --- inside one interpreter ---------------------------------------------------------


def measure(name: str, root: Path, command: str, repeats: int, missing: set[str]) -> dict:
    """Ratios to the plain workload for every mode, measured in this interpreter."""
    from perfloop.capture import capture_calls, counts_to_plan
    from perfloop.profile import line_profile, profile_workload
    from perfloop.workload import RuntimeSpec, run_workload

    profile = profile_workload(command, root)
    hot = [f for f in profile.functions if not f.not_targetable][:TARGETS]
    targets = [f.function for f in hot]
    paths = {f.function: root / f.path for f in hot}
    expected = counts_to_plan(hot, targets)
    script = command.split()[1]
    bin_dir = Path(sys.executable).parent

    def run(argv: list[str], where: Path, env: dict[str, str] | None = None) -> None:
        done = subprocess.run(
            argv, cwd=where, capture_output=True, text=True, timeout=1800, env=env or warm
        )
        if done.returncode != 0:
            raise RuntimeError(f"{argv} failed: {done.stderr[-500:]}")

    def timed(mode: str, scratch: Path) -> float:
        start = time.perf_counter()
        if mode == "plain":
            run([sys.executable, script], root)
        elif mode == "runner":
            run_workload(command, root, spec=RuntimeSpec())
        elif mode == "profile":
            profile_workload(command, root)
        elif mode == "capture":
            capture_calls(command, root, targets, expected_calls=expected)
        elif mode == "lines":
            line_profile(command, root, targets, paths)
        elif mode == "cProfile":
            run([sys.executable, "-m", "cProfile", "-o", str(scratch / "c.prof"), script], root)
        elif mode == "line_profiler":
            runner = scratch / "run_line_profiler.py"
            runner.write_text(LINE_PROFILER_RUNNER)
            env = {**warm, "PYTHONPATH": str(root)}  # the runner imports the targets
            output = str(scratch / "line_profiler.lprof")
            run([sys.executable, str(runner), output, script, *map(str, targets)], root, env)
        elif mode == "py-spy":
            out = scratch / "spy.txt"
            run([str(bin_dir / "py-spy"), "record", "--rate", "100", "--format", "raw",
                 "-o", str(out), "--", sys.executable, script], root)  # fmt: skip
        return time.perf_counter() - start

    modes = [m for m in MODES if m not in missing]
    times: dict[str, list[float]] = {m: [] for m in modes}
    with tempfile.TemporaryDirectory(prefix="probe-overhead-") as tmp:
        # the tools other than perfloop run the workload with its bytecode cached, as a
        # user's second run has it (not in the project: a cache of the benchmark's own)
        warm = {**os.environ, "PYTHONPYCACHEPREFIX": str(Path(tmp) / "pycache")}
        warm.pop("PYTHONDONTWRITEBYTECODE", None)
        run([sys.executable, script], root)  # fills that cache; not timed
        for round_number in range(repeats):
            shift = round_number % len(modes)  # alternate the order round by round
            for mode in modes[shift:] + modes[:shift]:
                try:
                    times[mode].append(timed(mode, Path(tmp)))
                except (RuntimeError, subprocess.TimeoutExpired) as exc:
                    missing.add(mode)
                    times.pop(mode, None)
                    print(f"{name}: {mode} failed: {exc}", file=sys.stderr)
            modes = [m for m in modes if m in times]
    plain = times["plain"]
    ratios = {
        mode: statistics.median(t / p for t, p in zip(values, plain))
        for mode, values in times.items()
        if mode != "plain"
    }
    return {
        "python": sys.version.split()[0],
        "plain_seconds": statistics.median(plain),
        "ratios": ratios,
        "targets": [str(t) for t in targets],
        "missing": sorted(missing),
    }


# --- the driver -------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", action="append", default=[], metavar="VERSION=PATH")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workloads", default="shop,chardet,tabulate")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # name=root=command
    parser.add_argument("--missing", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:  # a child run inside one interpreter
        name, root, command = args.measure.split("=", 2)
        missing = set(filter(None, args.missing.split(",")))
        print(json.dumps(measure(name, Path(root), command, args.repeats, missing)))
        return
    interpreters = dict(item.split("=", 1) for item in args.python) or {
        f"{sys.version_info.major}.{sys.version_info.minor}": sys.executable
    }
    cache = Path(tempfile.mkdtemp(prefix="probe-overhead-libs-"))
    try:
        chosen = {k: v for k, v in workloads(cache).items() if k in args.workloads.split(",")}
        results: dict[str, dict[str, dict]] = {}
        notes: list[str] = []
        for version, python in interpreters.items():
            missing = ensure_tools(python)
            notes += [f"{version}: {tool} {why}" for tool, why in missing.items()]
            for name, (root, command) in chosen.items():
                done = subprocess.run(
                    [python, __file__, "--measure", f"{name}={root}={command}",
                     "--repeats", str(args.repeats), "--missing", ",".join(missing)],
                    capture_output=True, text=True, timeout=7200,
                )  # fmt: skip
                if done.returncode != 0:
                    notes.append(f"{version} {name}: failed: {done.stderr.strip()[-300:]}")
                    continue
                sys.stderr.write(done.stderr)
                results.setdefault(version, {})[name] = json.loads(done.stdout.splitlines()[-1])
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    report(results, notes, args.repeats)


def report(results: dict[str, dict[str, dict]], notes: list[str], repeats: int) -> None:
    print(f"Wall time under each tool / the workload alone: median of {repeats} alternating rounds")
    header = f"{'python':<7}{'workload':<10}{'plain s':>8}" + "".join(f"{m:>14}" for m in MODES[1:])
    print(header)
    print("-" * len(header))
    headline: dict[str, float | None] = {}
    for version, by_name in results.items():
        for name, result in by_name.items():
            cells = "".join(
                f"{result['ratios'][m]:>13.2f}x" if m in result["ratios"] else f"{'n/a':>14}"
                for m in MODES[1:]
            )
            print(f"{version:<7}{name:<10}{result['plain_seconds']:>8.2f}{cells}")
        tag = version.replace(".", "")
        for mode in MODES[1:]:
            values = [r["ratios"][mode] for r in by_name.values() if mode in r["ratios"]]
            key = f"{mode.lower().replace('-', '_')}_overhead_{tag}"
            headline[key] = round(statistics.median(values), 3) if values else None
    for version, by_name in results.items():
        for name, result in by_name.items():
            print(f"targets ({version}, {name}): {', '.join(result['targets'])}")
    for note in notes:
        print(f"note: {note}")
    print(json.dumps(headline, sort_keys=True))


if __name__ == "__main__":
    main()
