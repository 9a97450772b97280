"""The real local model behind an OpenAI-compatible server, shared by the tests that need it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from llama_server import llama_server as serve


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m llama_cpp.server` serving the SmolLM2 GGUF on a free loopback port
    (started as benchmarks/llm_backends.py starts it: tests/llm/llama_server.py)."""
    from perfloop.llm.local_backend import default_model_path

    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    with serve(default_model_path(), "smollm2", log) as base_url:
        yield base_url
