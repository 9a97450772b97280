"""perfloop as an MCP server: coding agents use it as their proof of behaviour and speed.

`perfloop mcp` serves these tools over stdio (the official `mcp` SDK), on the
project in its root folder:

    profile   where the workload's time goes (the hot functions)
    capture   record the calls the workload makes to a function (returns a run id)
    verify    does a new source of a function behave exactly like the original?
    measure   how much faster is it (A/B with interval, A/A noise floor)?
    propose   perfloop's own rule-based rewrites of a function
    apply     write a verified new source into the project, with the --apply checks
    optimize  the whole pipeline, nothing applied: the run's verified candidates to review
    review    a finished optimize run's targets, candidates and decisions so far
    decide    accept, reject, edit (verified and timed), keep the original, or hint: ask
              the LLM proposer for more with a free-text hint (when a model is configured)

Each answers with the same JSON document as the matching CLI command's --json.
Usage errors (a missing function, no workload, a bad run id) come back as tool
errors whose message says what to do.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from perfloop.config import ConfigError, Settings, load_settings
from perfloop.llm.proposer import proposers_for
from perfloop.model import FunctionRef, InvalidReference
from perfloop.outside import CandidateSpec, bench_outside, verify_outside
from perfloop.outside.apply import apply_outside
from perfloop.outside.calls import finish, get_calls, recorded_run, require_workload
from perfloop.outside.candidate import read_target
from perfloop.outside.judge import check_tiers, verify_settings
from perfloop.pipeline import optimize as optimize_run
from perfloop.pipeline.mcp_review import decide as decide_on_run
from perfloop.pipeline.mcp_review import review_document, run_review
from perfloop.profile import profile_workload
from perfloop.project import Project, TargetError
from perfloop.propose import propose_rule_candidates
from perfloop.report.json import bench_document, verify_document
from perfloop.verification import VerifySettings
from perfloop.workload import WorkloadError

Answer = dict[str, Any]
_Tool = TypeVar("_Tool", bound=Callable[..., Answer])
_USAGE_ERRORS = (ConfigError, TargetError, InvalidReference, WorkloadError)


def build_server(
    root: Path, engine: VerifySettings | None = None, llm: dict[str, Any] | None = None
) -> Any:
    """The MCP server for the project at `root` (tools as in the module docstring);
    `engine` sets the verification tiers and budgets (default: all tiers, as configured);
    `llm` the model settings (`perfloop mcp --llm ...`) for optimize and hints."""
    llm = {name: value for name, value in (llm or {}).items() if value is not None}
    from mcp.server import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    server = MCPServer(
        "perfloop",
        instructions=(
            "perfloop proves rewrites of Python functions: `verify` says whether a new source "
            "of a function behaves exactly like the original on the calls the project's "
            "workload makes (with the smallest counterexample as a call when it does not), "
            "`measure` how much faster it is with a 95% interval. Call `capture` once and pass "
            "its run_id to verify and measure to reuse the recorded calls."
        ),
    )

    def answers(tool: _Tool) -> _Tool:
        @functools.wraps(tool)
        def wrapped(*args: Any, **kwargs: Any) -> Answer:
            try:
                return tool(*args, **kwargs)
            except _USAGE_ERRORS as exc:
                raise ToolError(str(exc)) from exc

        return wrapped  # type: ignore[return-value]

    def settings(workload: str | None) -> Settings:
        return load_settings(root, {"workload": workload})

    def verification(loaded: Settings, tiers: list[str] | None = None) -> VerifySettings:
        chosen = engine or verify_settings(loaded)
        return chosen if tiers is None else replace(chosen, tiers=check_tiers(tiers))

    @server.tool()
    @answers
    def profile(workload: str | None = None, top: int = 10) -> Answer:
        """Run the workload under the profiler; the `top` functions of the project by own time.

        `workload` is a shell command run in the project root (default: [tool.perfloop]).
        """
        loaded = settings(workload)
        found = profile_workload(
            require_workload(loaded, "to profile"), root, timeout=loaded.workload_timeout
        )
        return {
            "total_seconds": found.total_seconds,
            "wall_seconds": found.wall_seconds,
            "functions": [
                {
                    "function": str(f.function),
                    "share": f.share,
                    "self_seconds": f.self_seconds,
                    "cumulative_seconds": f.cumulative_seconds,
                    "calls": f.calls,
                    "path": f.path,
                    "lineno": f.lineno,
                    "not_targetable": f.not_targetable,
                }
                for f in found.functions[:top]
            ],
        }

    @server.tool()
    @answers
    def capture(target: str, workload: str | None = None) -> Answer:
        """Record the calls the workload makes to `target` (module:qualname).

        Returns a run_id: pass it to verify and measure to reuse these calls.
        """
        loaded = settings(workload)
        function = FunctionRef.parse(target)
        Project(root).check_function(function)
        with recorded_run(root, require_workload(loaded)) as (store, run_id):
            recorded = get_calls(loaded, store, function, None)
            store.save_capture(run_id, recorded)
            answer = {
                "run_id": run_id,
                "function": str(function),
                "calls_seen": recorded.calls_seen,
                "calls_recorded": len(recorded.records),
                "problem": recorded.problem,
                "parameter_types": {t.parameter: list(t.types) for t in recorded.parameter_types},
                "return_types": list(recorded.return_types),
                "sample_calls": [r.call_repr for r in recorded.records[:10]],
            }
            finish(store, run_id, {"schema": "perfloop.capture/1", **answer})
        return answer

    @server.tool()
    @answers
    def verify(
        target: str,
        candidate_source: str,
        run_id: str | None = None,
        workload: str | None = None,
        tiers: list[str] | None = None,
    ) -> Answer:
        """Does `candidate_source` (the new source of the function `target`, module:qualname,
        optionally after the import lines it needs) behave exactly like the original?

        decision: equivalent, different (with the smallest counterexample as a call),
        rejected (signature changed, new dependency) or undecided (exit_code 3: no usable
        calls, or weakly verified). Pass the run_id from `capture` to reuse its calls
        instead of running the workload again; `tiers` (replay, fuzz, tests, symbolic)
        runs fewer tiers for a quick answer.
        """
        loaded = settings(workload)
        spec = CandidateSpec(text=candidate_source, label="mcp")
        result = verify_outside(loaded, target, spec, run_id, engine=verification(loaded, tiers))
        return verify_document(result)

    @server.tool()
    @answers
    def measure(
        target: str,
        candidate_source: str,
        run_id: str | None = None,
        workload: str | None = None,
        workload_level: bool = False,
    ) -> Answer:
        """Time `candidate_source` against the original `target` on the recorded calls.

        speed is faster only when the 95% interval's lower bound clears threshold:
        min_speedup, raised to noise_floor.floor (the original timed against itself) on a
        noisy machine. workload_level also times the whole workload with the candidate in
        place. Does not verify: call verify too.
        """
        spec = CandidateSpec(text=candidate_source, label="mcp")
        result = bench_outside(settings(workload), target, spec, run_id, workload_level)
        return bench_document(result)

    @server.tool()
    @answers
    def propose(target: str) -> Answer:
        """perfloop's own rule-based rewrites of `target`; verify and measure each before use."""
        found = read_target(Project(root), FunctionRef.parse(target))
        candidates = propose_rule_candidates(found.function, found.path, found.source)
        return {
            "function": str(found.function),
            "candidates": [
                {
                    "origin": c.origin,
                    "rationale": c.rationale,
                    "function_source": c.function_source,
                }
                for c in candidates
            ],
        }

    @server.tool()
    @answers
    def apply(
        target: str, candidate_source: str, run_id: str | None = None, workload: str | None = None
    ) -> Answer:
        """Write `candidate_source` into the project, only if verify finds it equivalent.

        The write is atomic and refused if the file changed meanwhile; the workload then
        runs once and the change is undone if it fails or its output changed.
        """
        loaded = settings(workload)
        spec = CandidateSpec(text=candidate_source, label="mcp")
        result = apply_outside(loaded, target, spec, run_id, engine=verification(loaded))
        return {
            "applied": result.applied,
            "reason": result.reason,
            "diff": result.diff,
            "backup": result.backup,
            "verify": verify_document(result.verification),
        }

    @server.tool()
    @answers
    def optimize(
        workload: str | None = None, functions: list[str] | None = None, top: int = 5
    ) -> Answer:
        """Profile, propose, verify and measure (as `perfloop optimize`), applying nothing.

        Returns the run_id and each target's verified candidates (candidate_id, diff,
        speedup with its 95% interval, the tiers' evidence) for `decide`, the way
        `optimize --interactive` shows them to a person. Takes minutes on a real workload.
        """
        overrides: dict[str, Any] = {**llm, "workload": workload, "top": top}
        if functions:
            overrides["functions"] = tuple(functions)
        loaded = load_settings(root, overrides)
        result = optimize_run(loaded, proposers=proposers_for(loaded))
        return review_document(result, [])

    @server.tool()
    @answers
    def review(run_id: str) -> Answer:
        """A finished optimize run's targets with their verified candidates, and every
        decision made on it so far (by a person with --interactive, or by `decide`)."""
        return run_review(settings(None), run_id)

    @server.tool()
    @answers
    def decide(
        run_id: str,
        target: str,
        action: str,
        candidate_id: str | None = None,
        candidate_source: str | None = None,
        text: str | None = None,
    ) -> Answer:
        """One decision on `target` (module:qualname) of the optimize run `run_id`, recorded
        in the run store. action: `reject` (candidate_id), `keep` (the original), `edit`
        (candidate_source: your version, verified and timed on the run's recorded calls;
        candidate_id: the candidate it started from, optional), `accept` (candidate_id of
        a verified, faster candidate, or candidate_source of a verified edit): written into
        the project with `apply`'s checks, or `hint` (text: what you would like tried, sent
        to perfloop's LLM proposer in its prompt; an error says so when no model is
        configured): its new candidates come back verified and measured, and `review`
        lists the verified ones beside the others, to accept by candidate_id.
        """
        return decide_on_run(
            settings(None), run_id, target, action, candidate_id, candidate_source, text, llm
        )

    return server


def serve(
    root: Path, engine: VerifySettings | None = None, llm: dict[str, Any] | None = None
) -> None:
    """Serve the tools over stdio until the client closes the connection."""
    build_server(root.resolve(), engine, llm).run("stdio")
