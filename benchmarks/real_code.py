"""perfloop's rules on code nobody here wrote: the pure-Python benchmarks of pyperformance.

    python benchmarks/real_code.py                        # 13 benchmarks, about 20-30 minutes
    python benchmarks/real_code.py --benchmarks nbody,go  # some of them
    python benchmarks/real_code.py --top 5 --keep         # more targets; keep the scratch dir

The PyPI wheel of pyperformance ships the source of its benchmarks
(`pyperformance/data-files/benchmarks/bm_*/run_benchmark.py`). This script
downloads the wheel with pip (nothing of pyperformance is committed), copies each
chosen benchmark into its own scratch project as `bm_<name>.py`, and writes a
`workload.py` that imports it, calls its benchmark code directly with a fixed
size (about 1-3 s), and prints a checksum of the result. The benchmark module is
imported, not run as a script, so its functions are perfloop targets; pyperf must
be importable (the benchmarks import it; `pip install pyperf`).

For each benchmark it then runs the workload once (the reference checksum), runs
`perfloop optimize --apply --json --top N` as a real subprocess with perfloop's
rules only (no LLM), runs the workload again on the patched files, and compares
the checksum. A changed checksum is a wrong result applied: the row says so and
the last line's "checksums_held" is false.

Columns: the functions perfloop improved (verified and faster on the recorded
calls), the rule of the best of them with its speedup on those calls [95% CI],
and the whole workload (original against patched, as processes) [95% CI], all
from perfloop's results.json. "Improved" counts benchmarks where a change was
applied and the whole-workload interval lies above 1. The machine may be shared:
whole-workload figures are noisy, and perfloop reports its interval for that.

The last line is one JSON object:
{"benchmarks": N, "improved": N, "geomean_workload_speedup": x, "checksums_held": bool}
with the geometric mean over the improved benchmarks.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

PYPERFORMANCE = "pyperformance==1.14.0"
CHECKSUM = """
import zlib


def checksum(value):
    return f"{zlib.crc32(repr(value).encode()):08x}"
"""

# benchmark -> the workload's body (after `import bm_<name>` and the checksum helper)
WORKLOADS = {
    "nbody": """
        bm_nbody.offset_momentum(bm_nbody.BODIES["sun"])
        energies = [bm_nbody.report_energy()]
        for _ in range(4):
            bm_nbody.advance(0.01, 60000)
            energies.append(bm_nbody.report_energy())
        print("nbody", checksum(energies))
        """,
    "richards": """
        results = [bm_richards.Richards().run(20)]
        area = bm_richards.taskWorkArea
        print("richards", checksum((results, area.holdCount, area.qpktCount)))
        """,
    "fannkuch": """
        print("fannkuch", checksum([bm_fannkuch.fannkuch(9) for _ in range(3)]))
        """,
    "float": """
        print("float", checksum([repr(bm_float.benchmark(100000)) for _ in range(14)]))
        """,
    "nqueens": """
        print("nqueens", checksum([list(bm_nqueens.n_queens(8)) for _ in range(14)]))
        """,
    "hexiom": """
        import io

        outputs = []
        for level in (2, 10, 20, 25, 30) * 3:
            board, _ = bm_hexiom.LEVELS[level]
            stream = io.StringIO()
            bm_hexiom.solve_file(
                board.strip(), bm_hexiom.Done.FIRST_STRATEGY, bm_hexiom.DESCENDING, stream
            )
            outputs.append(stream.getvalue())
        print("hexiom", checksum(outputs))
        """,
    "go": """
        print("go", checksum([bm_go.versus_cpu() for _ in range(10)]))
        """,
    "raytrace": """
        from bm_raytrace import (
            Canvas, CheckerboardSurface, Halfspace, Point, Scene, SimpleSurface, Sphere, Vector,
        )

        canvas = Canvas(200, 200)
        scene = Scene()
        scene.addLight(Point(30, 30, 10))
        scene.addLight(Point(-10, 100, 30))
        scene.lookAt(Point(0, 3, 0))
        scene.addObject(Sphere(Point(1, 3, -10), 2), SimpleSurface(baseColour=(1, 1, 0)))
        for y in range(6):
            scene.addObject(
                Sphere(Point(-3 - y * 0.4, 2.3, -5), 0.4),
                SimpleSurface(baseColour=(y / 6.0, 1 - y / 6.0, 0.5)),
            )
        scene.addObject(Halfspace(Point(0, 0, 0), Vector.UP), CheckerboardSurface())
        scene.render(canvas)
        print("raytrace", checksum(canvas.bytes.tobytes()))
        """,
    "deltablue": """
        marks = []
        for _ in range(20):  # small chains: recorded calls carry the whole constraint graph
            bm_deltablue.delta_blue(1000)
            marks.append(bm_deltablue.planner.current_mark)
        print("deltablue", checksum(marks))
        """,
    "chaos": """
        from bm_chaos import Chaosgame, GVector, Spline

        images = []
        bm_chaos.write_ppm = lambda image, filename: images.append(image)  # no file
        splines = [
            Spline([GVector(1.597350, 3.304460, 0.0), GVector(1.575810, 4.123260, 0.0),
                    GVector(1.313210, 5.288350, 0.0), GVector(1.618900, 5.329910, 0.0),
                    GVector(2.889940, 5.502700, 0.0), GVector(2.373060, 4.381830, 0.0),
                    GVector(1.662000, 4.360280, 0.0)], 3, [0, 0, 0, 1, 1, 1, 2, 2, 2]),
            Spline([GVector(2.804500, 4.017350, 0.0), GVector(2.550500, 3.525230, 0.0),
                    GVector(1.979010, 2.620360, 0.0), GVector(1.979010, 2.620360, 0.0)],
                   3, [0, 0, 0, 1, 1, 1]),
            Spline([GVector(2.001670, 4.011320, 0.0), GVector(2.335040, 3.312830, 0.0),
                    GVector(2.366800, 3.233460, 0.0), GVector(2.366800, 3.233460, 0.0)],
                   3, [0, 0, 0, 1, 1, 1]),
        ]
        game = Chaosgame(splines, 1.0)
        game.create_image_chaos(256, 256, 60000, "image.ppm", 1234)
        print("chaos", checksum(images))
        """,
    "spectral_norm": """
        u = [1] * 350
        for _ in range(10):
            v = bm_spectral_norm.eval_AtA_times_u(u)
            u = bm_spectral_norm.eval_AtA_times_u(v)
        vBv = vv = 0
        for ue, ve in zip(u, v):
            vBv += ue * ve
            vv += ve * ve
        print("spectral_norm", checksum((vBv, vv)))
        """,
    "pidigits": """
        print("pidigits", checksum(bm_pidigits.calc_ndigits(5000)))
        """,
    "meteor_contest": """
        board, cti, pieces = bm_meteor_contest.get_puzzle(
            bm_meteor_contest.WIDTH, bm_meteor_contest.HEIGHT
        )
        fps = bm_meteor_contest.get_footprints(board, cti, pieces)
        se_nh = bm_meteor_contest.get_senh(board, cti)
        found = []
        for _ in range(10):
            solutions = []
            bm_meteor_contest.solve(
                bm_meteor_contest.SOLVE_ARG, 0, frozenset(range(len(board))), [-1] * len(board),
                list(range(len(pieces))), solutions, fps, se_nh,
            )
            found.append(sorted(solutions))
        print("meteor_contest", checksum(found))
        """,
}
DEFAULT = (
    "nbody", "richards", "fannkuch", "float", "nqueens", "hexiom", "go", "raytrace",
    "deltablue", "chaos", "spectral_norm", "pidigits", "meteor_contest",
)  # fmt: skip


@dataclass(frozen=True)
class Outcome:
    name: str
    improved_functions: int
    best_rule: str
    function_speedup: str
    workload_ratio: float | None
    workload_text: str
    workload_ci_low: float | None
    applied: bool
    checksum_held: bool
    note: str = ""
    targets: tuple[str, ...] = ()  # per target: its status and perfloop's reason

    @property
    def improved(self) -> bool:
        return self.applied and self.workload_ci_low is not None and self.workload_ci_low > 1.0


def fetch_benchmarks(scratch: Path) -> Path:
    """Download the pyperformance wheel with pip and unpack its benchmark sources."""
    wheels = scratch / "wheel"
    subprocess.run(
        [sys.executable, "-m", "pip", "download", PYPERFORMANCE, "--no-deps", "--quiet",
         "--dest", str(wheels)],
        check=True,
    )  # fmt: skip
    [wheel] = wheels.glob("pyperformance-*.whl")
    unpacked = scratch / "pyperformance"
    with zipfile.ZipFile(wheel) as archive:
        members = [m for m in archive.namelist() if "/data-files/benchmarks/bm_" in m]
        archive.extractall(unpacked, members)
    return unpacked / "pyperformance" / "data-files" / "benchmarks"


def make_project(benchmarks: Path, name: str, projects: Path) -> Path:
    project = projects / name
    project.mkdir(parents=True)
    shutil.copy(benchmarks / f"bm_{name}" / "run_benchmark.py", project / f"bm_{name}.py")
    body = textwrap.dedent(WORKLOADS[name]).strip()
    workload = f'"""Workload for bm_{name}: fixed size, prints a checksum."""\n'
    workload += f"{CHECKSUM}\nimport bm_{name}\n\n{body}\n"
    (project / "workload.py").write_text(workload, encoding="utf-8")
    return project


def run_workload(project: Path) -> tuple[str, float]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "workload.py"], cwd=project, capture_output=True, text=True, timeout=600
    )
    if done.returncode != 0:
        raise RuntimeError(f"the workload of {project.name} failed:\n{done.stderr[-2000:]}")
    return done.stdout, time.perf_counter() - start


def optimize(project: Path, top: int, timeout: float) -> dict[str, object]:
    perfloop = Path(sys.executable).with_name("perfloop")
    command = [str(perfloop)] if perfloop.exists() else [sys.executable, "-m", "perfloop"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERFLOOP_LLM")}
    done = subprocess.run(
        [*command, "optimize", "--workload", "python workload.py", "--apply", "--json",
         "--top", str(top)],
        cwd=project, capture_output=True, text=True, timeout=timeout, env=env,
    )  # fmt: skip
    (project / "perfloop.stderr").write_text(done.stderr, encoding="utf-8")
    if done.returncode != 0:
        raise RuntimeError(f"perfloop failed on {project.name}: {done.stderr[-2000:]}")
    return json.loads(done.stdout)


def summarise(name: str, results: dict[str, object], held: bool) -> Outcome:
    targets = [t for t in results["targets"] if t["status"] == "improved"]  # type: ignore[index,union-attr]
    best = max(targets, key=lambda t: t["best"]["speedup"], default=None)
    if best is not None:
        b = best["best"]
        rule = b["origin"].replace("rule:", "").replace("rules:", "")
        function = f"{b['speedup']:.2f}× [{b['ci'][0]:.2f}, {b['ci'][1]:.2f}]"
    else:
        rule, function = "-", "-"
    workload = results.get("workload_speedup")
    applied = bool(results.get("applied"))
    if isinstance(workload, dict) and applied:
        ratio, (low, high) = workload["ratio"], workload["ci"]
        text = f"{ratio:.2f}× [{low:.2f}, {high:.2f}]"
    else:
        ratio, low, text = None, None, "- (nothing applied)"
    verdicts = tuple(
        f"{t['function']} ({t['share']:.0%}): {t['status']}"
        + (f", {t['best']['origin']}" if t["status"] == "improved" else f": {t.get('reason')}")
        for t in results["targets"]  # type: ignore[union-attr]
    )
    return Outcome(
        name, len(targets), rule, function, ratio, text, low, applied, held, targets=verdicts
    )


def geometric_mean(values: list[float]) -> float | None:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--benchmarks", default=",".join(DEFAULT), help="comma-separated")
    parser.add_argument("--top", type=int, default=3, help="perfloop --top (3)")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per benchmark")
    parser.add_argument("--workdir", type=Path, help="scratch directory (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args()
    names = [n.strip() for n in args.benchmarks.split(",") if n.strip()]
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        parser.error(f"no workload for {', '.join(unknown)}; known: {', '.join(WORKLOADS)}")
    try:
        import pyperf  # noqa: F401  (the benchmarks import it)
    except ImportError:
        parser.error("the benchmarks import pyperf: pip install pyperf")

    scratch = args.workdir or Path(tempfile.mkdtemp(prefix="perfloop-real-code-"))
    scratch.mkdir(parents=True, exist_ok=True)
    print(f"scratch directory: {scratch}", file=sys.stderr)
    benchmarks = fetch_benchmarks(scratch)
    outcomes: list[Outcome] = []
    try:
        for name in names:
            project = make_project(benchmarks, name, scratch / "projects")
            before, seconds = run_workload(project)
            print(f"{name}: workload {seconds:.1f} s, optimizing...", file=sys.stderr)
            started = time.perf_counter()
            try:
                results = optimize(project, args.top, args.timeout)
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                held = run_workload(project)[0] == before
                note = " ".join(str(exc).split())[:400]
                outcomes.append(Outcome(name, 0, "-", "-", None, "-", None, False, held, note))
                print(f"{name}: {exc}", file=sys.stderr)
                continue
            (project / "results.json").write_text(json.dumps(results, indent=1))
            after, _ = run_workload(project)
            outcome = summarise(name, results, held=after == before)
            outcomes.append(outcome)
            print(f"{name}: done in {time.perf_counter() - started:.0f} s, "
                  f"{outcome.improved_functions} improved, checksum held: {outcome.checksum_held}",
                  file=sys.stderr)  # fmt: skip
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(scratch, ignore_errors=True)

    header = ("benchmark", "improved", "best rule", "function speedup [CI]",
              "whole workload [CI]", "checksum unchanged")  # fmt: skip
    rows = [
        (o.name, str(o.improved_functions), o.best_rule, o.function_speedup, o.workload_text,
         "yes" if o.checksum_held else "NO: WRONG RESULT APPLIED")
        for o in outcomes
    ]  # fmt: skip
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths)))
    print("-+-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(c.ljust(w) for c, w in zip(row, widths)))
    print("\nper target (share of the workload's time: what perfloop decided, and why):")
    for o in outcomes:
        if o.note:
            print(f"  {o.name}: {o.note}")
        for line in o.targets:
            print(f"  {o.name}: {line[:300]}")
    improved = [o for o in outcomes if o.improved]
    mean = geometric_mean([o.workload_ratio for o in improved if o.workload_ratio])
    print(
        json.dumps(
            {
                "benchmarks": len(outcomes),
                "improved": len(improved),
                "geomean_workload_speedup": round(mean, 3) if mean else None,
                "checksums_held": all(o.checksum_held for o in outcomes),
            }
        )
    )


if __name__ == "__main__":
    main()
