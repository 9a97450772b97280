"""Shapes of real libraries that perfloop got wrong, each reduced to a small fixture.

Each test names the library and version its shape came from (found by
benchmarks/real_libraries.py). A test marked xfail(strict=True) records a known
defect: it starts to pass, and so fails as XPASS, the day the defect is fixed;
then drop the mark.
"""

from __future__ import annotations

from perfloop.profile import profile_workload

BUSY = """
def inner(x):
    total = 0
    for i in range(3000):
        total += (i * x) % 7
    return str(total)
"""


def shares(make_project, files: dict[str, str]) -> dict[str, float]:
    root = make_project(files)
    profile = profile_workload("python bench.py", root)
    return {str(f.function): f.share for f in profile.functions}


def test_a_builtin_driving_a_generator_does_not_make_its_caller_hot(make_project) -> None:
    # sqlparse 0.5.1: `format` is `return ''.join(stack.run(sql, encoding))`; perfloop
    # ranked it first with 48% "own" time, above the lexer and grouping doing the work
    found = shares(
        make_project,
        {
            "lib.py": BUSY + '\n\ndef outer(items):\n    return "".join(inner(x) for x in items)\n',
            "bench.py": "import lib\n\nprint(len(lib.outer(range(2000))))\n",
        },
    )
    assert found["lib:inner"] > 0.5
    assert found["lib:outer"] < found["lib:inner"] / 2, found


def test_a_callback_from_the_workload_script_does_not_make_its_caller_hot(make_project) -> None:
    # mpmath 1.3.0: quad(lambda x: exp(-x*x) * cos(k*x), ...) made TanhSinh.sum_next 60% "own"
    # time, while exp and cos (mpmath functions the lambda calls) did the work
    found = shares(
        make_project,
        {
            "lib.py": BUSY + "\n\ndef integrate(f, points):\n    return [f(x) for x in points]\n",
            "bench.py": "import lib\n\n"
            "print(len(lib.integrate(lambda x: lib.inner(x), range(2000))))\n",
        },
    )
    assert found["lib:inner"] > 0.5
    assert found["lib:integrate"] < found["lib:inner"] / 2, found
