"""perfloop run as a user runs it, on pure-Python libraries from PyPI, with their own tests.

    python benchmarks/real_libraries.py                          # all libraries, about an hour
    python benchmarks/real_libraries.py --libraries chardet,sqlparse --pairs 10 --keep

For each library (a pinned sdist, downloaded with pip into --cache, default
~/.cache/perfloop-bench) the script:

1. unpacks the sdist twice under the scratch folder: `pristine/` (kept as it came)
   and `project/` (where perfloop runs), writes `workload.py` into both: a fixed,
   deterministic use of the library (about 1-3 s plain) that prints a checksum;
2. makes a plain venv for the library and installs, with pip, this checkout of
   perfloop (`-e`), the library from `project/` (`-e`) and what its tests need;
3. runs the workload (the reference checksum) and the library's own tests;
4. runs `perfloop optimize --workload 'python workload.py' --apply --json` with
   default settings in `project/`, the venv's bin first on PATH, as a user would;
5. checks the checksum again, runs the library's tests again, and times the
   whole workload of `pristine/` against `project/` as processes (PYTHONPATH
   picks the tree), alternating the order A B B A, `--pairs` pairs. The ratio
   is pristine / patched CPU time of the child (user + sys, less noisy than wall
   time on a shared machine): the median of the pairs' ratios, and a 95%
   t-interval of the geometric mean from the log ratios;
6. reads perfloop's profile from its run store (.perfloop/perfloop.db) to say
   how many of the ten hottest project functions perfloop could not take, and why.

Per library it prints: targets tried, how many of the top 10 hot functions
perfloop could not take (with the reasons), improved, applied, speedup [CI],
tests before -> after, checksum, minutes, and beside the measured speedup what to expect
of it: the workload speedup perfloop's own figures predict (each improved target's
share of the profile made faster by its measured ratio: 1 / (1 - sum of share x
(1 - 1/ratio)), an upper bound where the targets' times overlap), and the smallest
speedup the pairs could tell from none (the interval's half width as a ratio): a
predicted gain below it cannot show. Where the first `--pairs` pairs are too few for the
predicted gain, more follow, as many as their spread says are needed (up to
`--max-pairs`; Stein's two-stage procedure, see paired_timing). The last line is one JSON object:
{"libraries", "improved", "geomean_workload_speedup", "test_failures_after_apply",
 "checksums_held", "median_minutes"}: "improved" counts libraries where a change
was applied and the interval lies above 1; the geometric mean is over those;
"test_failures_after_apply" counts libraries whose tests passed before and fail
after. The machine may be shared: whole-process timings are noisy, the interval
says how much.

The benchmarks/real_code.py bed (pyperformance) is the other real-code test; this
one adds what pyperformance lacks: packages with real layouts and real test suites.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from perfloop.measure.stats import (  # the checkout's perfloop, not an installed one
    Side,
    abba_schedule,
    log_ratios,
    statistics_median,
    student_t_quantile,
)

CHECKOUT = Path(__file__).resolve().parents[1]
CHECKSUM = """
import zlib


def checksum(value):
    return f"{zlib.crc32(repr(value).encode()):08x}"
"""


@dataclass(frozen=True)
class Library:
    """One library of the bed: what to download, how to use it, how to test it."""

    spec: str  # pinned: NAME==VERSION
    package: str  # the import name, to check which tree a process imported
    shape: str  # the profile shape it stands for
    workload: str  # the body of workload.py, after the checksum helper
    tests: tuple[str, ...]  # the test command's arguments after `python -m`
    test_deps: tuple[str, ...] = ("pytest",)


LIBRARIES: dict[str, Library] = {
    "chardet": Library(
        "chardet==5.2.0",
        "chardet",
        "byte loop",
        """
        import pathlib
        import chardet

        files = sorted(p for p in pathlib.Path("tests").rglob("*") if p.is_file())
        picked = files[::9][:40]
        results = [(p.name, chardet.detect(p.read_bytes()[:6000])) for p in picked]
        print("chardet", len(picked), checksum(results))
        """,
        (
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "test.py",
            # a Hypothesis property that chardet 5.2.0 fails on some inputs; it runs only
            # when hypothesis is importable, and perfloop brings hypothesis into the venv
            "--deselect",
            "test.py::test_detect_all_and_detect_one_should_agree",
        ),
    ),
    "sqlparse": Library(
        "sqlparse==0.5.1",
        "sqlparse",
        "lexer and parser",
        """
        import sqlparse

        parts = []
        for i in range(150):
            parts.append(
                f"select a.id, b.name_{i}, count(*) as n, sum(c.price * {i}) from orders a "
                f"left join customers b on a.cid = b.id and b.region in ('eu', 'us', 'x{i}') "
                f"join items c using (oid) where a.ts > '2020-01-{i % 28 + 1:02d}' and "
                f"(c.qty between {i} and {i * 3} or c.tag like '%{i}%') group by a.id, "
                f"b.name_{i} having count(*) > {i} order by n desc limit {i + 5};"
                f"insert into log (k, v) values ({i}, 'row {i}'), ({i + 1}, null);"
                f"update t{i} set x = x + 1 where y = {i};"
            )
        sql = "\\n".join(parts)
        formatted = sqlparse.format(
            sql, reindent=True, keyword_case="upper", identifier_case="lower"
        )
        statements = [str(s.get_type()) + str(len(s.tokens)) for s in sqlparse.parse(sql)]
        print("sqlparse", len(statements), checksum((formatted, statements)))
        """,
        ("pytest", "-q", "-p", "no:cacheprovider", "tests"),
    ),
    "markdown": Library(
        "Markdown==3.7",
        "markdown",
        "flat profile (block and inline processors)",
        """
        import pathlib
        import markdown

        texts = [p.read_text(encoding="utf-8") for p in sorted(pathlib.Path("docs").rglob("*.md"))]
        html = []
        for _ in range(2):
            extensions = ["extra", "toc", "admonition", "sane_lists", "smarty"]
            md = markdown.Markdown(extensions=extensions)
            html += [md.reset().convert(text) for text in texts]
        print("markdown", len(texts), checksum(html))
        """,
        ("unittest", "discover", "-s", "tests", "-t", "."),
        test_deps=("pyyaml",),
    ),
    "pyparsing": Library(
        "pyparsing==3.1.4",
        "pyparsing",
        "class-heavy parser combinators",
        """
        import pyparsing as pp

        pp.ParserElement.enable_packrat()
        ident = pp.Word(pp.alphas + "_", pp.alphanums + "_")
        call = pp.Forward()
        operand = call | pp.pyparsing_common.number | ident
        expr = pp.infix_notation(
            operand,
            [
                (pp.one_of("- +"), 1, pp.OpAssoc.RIGHT),
                (pp.one_of("* / %"), 2, pp.OpAssoc.LEFT),
                (pp.one_of("+ -"), 2, pp.OpAssoc.LEFT),
                (pp.one_of("< > <= >= == !="), 2, pp.OpAssoc.LEFT),
            ],
        )
        arguments = pp.Optional(pp.delimited_list(expr))
        call <<= pp.Group(ident + pp.Suppress("(") + arguments + pp.Suppress(")"))
        program = pp.OneOrMore(pp.Group(ident + pp.Suppress("=") + expr + pp.Suppress(";")))
        source = "\\n".join(
            f"v{i} = f{i % 7}(a{i} + {i} * (b - {i % 5}), -c{i}) * {i}.5 - g(x, y{i} % 3) >= h{i};"
            for i in range(60)
        )
        parsed = program.parse_string(source, parse_all=True)
        print("pyparsing", len(parsed), checksum(parsed.as_list()))
        """,
        ("pytest", "-q", "-p", "no:cacheprovider", "tests"),
        test_deps=("pytest", "railroad-diagrams", "jinja2"),  # its diagram tests need them
    ),
    "pycparser": Library(
        "pycparser==2.22",
        "pycparser",
        "generated LALR parser and AST visitor",
        """
        from pycparser import c_generator, c_parser

        functions = []
        for i in range(120):
            functions.append(
                f"typedef struct node{i} {{ int key; double w[{i % 5 + 1}]; "
                f"struct node{i} *next; }} node{i}_t;\\n"
                f"static int walk{i}(node{i}_t *n, int limit) {{\\n"
                f"  int total = 0; unsigned char mask = 0x{i % 256:02x};\\n"
                f"  for (int k = 0; n != 0 && k < limit; k++, n = n->next) {{\\n"
                f"    if ((n->key & mask) == {i}) total += n->key * {i} - (int) n->w[0];\\n"
                f"    else switch (k % 3) {{ case 0: total ^= k << 2; break; "
                f"default: total--; }}\\n"
                f"  }}\\n  return total > {i} ? total : -total;\\n}}\\n"
            )
        ast = c_parser.CParser().parse("\\n".join(functions), filename="<workload>")
        generated = c_generator.CGenerator().visit(ast)
        print("pycparser", len(ast.ext), checksum(generated))
        """,
        ("pytest", "-q", "-p", "no:cacheprovider", "tests"),
    ),
    "mpmath": Library(
        "mpmath==1.3.0",
        "mpmath",
        "numeric kernel (multi-precision floats on Python ints)",
        """
        import mpmath
        from mpmath import mp

        mp.dps = 60
        values = []
        for k in range(2, 12):
            values.append(mpmath.zeta(k + mpmath.mpf(1) / 3))
            values.append(
                mpmath.quad(lambda x: mpmath.exp(-x * x) * mpmath.cos(k * x), [0, mpmath.inf])
            )
        values.append(mpmath.findroot(lambda x: mpmath.besselj(0, x), 2.4))
        m = mpmath.matrix([[mpmath.mpf(1) / (i + j + 1) for j in range(12)] for i in range(12)])
        values.append(mpmath.det(m))
        values.append(mpmath.lu_solve(m, mpmath.matrix([mpmath.mpf(k) for k in range(12)])))
        print("mpmath", len(values), checksum([mpmath.nstr(v, 50) for v in values]))
        """,
        (
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "mpmath/tests",
            "-k",
            "not (extra or gammainc or hyper or elliptic or zeta or levin)",
        ),  # the slowest modules left out: the rest still runs in about a minute
    ),
    "ecdsa": Library(
        "ecdsa==0.19.0",
        "ecdsa",
        "crypto kernel (elliptic-curve point arithmetic)",
        """
        import hashlib
        from ecdsa import NIST256p, SECP256k1, SigningKey, VerifyingKey

        signatures = []
        for curve in (NIST256p, SECP256k1):
            for i in range(80):
                key = SigningKey.from_secret_exponent(
                    1234567 + 7919 * i, curve=curve, hashfunc=hashlib.sha256
                )
                message = f"message {i} on {curve.name}".encode()
                signature = key.sign_deterministic(message)
                public = VerifyingKey.from_string(
                    key.get_verifying_key().to_string(), curve=curve, hashfunc=hashlib.sha256
                )
                signatures.append((signature.hex(), public.verify(signature, message)))
        print("ecdsa", len(signatures), checksum(signatures))
        """,
        (
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "src/ecdsa/test_ellipticcurve.py",
            "src/ecdsa/test_numbertheory.py",
            "src/ecdsa/test_ecdsa.py",
            "src/ecdsa/test_keys.py",
        ),  # the other modules run hypothesis for many minutes
        test_deps=("pytest", "six"),
    ),
    "tabulate": Library(
        "tabulate==0.9.0",
        "tabulate",
        "string formatting, many small helpers",
        """
        import tabulate

        rows = [
            [i, f"name {i}", i * 3.14159, None if i % 7 == 0 else -i * 1e-3, "x" * (i % 13),
             i % 2 == 0]
            for i in range(3000)
        ]
        headers = ["id", "name", "value", "small", "pad", "even"]
        formats = ("plain", "simple", "grid", "pipe", "orgtbl", "rst", "html", "latex")
        out = [tabulate.tabulate(rows, headers, tablefmt=f, floatfmt=".4f") for f in formats]
        print("tabulate", len(out), checksum(out))
        """,
        ("pytest", "-q", "-p", "no:cacheprovider", "test"),
    ),
}


@dataclass(frozen=True)
class Tests:
    """The library's own test command: did it pass, and its last line."""

    passed: bool
    summary: str


@dataclass(frozen=True)
class Timing:
    """Pristine / patched CPU time of the whole workload over paired runs."""

    median: float
    low: float
    high: float
    pairs: int
    detectable: float = 1.0  # exp(the interval's half width): smaller gains cannot show


@dataclass(frozen=True)
class Row:
    name: str
    version: str
    shape: str
    plain_seconds: float = 0.0
    tried: int = 0
    refused: tuple[str, ...] = ()  # of the top 10 hot: "function (share): why not"
    verdicts: tuple[str, ...] = ()  # per tried target: its status and why
    improved: int = 0
    applied: bool = False
    timing: Timing | None = None
    expected: float | None = None  # the workload speedup perfloop's figures predict
    tests_before: Tests | None = None
    tests_after: Tests | None = None
    checksum_held: bool = True
    minutes: float = 0.0
    failure: str = ""  # perfloop (or the setup) failed: the message
    notes: tuple[str, ...] = field(default=())

    @property
    def speedup_text(self) -> str:
        if self.timing is None:
            return "-" if not self.applied else "not timed"
        t = self.timing
        return f"{t.median:.3f}× [{t.low:.3f}, {t.high:.3f}] ({t.pairs} pairs)"

    @property
    def expected_text(self) -> str:
        """What perfloop's figures predict, and what the pairs could see at least."""
        if self.expected is None:
            return "-"
        sees = f", sees >= {self.timing.detectable:.3f}×" if self.timing else ""
        return f"{self.expected:.3f}×{sees}"

    @property
    def workload_improved(self) -> bool:
        return self.applied and self.timing is not None and self.timing.low > 1.0

    @property
    def tests_broken(self) -> bool:
        before, after = self.tests_before, self.tests_after
        return bool(before and before.passed and after and not after.passed)


# --- steps ------------------------------------------------------------------------------


def run(command: list[str], cwd: Path, timeout: float, env: dict[str, str] | None = None):
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env
    )


def _cached(cache: Path, spec: str) -> Path | None:
    """The sdist of NAME==VERSION in `cache` (pip names files by the normalised name)."""
    name, version = spec.split("==")
    for path in cache.glob("*.tar.gz"):
        dist, _, found = path.name.removesuffix(".tar.gz").rpartition("-")
        if found == version and _normal(dist) == _normal(name):
            return path
    return None


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def fetch_sdist(spec: str, cache: Path) -> Path:
    """The sdist of `spec` from the cache, downloaded with pip the first time."""
    if (cached := _cached(cache, spec)) is not None:
        return cached
    cache.mkdir(parents=True, exist_ok=True)
    done = run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
         "--quiet", spec, "-d", str(cache)],
        cache, 600,
    )  # fmt: skip
    cached = _cached(cache, spec)
    if done.returncode != 0 or cached is None:
        raise RuntimeError(f"pip could not download the sdist of {spec}: {done.stderr[-800:]}")
    return cached


def unpack(sdist: Path, destination: Path) -> Path:
    """Extract the sdist into `destination` (its single top folder becomes `destination`)."""
    staging = destination.with_name(destination.name + ".unpack")
    with tarfile.open(sdist) as archive:
        archive.extractall(staging, filter="data")
    [top] = list(staging.iterdir())
    top.rename(destination)
    staging.rmdir()
    (destination / ".python-version").unlink(missing_ok=True)  # pyenv reads it (sqlparse)
    return destination


def write_workload(tree: Path, library: Library) -> None:
    body = textwrap.dedent(library.workload).strip()
    text = f'"""perfloop bench workload for {library.spec}: prints a checksum."""\n'
    (tree / "workload.py").write_text(f"{text}{CHECKSUM}\n{body}\n", encoding="utf-8")


def make_venv(venv: Path, project: Path, library: Library) -> Path:
    """A plain venv with this perfloop checkout and the library installed editable."""
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    done = run(
        [str(python), "-m", "pip", "install", "--quiet", "-e", str(CHECKOUT),
         "-e", str(project), *library.test_deps],
        project, 1200,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"pip install failed: {done.stderr[-1500:]}")
    return python


def venv_env(python: Path, pythonpath: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PERFLOOP_", "PYTHON"))}
    env["PATH"] = f"{python.parent}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(python.parent.parent)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return env


def import_root(tree: Path, package: str) -> Path:
    """The folder on sys.path for `package` in this tree (the sdist root, or src/)."""
    for root in (tree, tree / "src"):
        if (root / package).is_dir() or (root / f"{package}.py").is_file():
            return root
    raise RuntimeError(f"no {package} package in {tree}")


def run_workload(python: Path, tree: Path, package: str) -> tuple[str, float]:
    """The workload's stdout and its child CPU seconds, importing `package` from `tree`."""
    env = venv_env(python, import_root(tree, package))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = run([str(python), "workload.py"], tree, 600, env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"the workload failed in {tree}: {done.stderr[-1500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return done.stdout, cpu


def check_imports_from(python: Path, tree: Path, package: str) -> None:
    """Fail unless a process given this tree's PYTHONPATH imports `package` from it."""
    env = venv_env(python, import_root(tree, package))
    code = f"import {package}; print({package}.__file__)"
    done = run([str(python), "-c", code], tree, 60, env)
    if done.returncode != 0 or not Path(done.stdout.strip()).resolve().is_relative_to(tree):
        raise RuntimeError(f"{package} does not import from {tree}: {done.stdout}{done.stderr}")


def run_tests(python: Path, tree: Path, library: Library, timeout: float) -> Tests:
    try:
        done = run([str(python), "-m", *library.tests], tree, timeout, venv_env(python))
    except subprocess.TimeoutExpired:
        return Tests(False, f"timed out after {timeout:.0f} s")
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    words = ("passed", "failed", "OK", "FAILED", "error")
    found = (line for line in reversed(lines) if any(w in line for w in words))
    summary = next(found, lines[-1] if lines else "")
    return Tests(done.returncode == 0, summary.strip()[:160])


def optimize(python: Path, project: Path, extra: list[str], timeout: float) -> dict:
    command = [str(python.parent / "perfloop"), "optimize", "--workload", "python workload.py",
               "--apply", "--json", *extra]  # fmt: skip
    done = run(command, project, timeout, venv_env(python))
    (project.parent / "perfloop.stderr").write_text(done.stderr, encoding="utf-8")
    (project.parent / "perfloop.stdout").write_text(done.stdout, encoding="utf-8")
    if done.returncode != 0:
        raise RuntimeError(f"perfloop exited {done.returncode}: {done.stderr.strip()[-1500:]}")
    return json.loads(done.stdout)


def profile_rows(project: Path, run_id: str, top: int = 10) -> list[tuple[str, float, str | None]]:
    """(function, share, why not targetable) of the `top` hottest functions perfloop saw."""
    with sqlite3.connect(project / ".perfloop" / "perfloop.db") as db:
        return db.execute(
            "SELECT function, share, not_targetable FROM profile_rows WHERE run_id=? "
            "ORDER BY self_seconds DESC LIMIT ?",
            (run_id, top),
        ).fetchall()


def paired_timing(
    python: Path,
    pristine: Path,
    patched: Path,
    package: str,
    pairs: int,
    expected: float | None = None,
    max_pairs: int = 0,
) -> Timing:
    """Pristine / patched CPU time, alternating A B B A; median and a 95% interval.

    In two stages (Stein's two-stage procedure, 1945): `pairs` pairs first. Where perfloop
    predicts a workload gain (`expected`) that an interval of those pairs is too wide to
    show, more pairs follow: as many as the first stage's spread says an interval half as
    wide as the predicted gain needs, at most `max_pairs` in all. The interval is the mean
    of every pair's log ratio, plus or minus the t quantile of the first stage's degrees of
    freedom times the first stage's spread over the square root of all the pairs: how many
    pairs run depends only on that spread and the prediction, never on the ratio measured,
    so the interval keeps its coverage (stopping when a ratio looks good would not).
    """
    trees = {Side.BASELINE: pristine, Side.CANDIDATE: patched}
    logs = _paired_log_ratios(python, trees, package, pairs)
    spread = _spread(logs)
    quantile = student_t_quantile(0.975, pairs - 1)
    if expected is not None and expected > 1 and max_pairs > pairs:
        wanted = math.log(expected) / 2  # the half width that shows the predicted gain
        needed = math.ceil((quantile * spread / wanted) ** 2) if spread > 0 else pairs
        more = min(max_pairs, needed) - pairs
        if more > 0:
            log(
                f"  {more} more pairs: perfloop predicts {expected:.3f}x, the first {pairs} "
                f"could tell >= {math.exp(quantile * spread / math.sqrt(pairs)):.3f}x from none"
            )
            logs += _paired_log_ratios(python, trees, package, more)
    mean = math.fsum(logs) / len(logs)
    half = quantile * spread / math.sqrt(len(logs))
    median = math.exp(statistics_median(logs))
    low, high = math.exp(mean - half), math.exp(mean + half)
    return Timing(median, low, high, len(logs), math.exp(half))


def _paired_log_ratios(
    python: Path, trees: dict[Side, Path], package: str, pairs: int
) -> list[float]:
    times: dict[tuple[int, Side], float] = {}
    for pair, side in abba_schedule(pairs):
        times[pair, side] = run_workload(python, trees[side], package)[1]
    return log_ratios([(times[i, Side.BASELINE], times[i, Side.CANDIDATE]) for i in range(pairs)])


def _spread(logs: list[float]) -> float:
    mean = math.fsum(logs) / len(logs)
    return math.sqrt(math.fsum((x - mean) ** 2 for x in logs) / (len(logs) - 1))


def expected_speedup(targets: list[dict]) -> float | None:
    """The workload speedup perfloop's own figures predict: each improved target's share
    of the profile made faster by its measured ratio (an upper bound where the targets'
    times overlap, a function and one it calls). None when nothing improved."""
    saved = math.fsum(
        t["share"] * (1 - 1 / t["best"]["speedup"])
        for t in targets
        if t["status"] == "improved" and t.get("best") and t["best"].get("speedup")
    )
    return 1 / (1 - saved) if 0 < saved < 1 else None


def verdict_line(target: dict) -> str:
    text = f"{target['function']} ({target['share']:.0%}, {target['calls_recorded']} calls): "
    if target["status"] == "improved":
        best = target["best"]
        return text + f"improved by {best['origin']} {best['speedup']:.2f}×"
    return text + f"{target['status']}: {target.get('reason')}"


def bench_library(name: str, library: Library, args: argparse.Namespace) -> Row:
    started = time.perf_counter()
    version = library.spec.split("==")[1]
    folder = args.scratch / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    sdist = fetch_sdist(library.spec, args.cache)
    pristine, project = unpack(sdist, folder / "pristine"), unpack(sdist, folder / "project")
    for tree in (pristine, project):
        write_workload(tree, library)
    log(f"{name}: installing into its venv")
    python = make_venv(folder / "venv", project, library)
    for tree in (pristine, project):
        check_imports_from(python, tree, library.package)
    reference, plain = run_workload(python, project, library.package)
    log(f"{name}: workload {plain:.1f} s CPU; running its tests")
    tests_before = run_tests(python, project, library, args.test_timeout)
    log(f"{name}: tests {tests_before.summary}; perfloop optimize --apply")
    base = Row(name, version, library.shape, plain, tests_before=tests_before)
    try:
        results = optimize(python, project, args.perfloop_args, args.timeout)
    except (RuntimeError, subprocess.TimeoutExpired, json.JSONDecodeError) as exc:
        held = run_workload(python, project, library.package)[0] == reference
        failure = " ".join(str(exc).split())[-600:]
        minutes = (time.perf_counter() - started) / 60
        return replace(base, failure=failure, checksum_held=held, minutes=minutes)
    targets = results["targets"]
    refused = tuple(
        f"{function} ({share:.0%}): {why}"
        for function, share, why in profile_rows(project, results["run_id"])
        if why
    )
    after, _ = run_workload(python, project, library.package)
    applied = bool(results.get("applied"))
    tests_after = (
        run_tests(python, project, library, args.test_timeout) if applied else tests_before
    )
    timing = None
    expected = expected_speedup(targets)
    if applied and after == reference:
        log(f"{name}: timing pristine against patched, {args.pairs} pairs")
        timing = paired_timing(
            python, pristine, project, library.package, args.pairs, expected, args.max_pairs
        )
    return Row(
        name, version, library.shape, plain,
        tried=len(targets),
        refused=refused,
        verdicts=tuple(verdict_line(t) for t in targets),
        improved=sum(t["status"] == "improved" for t in targets),
        applied=applied,
        timing=timing,
        expected=expected,
        tests_before=tests_before,
        tests_after=tests_after,
        checksum_held=after == reference,
        minutes=(time.perf_counter() - started) / 60,
        notes=tuple(results.get("notes", ())),
    )  # fmt: skip


# --- output -----------------------------------------------------------------------------


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def tests_text(row: Row) -> str:
    before, after = row.tests_before, row.tests_after
    if before is None:
        return "-"
    word = {True: "pass", False: "FAIL"}
    if after is None or after is before:
        return f"{word[before.passed]} (not rerun)" if after is before else word[before.passed]
    return f"{word[before.passed]} -> {word[after.passed]}"


def print_table(rows: list[Row]) -> None:
    header = ("library", "shape", "tried", "top10 refused", "improved", "applied",
              "workload speedup [95% CI]", "expected", "tests", "checksum", "min")  # fmt: skip
    table = [
        (f"{r.name} {r.version}", r.shape[:28], str(r.tried), str(len(r.refused)),
         str(r.improved), "yes" if r.applied else "no", r.speedup_text, r.expected_text,
         tests_text(r),
         "held" if r.checksum_held else "CHANGED", f"{r.minutes:.1f}")
        for r in rows
    ]  # fmt: skip
    widths = [max(len(line[i]) for line in (header, *table)) for i in range(len(header))]
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths)))
    print("-+-".join("-" * w for w in widths))
    for line in table:
        print(" | ".join(c.ljust(w) for c, w in zip(line, widths)))
    print()
    for r in rows:
        if r.failure:
            print(f"{r.name}: perfloop failed: {r.failure}")
        for line in r.verdicts:
            print(f"{r.name}: tried {line[:400]}")
        for line in r.refused:
            print(f"{r.name}: top-10 not taken: {line[:300]}")
        for line in r.notes:
            print(f"{r.name}: note: {' '.join(line.split())[:300]}")
        for label, tests in (("before", r.tests_before), ("after", r.tests_after)):
            if tests is not None:
                print(f"{r.name}: tests {label}: {tests.summary}")


def save_row(path: Path, row: Row) -> None:
    """Each library's row as JSON as soon as it is done: a long run stopped later keeps it."""
    if path.parent.is_dir():
        path.write_text(json.dumps(asdict(row), indent=1), encoding="utf-8")


def summary(rows: list[Row]) -> dict[str, object]:
    improved = [r for r in rows if r.workload_improved]
    ratios = [r.timing.median for r in improved if r.timing]
    mean = math.exp(math.fsum(map(math.log, ratios)) / len(ratios)) if ratios else None
    return {
        "libraries": len(rows),
        "improved": len(improved),
        "geomean_workload_speedup": round(mean, 3) if mean else None,
        "test_failures_after_apply": sum(r.tests_broken for r in rows),
        "checksums_held": all(r.checksum_held for r in rows),
        "median_minutes": round(statistics_median([r.minutes for r in rows]), 1) if rows else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--libraries", default=",".join(LIBRARIES), help="comma-separated")
    parser.add_argument("--perfloop-args", default="", help="extra perfloop optimize arguments")
    parser.add_argument("--pairs", type=int, default=10, help="paired timing runs (10)")
    parser.add_argument("--max-pairs", type=int, default=60,
                        help="pairs in all where the first ones cannot show the gain perfloop "
                        "predicts (60; see paired_timing)")  # fmt: skip
    parser.add_argument("--scratch", type=Path, help="scratch folder (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "perfloop-bench",
                        help="where sdists are kept (~/.cache/perfloop-bench)")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds for perfloop")
    parser.add_argument("--test-timeout", type=float, default=900.0, help="seconds for tests")
    args = parser.parse_args()
    names = [n.strip() for n in args.libraries.split(",") if n.strip()]
    unknown = [n for n in names if n not in LIBRARIES]
    if unknown:
        parser.error(f"unknown libraries {', '.join(unknown)}; known: {', '.join(LIBRARIES)}")
    if args.pairs < 2:
        parser.error("--pairs must be at least 2 for an interval")
    args.perfloop_args = shlex.split(args.perfloop_args)
    temporary = args.scratch is None
    args.scratch = (args.scratch or Path(tempfile.mkdtemp(prefix="perfloop-real-libs-"))).resolve()
    args.scratch.mkdir(parents=True, exist_ok=True)
    log(f"scratch folder: {args.scratch}")
    rows: list[Row] = []
    try:
        for name in names:
            try:
                row = bench_library(name, LIBRARIES[name], args)
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                row = Row(name, LIBRARIES[name].spec.split("==")[1], LIBRARIES[name].shape,
                          failure=f"setup: {' '.join(str(exc).split())[-600:]}")  # fmt: skip
            rows.append(row)
            log(f"{name}: done in {row.minutes:.1f} min; speedup {row.speedup_text}")
            save_row(args.scratch / name / "row.json", row)
    finally:
        if temporary and not args.keep:
            shutil.rmtree(args.scratch, ignore_errors=True)
    print_table(rows)
    print(json.dumps(summary(rows)))


if __name__ == "__main__":
    main()
