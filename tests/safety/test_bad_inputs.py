"""Bad inputs: each gets a clear message, and nothing in the project changes."""

from __future__ import annotations

from pathlib import Path

import pytest
from safety_helpers import perfloop

from perfloop.cli.main import main
from perfloop.store.lock import project_lock

LIB = """
import asyncio
import functools


def cheapest(prices):
    return sorted(prices)[0]


async def fetch(prices):
    await asyncio.sleep(0)
    return sorted(prices)[0]


def each(prices):
    for price in sorted(prices):
        yield price


@functools.lru_cache
def cached(count):
    return sorted(range(count))[0]


def outer(prices):
    def inner(values):
        return sorted(values)[0]

    return inner(prices)


square = lambda value: value * value  # noqa: E731
exec("def made(value):\\n    return value")
"""
BENCH = """
from shop import cheapest
print(cheapest([3, 1, 2]))
"""


@pytest.fixture
def shop(make_project) -> Path:
    return make_project({"shop.py": LIB, "bench.py": BENCH})


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file of the project except perfloop's own folder."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".perfloop" not in p.parts and "__pycache__" not in p.parts
    }


def optimize(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["optimize", "--root", str(root), "--workload", "python bench.py", *args])
    captured = capsys.readouterr()
    return code, " ".join((captured.out + captured.err).split())


@pytest.mark.parametrize(
    ("function", "message"),
    [
        ("shop:cheapst", "no function 'cheapst' in shop"),
        ("shopp:cheapest", "no module 'shopp'"),
        ("builtins:len", "no module 'builtins'"),
        ("_socket:socket", "no module '_socket'"),  # a C extension
        ("shop:fetch", "shop:fetch is an async function; not supported yet: perfloop cannot"),
        ("shop:outer.inner", "no function 'outer.inner' in shop"),
        ("shop:square", "no function 'square' in shop"),  # a lambda
        ("shop:made", "no function 'made' in shop"),  # no source to rewrite
        ("shop:<lambda>", "is not a function reference"),
    ],
)
def test_a_function_perfloop_cannot_rewrite_is_named_with_the_reason(
    shop: Path, capsys: pytest.CaptureFixture[str], function: str, message: str
) -> None:
    before = snapshot(shop)
    code, said = optimize(shop, capsys, "--function", function)
    assert code == 2
    assert message in said
    assert snapshot(shop) == before
    assert not (shop / ".perfloop").exists()


def test_a_hot_function_perfloop_cannot_take_is_named_when_nothing_else_is_hot(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """pyperformance's nqueens spent its time in generator functions (targets now); an
    async function is still refused: the error says so, instead of claiming that no
    project function takes time."""
    (shop / "bench.py").write_text(
        "from shop import fetch\n"
        "for _ in range(3000):\n"
        "    running = fetch(list(range(300, 0, -1)))\n"
        "    try:\n"
        "        while True:\n"
        "            running.send(None)\n"
        "    except StopIteration:\n"
        "        pass\n"
    )
    before = snapshot(shop)
    code, said = optimize(shop, capsys)
    assert code == 2
    assert "the hottest ones are not targetable" in said
    assert "shop:fetch" in said and "an async function; not supported yet" in said
    assert snapshot(shop) == before


def test_a_syntax_error_in_a_target_names_the_line(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = LIB + "\ndef broken(:\n"
    (shop / "shop.py").write_text(broken)
    line = broken.splitlines().index("def broken(:") + 1
    before = snapshot(shop)
    code, said = optimize(shop, capsys, "--function", "shop:cheapest")
    assert code == 2
    assert f"shop.py:{line}: syntax error" in said and "fix it before optimizing" in said
    assert snapshot(shop) == before


@pytest.mark.slow
def test_a_syntax_error_elsewhere_in_the_project_fails_the_workload_with_its_line(
    shop: Path,
) -> None:
    (shop / "helpers.py").write_text("def broken(:\n    pass\n")
    (shop / "bench.py").write_text("import helpers\n" + BENCH)
    before = snapshot(shop)
    done = perfloop("optimize", "--workload", "python bench.py", cwd=shop)
    assert done.returncode == 1
    assert "the workload failed" in done.stdout and "SyntaxError" in done.stdout
    assert "run it by hand in the project root" in done.stdout
    assert snapshot(shop) == before


@pytest.mark.slow
def test_a_failing_workload_exits_1_with_its_error(shop: Path) -> None:
    (shop / "bench.py").write_text("import sys\nsys.exit('no data in data.csv')\n")
    before = snapshot(shop)
    done = perfloop("optimize", "--workload", "python bench.py", cwd=shop)
    assert done.returncode == 1
    assert "exited with code 1" in done.stdout and "no data in data.csv" in done.stdout
    assert snapshot(shop) == before


@pytest.mark.slow
def test_a_workload_that_never_finishes_is_stopped_at_the_timeout(shop: Path) -> None:
    (shop / "bench.py").write_text("import time\nwhile True:\n    time.sleep(1)\n")
    before = snapshot(shop)
    done = perfloop(
        "optimize", "--workload", "python bench.py", "--workload-timeout", "2", cwd=shop
    )
    assert done.returncode == 1
    said = " ".join(done.stdout.split())
    assert "did not finish within 2 s; raise --workload-timeout" in said
    assert snapshot(shop) == before


@pytest.mark.slow
def test_recursion_too_deep_for_the_recorder_says_what_to_do(shop: Path) -> None:
    (shop / "deep.py").write_text(
        "def depth(count):\n    return 0 if count == 0 else 1 + depth(count - 1)\n"
    )
    (shop / "bench.py").write_text(
        "import sys\nfrom deep import depth\nsys.setrecursionlimit(20_000)\nprint(depth(8000))\n"
    )
    before = snapshot(shop)
    done = perfloop(
        "optimize", "--workload", "python bench.py", "--function", "deep:depth", cwd=shop
    )
    assert done.returncode == 1
    said = " ".join(done.stdout.split())
    assert "hit Python's recursion limit while perfloop recorded the targets' calls" in said
    assert "raise the limit in the workload (sys.setrecursionlimit)" in said
    assert snapshot(shop) == before


@pytest.mark.slow
def test_the_capture_run_gets_limits_from_what_the_profiled_run_needed(shop: Path) -> None:
    greedy = (
        "import json, os\n"
        "spec = json.load(open(os.environ['PERFLOOP_RUNTIME']))\n"
        "if spec['capture']:\n"
        "    hoard = bytearray(64 * 1024**3)  # 64 GB, only while perfloop records calls\n"
    )
    (shop / "bench.py").write_text(greedy + BENCH)
    before = snapshot(shop)
    done = perfloop(
        "optimize", "--workload", "python bench.py", "--function", "shop:cheapest", cwd=shop
    )
    assert done.returncode == 1
    said = " ".join(done.stdout.split())
    assert "under limits derived from the profiled run" in said and "MemoryError" in said
    assert snapshot(shop) == before


def test_a_second_run_on_the_same_project_is_refused_while_one_works(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(shop)
    with project_lock(shop, "20260101-000000-abcd"):
        code, said = optimize(shop, capsys, "--function", "shop:cheapest")
    assert code == 2
    assert "another perfloop run is working on" in said
    assert "perfloop optimize 20260101-000000-abcd, pid" in said
    assert "wait for it to finish or stop it first" in said
    assert snapshot(shop) == before


def test_a_read_only_project_is_refused_before_anything_runs(
    shop: Path, read_only, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(shop)
    read_only(shop)
    code, said = optimize(shop, capsys, "--function", "shop:cheapest")
    assert code == 2
    assert f"perfloop cannot write to {shop / '.perfloop'}" in said
    assert "Make the project writable, or run perfloop on a writable copy" in said
    assert snapshot(shop) == before


def test_resuming_a_run_that_does_not_exist_says_where_runs_are(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["resume", "20990101-000000-ffff", "--root", str(shop)])
    said = " ".join(capsys.readouterr().out.split())
    assert code == 2
    assert "no run '20990101-000000-ffff'" in said and ".perfloop/runs" in said


def test_reverting_a_run_that_applied_nothing_says_so(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["revert", "20990101-000000-ffff", "--root", str(shop)])
    said = " ".join(capsys.readouterr().out.split())
    assert code == 2
    assert "run 20990101-000000-ffff applied no patch" in said
