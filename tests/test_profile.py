"""Profiling ranks the project's own functions by the time a rewrite of them can change."""

from __future__ import annotations

from pathlib import Path

import pytest

from perfloop.model import FunctionRef
from perfloop.profile import profile_workload
from perfloop.workload import WorkloadError

PROJECT = {
    "app/__init__.py": "",
    "app/work.py": """
        import functools

        def cheapest(prices):
            return sorted(prices)[0]

        def light(n):
            return n + 1

        def outer(xs):
            def inner(x):
                return x * 2
            return [inner(x) for x in xs]

        @functools.lru_cache(maxsize=None)
        def decorated(n):
            return sum(range(n))

        class Basket:
            def total(self, prices):
                return sum(p * 2 for p in prices)

            @property
            def size(self):
                return sum(range(2_000))

            @size.setter
            def size(self, value):
                self._size = value % 7

        def make_scaler(k):
            def scale(x):
                return sum(range(x)) * k
            return scale

        def use_scaler(xs):
            scale = make_scaler(3)
            return [scale(x) for x in xs]
    """,
    "bench.py": """
        import random
        from app.work import Basket, cheapest, decorated, light, outer, use_scaler

        def helper_in_script():
            return sum(range(50_000))

        rng = random.Random(0)
        data = [rng.random() for _ in range(20_000)]
        for _ in range(30):
            cheapest(data)
        for i in range(100):
            light(i)
        outer(list(range(100)))
        decorated(1000)
        Basket().total(data)
        basket = Basket()
        for _ in range(3):
            basket.size = basket.size
        use_scaler(list(range(300)))
        helper_in_script()
        print("done")
    """,
}


@pytest.fixture(scope="module")
def profile(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("profiled")
    for relative, text in PROJECT.items():
        import textwrap

        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return profile_workload("python bench.py", root)


def by_ref(profile, module: str, qualname: str):
    return next(f for f in profile.functions if f.function == FunctionRef(module, qualname))


def test_library_time_counts_for_the_caller(profile) -> None:
    # cheapest() spends nearly all its time inside the builtin sorted()
    top = profile.functions[0]
    assert top.function == FunctionRef("app.work", "cheapest")
    assert top.calls == 30
    assert top.share > 0.3


def test_functions_are_named_as_importable_references(profile) -> None:
    total = by_ref(profile, "app.work", "Basket.total")
    assert total.path == "app/work.py"
    assert total.not_targetable is None


def test_functions_of_the_workload_script_are_not_targets(profile) -> None:
    script = by_ref(profile, "__main__", "helper_in_script")
    assert "workload script" in script.not_targetable


def test_a_nested_function_counts_for_its_enclosing_target(profile) -> None:
    names = {f.function.qualname for f in profile.functions}
    assert not any("<locals>" in name for name in names)
    outer = by_ref(profile, "app.work", "outer")
    assert outer.not_targetable is None
    assert outer.calls == 1  # the 100 calls of inner are outer's work, not its calls


def test_a_closure_called_after_its_maker_returns_says_why_it_is_refused(profile) -> None:
    maker = by_ref(profile, "app.work", "make_scaler")
    assert "called after it returns, by use_scaler" in maker.not_targetable
    assert by_ref(profile, "app.work", "use_scaler").not_targetable is None


def test_a_decorated_function_is_a_target(profile) -> None:
    assert by_ref(profile, "app.work", "decorated").not_targetable is None


def test_a_property_getter_is_a_target_and_its_setter_is_refused_apart(profile) -> None:
    assert by_ref(profile, "app.work", "Basket.size").not_targetable is None
    setter = by_ref(profile, "app.work", "Basket.size.setter")
    assert setter.not_targetable is not None and "property setter" in setter.not_targetable


def test_the_workload_output_is_kept(profile) -> None:
    assert profile.workload_stdout == "done\n"


def test_a_failing_workload_says_what_failed(make_project) -> None:
    root = make_project({"bench.py": "import sys\nprint('x', file=sys.stderr)\nsys.exit(3)\n"})
    with pytest.raises(WorkloadError, match="exited with code 3"):
        profile_workload("python bench.py", root)


def test_a_workload_that_never_finishes_is_stopped(make_project) -> None:
    root = make_project({"bench.py": "import time\ntime.sleep(60)\n"})
    with pytest.raises(WorkloadError, match="did not finish"):
        profile_workload("python bench.py", root, timeout=1)


def test_a_workload_that_runs_no_python_is_explained(make_project: object, tmp_path: Path) -> None:
    root = make_project({"README": "x"})  # type: ignore[operator]
    with pytest.raises(WorkloadError, match=r"hooks loaded in no Python process.*must run Python"):
        profile_workload("true", root)


def test_a_function_moved_by_an_edit_is_found_when_profiled_again(make_project) -> None:
    # one process profiling twice (the MCP server, a test): the second profile must read
    # the edited file, not the first one's lines (a blank line added on top lost the
    # function, and capture then ran without the profile's count of its calls)
    root = make_project(
        {
            "lib.py": "def spin(n):\n    return sum(range(n))\n",
            "bench.py": "import lib\nfor _ in range(200):\n    lib.spin(20_000)\n",
        }
    )
    first = profile_workload("python bench.py", root)
    assert by_ref(first, "lib", "spin").calls == 200
    (root / "lib.py").write_text("\n# moved down\ndef spin(n):\n    return sum(range(n))\n")
    second = profile_workload("python bench.py", root)
    assert by_ref(second, "lib", "spin").calls == 200
