"""llama.cpp's OpenAI-compatible server (`python -m llama_cpp.server`) on a free loopback port.

Shared by the real-model tests (the fixture in tests/llm/conftest.py) and
benchmarks/llm_backends.py: one thread for prompt and generation, so answers are
reproducible; the caller sends `repeat_penalty: 1.0` in each request's extra body.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def llama_server(
    model: Path, alias: str, log_path: Path, *, context_tokens: int = 4096, wait: float = 120
) -> Iterator[str]:
    """The server's base URL (`http://127.0.0.1:PORT/v1`) while it serves `model` as `alias`.

    RuntimeError with the end of its log if it exits before answering; stopped on exit.
    """
    port = free_port()
    with log_path.open("w+") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "llama_cpp.server",
                "--model",
                str(model),
                "--model_alias",
                alias,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--n_threads",
                "1",
                "--n_threads_batch",
                "1",
                "--n_ctx",
                str(context_tokens),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base_url = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + wait
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
