"""What indexing a real project's tests costs, against running the same suite plainly.

    python benchmarks/test_index_overhead.py                       # chardet 5.2.0 (~2-3 min)
    python benchmarks/test_index_overhead.py --libraries chardet==5.2.0,sqlparse==0.4.4
    python benchmarks/test_index_overhead.py --cache /work/sdists  # where sdists are kept

For each pinned library the script downloads its sdist with pip (nothing of it is
committed; kept in the cache folder), unpacks it, and runs its test suite twice:
plainly (`python -m pytest` with the arguments the tests tier passes, as a
subprocess) and through perfloop's tests tier (`index_tests`, a sandboxed worker
that notes which tests execute which of the library's functions). Each run is
timed from the outside, worker start-up included, in CPU seconds of the child
processes (user + system) and in wall-clock seconds. The headline overhead is the
CPU ratio: on a shared machine the wall clock follows the other users' load (a
run measured 287 s plain and 301 s indexed where the same suite takes 63 s alone).

Columns: tests collected, tests failing with the original code, plain CPU
seconds, indexing CPU seconds, their ratio, the wall-clock ratio, the functions
of the library that some passing test executes, and the mechanism that noted
them (`sys.monitoring` from Python 3.12, entry marks compiled into the
library's functions before).

The last line is one JSON object with the first library's figures and the others
under "more": {"library", "plain_s", "index_s", "overhead", "wall_overhead", "tests",
"functions", "mechanism", "more": [...]} (plain_s and index_s in CPU seconds).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

from perfloop.model import Limits
from perfloop.verification.project_tests import PYTEST_ARGS, index_tests, tracing_mechanism

DEFAULT_LIBRARIES = "chardet==5.2.0"


@dataclass(frozen=True)
class Row:
    library: str
    tests: int
    failing: int
    plain_s: float  # CPU seconds
    index_s: float
    plain_wall_s: float
    index_wall_s: float
    functions: int
    problem: str | None

    @property
    def overhead(self) -> float:
        return self.index_s / self.plain_s

    @property
    def wall_overhead(self) -> float:
        return self.index_wall_s / self.plain_wall_s

    def figures(self) -> dict[str, object]:
        return {
            "library": self.library,
            "plain_s": round(self.plain_s, 2),
            "index_s": round(self.index_s, 2),
            "overhead": round(self.overhead, 3),
            "wall_overhead": round(self.wall_overhead, 3),
            "tests": self.tests,
            "functions": self.functions,
            "problem": self.problem,
        }


def unpacked(spec: str, cache: Path) -> Path:
    """The library's source tree, downloaded and unpacked once into `cache`."""
    name, version = spec.split("==")
    folder = cache / "unpacked" / f"{name}-{version}"
    if folder.exists():
        return folder
    sdist = next(cache.glob(f"{name}-{version}.tar.gz"), None)
    if sdist is None:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
        subprocess.run([*command, "--quiet", spec, "-d", str(cache)], check=True)
        sdist = next(cache.glob(f"{name}-{version}.tar.gz"))
    with tarfile.open(sdist) as archive:
        archive.extractall(cache / "unpacked", filter="data")
    return folder


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(spec: str, cache: Path) -> Row:
    root = unpacked(spec, cache)
    cpu, started = children_cpu(), time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pytest", *PYTEST_ARGS],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    plain, plain_wall = children_cpu() - cpu, time.perf_counter() - started
    cpu, started = children_cpu(), time.perf_counter()
    index = index_tests(root, Limits(wall_seconds=3600, cpu_seconds=3700, memory_mb=4096))
    indexing, index_wall = children_cpu() - cpu, time.perf_counter() - started
    return Row(
        spec,
        index.collected,
        index.failing,
        plain,
        indexing,
        plain_wall,
        index_wall,
        len(index.covering),
        index.problem,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--libraries", default=DEFAULT_LIBRARIES, help="pinned, comma-separated")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "perfloop-bench")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    mechanism = tracing_mechanism()
    print(
        f"{'library':18} {'tests':>6} {'fail':>5} {'plain cpu':>9} {'index cpu':>9} "
        f"{'ratio':>6} {'wall ratio':>10} {'functions':>9}  mechanism"
    )
    rows = []
    for spec in args.libraries.split(","):
        row = measure(spec.strip(), args.cache)
        rows.append(row)
        print(
            f"{row.library:18} {row.tests:6} {row.failing:5} {row.plain_s:9.1f} "
            f"{row.index_s:9.1f} {row.overhead:6.2f} {row.wall_overhead:10.2f} "
            f"{row.functions:9}  {mechanism}"
        )
        if row.problem:
            print(f"  {row.library}: {row.problem}")
    headline = {**rows[0].figures(), "mechanism": mechanism}
    headline["more"] = [r.figures() for r in rows[1:]]
    print(json.dumps(headline))


if __name__ == "__main__":
    main()
