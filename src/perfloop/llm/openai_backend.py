"""Any OpenAI-compatible chat endpoint: vLLM, llama.cpp's server, Ollama, cloud providers.

Uses the `openai` client (extra `perfloop[llm]`) with its own retries switched
off: this backend retries 408, 409, 429 and 5xx answers with exponential backoff
(honouring Retry-After, capped), and turns every other failure into an
`LLMError` that names the endpoint and the fix. Answers are streamed, so the
time to the first token is measured; token counts come from the server's usage
report; a server that sends no usage in streams (llama.cpp's) gets its first call's
tokens estimated (chunks, and 4 characters a prompt token) and later calls unstreamed,
which report usage exactly. `extra_body` goes with every request, for server-specific
sampling settings (llama.cpp's `repeat_penalty`, vLLM's `repetition_penalty`). At most
`concurrency` requests are in flight at once.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from perfloop.llm.client import ChatRequest, Completion, LLMError, LLMUnavailable

_RETRIED_STATUS = {408, 409, 429}
_MAX_DELAY = 30.0


def _import_openai() -> Any:
    try:
        import openai
    except ImportError as exc:
        raise LLMUnavailable(
            "the openai backend needs the openai package: pip install 'perfloop[llm]'"
        ) from exc
    return openai


class OpenAIClient:
    def __init__(
        self,
        model: str,
        base_url: str | None,
        api_key: str | None,
        *,
        api_key_env: str = "OPENAI_API_KEY",
        timeout: float = 120.0,
        retries: int = 3,
        backoff: float = 1.0,
        concurrency: int = 2,
        extra_body: dict[str, object] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._openai = _import_openai()
        self.model = model
        self.base_url = base_url or "https://api.openai.com/v1"
        self.api_key_env = api_key_env
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self._sleep = sleep
        self.extra_body = dict(extra_body or {})
        self._stream_usage = True  # until a stream comes back without usage
        self._slots = threading.BoundedSemaphore(max(1, concurrency))
        # a local server ignores the key, but the client insists on having one
        self._client = self._openai.OpenAI(
            base_url=self.base_url,
            api_key=api_key or "no-key",
            timeout=timeout,
            max_retries=0,
        )

    @property
    def identity(self) -> str:
        extra = json.dumps(self.extra_body, sort_keys=True) if self.extra_body else ""
        return f"openai:{self.model}{extra}"

    def check(self) -> None:
        """Fail early, before a long run, on a wrong key or an unreachable server.

        Lists the served models (free); a server without that endpoint is let through.
        """
        try:
            self._client.models.list()
        except self._openai.APIStatusError as exc:
            if exc.status_code in (401, 403):
                raise self._status_error(exc) from exc
        except self._openai.APIConnectionError as exc:
            raise self._unreachable(exc) from exc

    def complete(self, request: ChatRequest) -> Completion:
        with self._slots:
            for attempt in range(self.retries + 1):
                try:
                    if self._stream_usage:
                        return self._stream(request)
                    return self._whole(request)
                except self._openai.APIStatusError as exc:
                    if not _retried(exc.status_code) or attempt == self.retries:
                        raise self._status_error(exc) from exc
                    self._sleep(self._delay(attempt, exc))
                except self._openai.APITimeoutError as exc:
                    raise self._timeout_error() from exc
                except self._openai.APIConnectionError as exc:
                    raise self._unreachable(exc) from exc
        raise AssertionError("unreachable")

    def _stream(self, request: ChatRequest) -> Completion:
        started = time.perf_counter()
        stream = self._client.chat.completions.create(
            model=self.model,
            messages=[{"role": m.role, "content": m.content} for m in request.messages],
            temperature=request.temperature,
            max_tokens=request.max_tokens,
            seed=request.seed,
            stream=True,
            stream_options={"include_usage": True},
            extra_body=self.extra_body or None,
        )
        parts: list[str] = []
        ttft: float | None = None
        usage = None
        finish: str | None = None
        try:
            for chunk in stream:
                if getattr(chunk, "usage", None):
                    usage = chunk.usage
                for choice in chunk.choices or ():
                    content = choice.delta.content if choice.delta else None
                    if content:
                        if ttft is None:
                            ttft = time.perf_counter() - started
                        parts.append(content)
                    if choice.finish_reason:
                        finish = choice.finish_reason
        except Exception as exc:  # the connection broke or timed out mid-answer
            if "timeout" in type(exc).__name__.lower() or "timed out" in str(exc).lower():
                raise self._timeout_error() from exc
            raise LLMError(
                f"the answer from {self.base_url} broke off: {type(exc).__name__}: {exc}"
            ) from exc
        text = "".join(parts)
        if usage is None:
            self._stream_usage = False
            prompt_chars = sum(len(m.content) for m in request.messages)
            prompt_tokens, completion_tokens = prompt_chars // 4, len(parts)
        else:
            prompt_tokens = int(usage.prompt_tokens or 0)
            completion_tokens = int(usage.completion_tokens or 0)
        return Completion(
            text=text,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            seconds=time.perf_counter() - started,
            ttft=ttft,
            finish_reason=finish,
        )

    def _whole(self, request: ChatRequest) -> Completion:
        started = time.perf_counter()
        answer = self._client.chat.completions.create(
            model=self.model,
            messages=[{"role": m.role, "content": m.content} for m in request.messages],
            temperature=request.temperature,
            max_tokens=request.max_tokens,
            seed=request.seed,
            extra_body=self.extra_body or None,
        )
        choice = answer.choices[0]
        usage = answer.usage
        return Completion(
            text=choice.message.content or "",
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            seconds=time.perf_counter() - started,
            finish_reason=choice.finish_reason,
        )

    def _delay(self, attempt: int, exc: Any) -> float:
        delay = self.backoff * 2**attempt
        header = exc.response.headers.get("retry-after") if exc.response is not None else None
        with contextlib.suppress(ValueError):
            delay = max(delay, float(header)) if header else delay
        return min(delay, _MAX_DELAY)

    def _unreachable(self, exc: Exception) -> LLMUnavailable:
        return LLMUnavailable(
            f"cannot reach the model server at {self.base_url} ({exc.__cause__ or exc}); "
            "is it running? Start it, or point --llm-base-url at it"
        )

    def _timeout_error(self) -> LLMError:
        return LLMError(
            f"the model server at {self.base_url} did not answer within {self.timeout:g} s; "
            "raise llm-timeout, lower llm-max-tokens, or use a faster model"
        )

    def _status_error(self, exc: Any) -> LLMError:
        status = exc.status_code
        message = _server_message(exc)
        if status in (401, 403):
            return LLMUnavailable(
                f"{self.base_url} refused the API key (HTTP {status}: {message}); put a valid key "
                f"in the environment variable {self.api_key_env}, or name another one with "
                "--llm-api-key-env"
            )
        if status == 404:
            return LLMUnavailable(
                f"{self.base_url} has no model {self.model!r} (HTTP 404: {message}); list the "
                f"served models with: curl {self.base_url.rstrip('/')}/models"
            )
        if _retried(status):
            return LLMError(
                f"{self.base_url} kept answering HTTP {status} ({message}) after "
                f"{self.retries} retries; wait and run again, or lower llm-concurrency"
            )
        return LLMError(f"{self.base_url} answered HTTP {status}: {message}")


def _retried(status: int) -> bool:
    return status in _RETRIED_STATUS or status >= 500


def _server_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str):
            return error
    return str(getattr(exc, "message", exc))
