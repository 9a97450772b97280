"""Candidates that forge the result their worker sends back, in one real run beside an
honest one.

Candidate code runs in the worker before the result is encoded, so it can replace
`pickle.dumps`, overwrite the result file on the way out, or hand back a perfloop
result type with fields of the wrong type. Each hostile candidate below answers
exactly like the original and forges its worker's result; the main process must
refuse each forged result with its reason, run nothing from it (a marker file the
payload would create does not exist), still choose the honest candidate, and
leave the project byte-identical.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from shop_project import BENCH, HONEST, LIB, ORIGINAL, module, tried

from perfloop.config import load_settings
from perfloop.model import Candidate, FunctionRef, VerdictStatus
from perfloop.pipeline import optimize
from perfloop.results import TargetStatus

# serial: the escapes spin, fill memory and flood pipes, and the honest candidate must still
# be timed faster: alone, after the parallel pass (with a neighbour, a 5 s limit and a
# 2-process noise floor flipped verdicts: eats_memory timed out, honest was not faster)
pytestmark = [pytest.mark.slow, pytest.mark.serial]


def calling(module: str, name: str, argument: str) -> bytes:
    """A pickle (protocol 4) that calls `module.name(argument)` wherever it is loaded."""
    return b"\x80\x04c" + f"{module}\n{name}\n(V{argument}\ntR.".encode()


# perfloop's types come from sys.modules (the gate refuses `import perfloop`);
# each forgery replaces pickle.dumps for the worker's final (status, value, message,
# isolation) tuple only, so the replay itself runs as usual
REPLACE_DUMPS = """
import pickle, sys
if not hasattr(pickle, "forged"):
    real_dumps = pickle.dumps
    def dumps(obj, *args, **kwargs):
        if isinstance(obj, tuple) and len(obj) == 4 and obj[0] == "ok":
            {forge}
        return real_dumps(obj, *args, **kwargs)
    pickle.dumps = dumps
    pickle.forged = True
"""
OVERWRITE_RESULT = """
import os, sys
if not hasattr(os, "forged"):
    real_exit = os._exit
    def overwrite_then_exit(code):
        with open(os.path.join(sys.argv[1], "result.pkl"), "wb") as out:
            out.write({payload!r})
        real_exit(code)
    os._exit = overwrite_then_exit
    os.forged = True
"""
EVAL = "__import__('pathlib').Path({marker!r}).write_text('pwned')"
FORGERIES = {
    "dumps_eval": ("dumps", "builtins", "eval", EVAL),
    "dumps_os_system": ("dumps", "os", "system", "touch {marker}"),
    "dumps_perfloop_function": ("dumps", "perfloop.patch", "os.system", "touch {marker}"),
    "overwrites_result_file": ("file", "builtins", "exec", EVAL),
}
WRONG_TYPES = {
    "report_with_wrong_field": (
        "report = sys.modules['perfloop.verification.replay'].ReplayReport('41', None)\n"
        "            return real_dumps(('ok', report, '', obj[3]))"
    ),
    "verdict_with_string_status": (
        "verdict = sys.modules['perfloop.model'].Verdict\n"
        "            forged = verdict('equivalent', ('replay',), 41, 0.1)\n"
        "            return real_dumps(('ok', forged, '', obj[3]))"
    ),
}
REASONS = {
    "dumps_eval": "builtins.eval is not a perfloop result type",
    "dumps_os_system": "os.system is not a perfloop result type",
    "dumps_perfloop_function": "perfloop.patch.os.system is not a perfloop result type",
    "overwrites_result_file": "builtins.exec is not a perfloop result type",
    "report_with_wrong_field": "ReplayReport.checked is '41' (str) where int was expected",
    "verdict_with_string_status": "Verdict.status is 'equivalent' (str) where VerdictStatus",
}


def forgery(name: str, marker: Path) -> str:
    if name in WRONG_TYPES:
        return REPLACE_DUMPS.replace("{forge}", WRONG_TYPES[name])
    how, module, function, argument = FORGERIES[name]
    payload = calling(module, function, argument.format(marker=str(marker)))
    if how == "file":
        return OVERWRITE_RESULT.format(payload=payload)
    return REPLACE_DUMPS.replace("{forge}", f"return {payload!r}")


def proposer(marker: Path):
    def forging_and_honest(ref: FunctionRef, path: str, source: str) -> Sequence[Candidate]:
        bodies = {name: f"{forgery(name, marker)}\n{ORIGINAL}" for name in REASONS}
        bodies["honest"] = HONEST
        return [
            Candidate(ref, f"test:{name}", name, module(body), module(body), path)
            for name, body in bodies.items()
        ]

    return forging_and_honest


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("forged")
    root = base / "project"
    root.mkdir()
    (root / "shop.py").write_text(LIB.lstrip("\n"))
    (root / "bench.py").write_text(BENCH.lstrip("\n"))
    marker = base / "marker.txt"
    settings = load_settings(
        root,
        {
            "workload": "python bench.py",
            "functions": ["shop:cheapest"],
            "candidate_timeout": 10.0,
            "memory_mb": 600,
            "measure_processes": 2,
            "workload_runs": 2,
            "mutants": 0,
            "fuzz_examples": 0,
            "project_tests": False,
        },
    )
    before = {p.name: p.read_bytes() for p in root.iterdir() if p.is_file()}
    result = optimize(settings, proposers=(proposer(marker),))
    return result, root, marker, before


@pytest.mark.parametrize("name", sorted(REASONS))
def test_each_forged_result_is_refused_with_its_reason(name: str, run) -> None:
    result, _, _, _ = run
    candidate = tried(result)[name]
    assert candidate.gate.passed, candidate.gate.reason
    verdict = candidate.verdict
    assert verdict.status is VerdictStatus.FAILED, (name, verdict)
    assert "perfloop refused the worker's result" in verdict.reason, verdict.reason
    assert REASONS[name] in verdict.reason, verdict.reason
    assert candidate.measurement is None  # never timed


def test_the_honest_candidate_in_the_same_run_still_wins(run) -> None:
    result, _, _, _ = run
    (target,) = result.targets
    honest = tried(result)["honest"]
    assert honest.verdict.status is VerdictStatus.EQUIVALENT
    assert target.status is TargetStatus.IMPROVED
    assert target.best.candidate.origin == "test:honest"


def test_nothing_from_a_forged_result_ran_and_the_project_is_unchanged(run) -> None:
    _, root, marker, before = run
    assert not marker.exists()  # every payload would have created it in the main process
    after = {p.name: p.read_bytes() for p in root.iterdir() if p.is_file()}
    assert after == before
