"""Outside candidates: verify and measure a rewrite that perfloop did not propose.

A person, a colleague's pull request or a coding agent proposes the new version of
a function; these modules answer "does it behave the same, and is it really
faster?" with perfloop's own stages (capture, verify, measure) and record the
answer in the run store:

    verify_outside   gate, then judge the candidate on the workload's calls
    bench_outside    the A/B timing with its interval, the A/A noise floor, the whole workload
    check_outside    every function a pull request changed, against its base version

Each returns a frozen result (`perfloop.results`), which the CLI prints with a renderer
of `perfloop.report` and the MCP server sends as its JSON document.
"""

from perfloop.outside.bench import bench_outside
from perfloop.outside.candidate import CandidateError, CandidateSpec
from perfloop.outside.check import check_outside
from perfloop.outside.verify import verify_outside
from perfloop.results import (
    BenchResult,
    CheckResult,
    CheckStatus,
    Counterexample,
    Decision,
    FunctionCheck,
    VerifyResult,
)

__all__ = [
    "BenchResult",
    "CandidateError",
    "CandidateSpec",
    "CheckResult",
    "CheckStatus",
    "Counterexample",
    "Decision",
    "FunctionCheck",
    "VerifyResult",
    "bench_outside",
    "check_outside",
    "verify_outside",
]
