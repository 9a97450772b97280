"""A candidate is compiled into the already-imported module, not the module run again.

The shape comes from networkx 3.2.1: `@nx._dispatch` registers every algorithm at
import and refuses a second registration, so running a copy of the module for a
candidate failed with "KeyError: 'Algorithm already exists in dispatch registry'"
and every candidate of that module was reported as behaving differently.
"""

from __future__ import annotations

import importlib
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from perfloop.measure.timing import TimingTask
from perfloop.model import Limits
from perfloop.runtime.loader import load_function_into, swapped_in
from perfloop.sandbox.runner import run_in_worker

REGISTRY = """
import functools

ALGORITHMS = {}


def dispatch(function):
    if function.__name__ in ALGORITHMS:
        raise KeyError(f"Algorithm already exists in dispatch registry: {function.__name__}")
    ALGORITHMS[function.__name__] = function
    return function


class Dispatchable:
    \"\"\"networkx 3.4's `_dispatchable`: registers the function, and callers call this.\"\"\"

    def __init__(self, function):
        if function.__name__ in ALGORITHMS:
            raise KeyError(f"Algorithm already exists in dispatch registry: {function.__name__}")
        ALGORITHMS[function.__name__] = function
        self.orig_func = function
        functools.update_wrapper(self, function)

    def __call__(self, *args, **kwargs):
        return self.orig_func(*args, **kwargs)


def not_empty(function):
    \"\"\"networkx's `not_implemented_for`: a check on the argument before the call.\"\"\"

    @functools.wraps(function)
    def checked(adjacency):
        if not adjacency:
            raise ValueError("an empty graph")
        return function(adjacency)

    return checked
"""

GRAPHS = '''
from registry import Dispatchable, dispatch, not_empty


@dispatch
def components(adjacency):
    return [sorted(_reach(adjacency, node)) for node in sorted(adjacency)]


def _reach(adjacency, source):
    """networkx's _plain_bfs: the nodes reachable from source."""
    seen = {source}
    level = [source]
    while level:
        following = []
        for node in level:
            for other in adjacency[node]:
                if other not in seen:
                    seen.add(other)
                    following.append(other)
        level = following
    return seen


class Base:
    def total(self, values):
        return sum(values)


class Walker(Base):
    def __init__(self):
        self.__steps = 0

    def walk(self, values):
        self.__steps += 1
        return super().total(values) + self.__steps


@not_empty
@Dispatchable
def sizes(adjacency):
    """networkx's connected_components: a generator, decorated twice."""
    seen = set()
    for node in adjacency:
        if node not in seen:
            component = _reach(adjacency, node)
            seen.update(component)
            yield len(component)
'''

FASTER_REACH = '''
def _reach(adjacency, source):
    """networkx's _plain_bfs: the nodes reachable from source."""
    seen = {source}
    add = seen.add
    level = [source]
    while level:
        following = []
        append = following.append
        for node in level:
            for other in adjacency[node]:
                if other not in seen:
                    add(other)
                    append(other)
        level = following
    return seen
'''

BENCH = """
from graphs import components, sizes

for size in range(2, 30):
    adjacency = {n: [(n + 1) % size, (n * 3) % size] for n in range(size)}
    components(adjacency)
    list(sizes(adjacency))
"""


def with_function(source: str, old_name: str, new_def: str) -> str:
    """`source` with the top-level def of `old_name` replaced by `new_def`."""
    start = source.index(f"def {old_name}(")
    end = source.index("\n\n\n", start)
    return source[:start] + new_def.strip() + source[end:]


@pytest.fixture
def project(make_project, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_project({"registry.py": REGISTRY, "graphs.py": GRAPHS, "bench.py": BENCH})
    monkeypatch.syspath_prepend(str(root))
    yield root
    for name in ("graphs", "registry"):
        sys.modules.pop(name, None)


def test_a_function_is_compiled_into_the_module_without_registering_again(project) -> None:
    graphs = importlib.import_module("graphs")
    source = with_function(GRAPHS, "_reach", FASTER_REACH)
    function = load_function_into(graphs, "_reach", GRAPHS, source)
    assert function is not None and function is not graphs._reach
    assert function.__globals__ is graphs.__dict__
    assert function({0: [1], 1: [0], 2: []}, 0) == {0, 1}
    assert list(sys.modules["registry"].ALGORITHMS) == ["components", "sizes"]


def test_a_method_keeps_name_mangling_and_super(project) -> None:
    graphs = importlib.import_module("graphs")
    source = GRAPHS.replace(
        "return super().total(values) + self.__steps",
        "return super().total(values) + self.__steps * 1",
    )
    walk = load_function_into(graphs, "Walker.walk", GRAPHS, source)
    assert walk is not None and walk is not graphs.Walker.__dict__["walk"]
    walker = graphs.Walker()
    assert walk(walker, [1, 2]) == 4
    assert walk(walker, [1, 2]) == 5  # self._Walker__steps, not self._walk__steps


def test_added_imports_and_constants_run_in_the_module(project) -> None:
    graphs = importlib.import_module("graphs")
    source = "from itertools import chain as _chain\n_LIMIT = 3\n" + with_function(
        GRAPHS,
        "_reach",
        "def _reach(adjacency, source):\n    return set(_chain([source], adjacency[source]))",
    )
    function = load_function_into(graphs, "_reach", GRAPHS, source)
    assert function is not None
    assert function({0: [1, 2]}, 0) == {0, 1, 2}
    assert graphs._LIMIT == 3


def test_a_candidate_that_changes_more_than_the_function_is_left_to_a_module_copy(
    project,
) -> None:
    graphs = importlib.import_module("graphs")
    other_changed = GRAPHS.replace("return sum(values)", "return sum(values) + 0")
    assert load_function_into(graphs, "_reach", GRAPHS, other_changed) is None
    sibling_changed = other_changed.replace("self.__steps += 1", "self.__steps += 2")
    assert load_function_into(graphs, "Walker.walk", GRAPHS, sibling_changed) is None


@pytest.mark.slow
def test_verify_passes_a_rewrite_in_a_module_with_an_import_time_registry(project) -> None:
    candidate = project / "candidate.py"
    candidate.write_text(FASTER_REACH)
    done = subprocess.run(
        [sys.executable, "-m", "perfloop", "verify", "graphs:_reach", "--candidate",
         str(candidate), "--workload", "python bench.py", "--root", str(project),
         "--tiers", "replay,fuzz", "--fuzz-examples", "20", "--mutants", "0"],
        capture_output=True, text=True, timeout=600, cwd=project,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "EQUIVALENT" in done.stdout
    assert "already exists" not in done.stdout


def test_timing_loads_the_candidate_in_place_when_the_module_cannot_run_twice(project) -> None:
    calls = tuple(
        pickle.dumps((({n: [(n + 1) % 9] for n in range(9)}, start), {}), protocol=4)
        for start in range(9)
    )
    task = TimingTask(
        "graphs", "_reach", str(project / "graphs.py"), GRAPHS,
        with_function(GRAPHS, "_reach", FASTER_REACH), calls, ("_reach(...)",) * 9,
        pairs=2, min_block_ns=200_000,
    )  # fmt: skip
    outcome = run_in_worker(
        "perfloop.measure.timing:run_timing_task",
        task,
        root=project,
        limits=Limits(wall_seconds=120, memory_mb=1024),
    )
    assert outcome.ok, outcome.message
    assert outcome.value.problem is None
    assert len(outcome.value.candidate_ns) == 2


FASTER_SIZES = '''
from registry import Dispatchable, not_empty


@not_empty
@Dispatchable
def sizes(adjacency):
    """networkx 3d0bb212f's shape: the same components, less work per node."""
    seen = set()
    update = seen.update
    for node in adjacency:
        if node not in seen:
            component = _reach(adjacency, node)
            update(component)
            yield len(component)
'''


def test_a_decorated_function_runs_new_code_inside_the_original_decorators(project) -> None:
    graphs = importlib.import_module("graphs")
    wrong = FASTER_SIZES.replace("yield len(component)", "yield len(component) + 1")
    source = GRAPHS[: GRAPHS.index("@not_empty")] + wrong[wrong.index("@not_empty") :]
    candidate = load_function_into(graphs, "sizes", GRAPHS, source)
    assert candidate is not None
    assert list(sys.modules["registry"].ALGORITHMS) == ["components", "sizes"]  # not again
    two_parts = {0: [1], 1: [0], 2: []}
    assert list(graphs.sizes(two_parts)) == [2, 1]
    with swapped_in(graphs, "sizes", candidate):
        assert list(candidate(two_parts)) == [3, 2]  # the candidate's code ...
        with pytest.raises(ValueError, match="an empty graph"):
            candidate({})  # ... inside the original's decorators
    assert list(graphs.sizes(two_parts)) == [2, 1]  # the original's code is back


def _verify_sizes(project: Path, candidate_source: str) -> subprocess.CompletedProcess[str]:
    candidate = project / "candidate.py"
    candidate.write_text(candidate_source)
    return subprocess.run(
        [sys.executable, "-m", "perfloop", "verify", "graphs:sizes", "--candidate",
         str(candidate), "--workload", "python bench.py", "--root", str(project),
         "--tiers", "replay", "--mutants", "0"],
        capture_output=True, text=True, timeout=300, cwd=project,
    )  # fmt: skip


def test_verify_judges_a_decorated_function_of_a_module_with_an_import_time_registry(
    project,
) -> None:
    """networkx 3.4.2's connected_components (`@not_implemented_for` over `@_dispatchable`):
    replaying even the original failed with "Algorithm already exists in dispatch
    registry", so the verdict was UNDECIDED for the maintainer's own rewrite."""
    done = _verify_sizes(project, FASTER_SIZES)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "EQUIVALENT" in done.stdout
    assert "already exists" not in done.stdout
    wrong = _verify_sizes(project, FASTER_SIZES.replace("yield len(c", "yield 1 + len(c"))
    assert wrong.returncode == 1, wrong.stdout + wrong.stderr
    assert "DIFFERENT" in wrong.stdout


def test_a_candidate_that_cannot_be_loaded_is_undecided_not_different(project) -> None:
    """With a rewritten helper beside it the candidate changes more than the function, so
    the whole module must run again, and the registry refuses it: before, "DIFFERENT: the
    candidate failed where the original did not" and a traceback, for a candidate that
    never ran."""
    done = _verify_sizes(project, FASTER_SIZES + "\n\n" + FASTER_REACH)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "UNDECIDED" in done.stdout and "DIFFERENT" not in done.stdout
    assert "could not be loaded (KeyError: 'Algorithm already exists" in done.stdout
    assert "no call was compared" in done.stdout
