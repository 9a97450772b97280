"""The LLM part of the settings, read from `Settings` and checked once.

`--llm openai:MODEL` talks to an OpenAI-compatible endpoint (`--llm-base-url`,
key from the environment variable `--llm-api-key-env` names); `--llm local` runs
the bundled SmolLM2 GGUF in process, `--llm local:PATH` another GGUF file.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from perfloop.config import ConfigError, Settings
from perfloop.llm.client import ChatClient


@dataclass(frozen=True)
class Prices:
    """US dollars per million tokens, as providers publish them."""

    prompt: float
    completion: float

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.prompt + completion_tokens * self.completion) / 1e6


@dataclass(frozen=True)
class LLMSettings:
    backend: str
    model: str
    base_url: str | None = None
    api_key_env: str = Settings.llm_api_key_env
    samples: int = Settings.llm_samples
    rounds: int = Settings.llm_rounds
    temperature: float = Settings.llm_temperature
    max_tokens: int = Settings.llm_max_tokens
    timeout: float = Settings.llm_timeout
    concurrency: int = Settings.llm_concurrency
    cache: bool = Settings.llm_cache
    log: bool = Settings.llm_log
    prices: Prices | None = None
    token_budget: int | None = None
    time_budget: float | None = None
    prompts: Path | None = None
    extra_body: tuple[tuple[str, object], ...] = ()

    @property
    def label(self) -> str:
        return f"{self.backend}:{self.model}" if self.model else self.backend

    def sampling_temperature(self) -> float:
        """Greedy for one sample (reproducible); `temperature` when drawing several."""
        return self.temperature if self.samples > 1 else 0.0


def parse_spec(spec: str) -> tuple[str, str]:
    """`openai:MODEL` -> ("openai", MODEL); `local` or `local:PATH` -> ("local", PATH or "")."""
    backend, _, model = spec.partition(":")
    if backend == "openai" and model:
        return backend, model
    if backend == "local":
        return backend, model
    raise ConfigError(
        f"--llm {spec!r} is not a model; write openai:MODEL (any OpenAI-compatible endpoint, "
        "e.g. openai:gpt-4o-mini or openai:qwen2.5-coder with --llm-base-url), local (the "
        "bundled SmolLM2 model) or local:PATH (a GGUF file)"
    )


def llm_settings(settings: Settings) -> LLMSettings | None:
    """None when no LLM is configured; ConfigError for settings that cannot work."""
    if not settings.llm:
        return None
    backend, model = parse_spec(settings.llm)
    prices = None
    if settings.llm_prices is not None:
        values = settings.llm_prices
        if isinstance(values, str):
            values = [part for part in values.split(",") if part.strip()]
        try:
            prompt, completion = (float(v) for v in values)
        except (TypeError, ValueError):
            raise ConfigError(
                f"llm-prices must be two numbers, US dollars per million prompt and completion "
                f"tokens (e.g. --llm-prices 0.15,0.60), not {settings.llm_prices!r}"
            ) from None
        prices = Prices(prompt, completion)
    return LLMSettings(
        backend=backend,
        model=model,
        base_url=settings.llm_base_url,
        api_key_env=settings.llm_api_key_env,
        samples=settings.llm_samples,
        rounds=settings.llm_rounds,
        temperature=settings.llm_temperature,
        max_tokens=settings.llm_max_tokens,
        timeout=settings.llm_timeout,
        concurrency=settings.llm_concurrency,
        cache=settings.llm_cache,
        log=settings.llm_log,
        prices=prices,
        token_budget=settings.llm_token_budget,
        time_budget=settings.llm_time_budget,
        prompts=Path(settings.llm_prompts) if settings.llm_prompts else None,
        extra_body=_extra_body(settings.llm_extra_body),
    )


def _extra_body(value: object) -> tuple[tuple[str, object], ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            value = None
    if not isinstance(value, dict):
        raise ConfigError(
            "llm-extra-body must be a JSON object of extra request fields, e.g. "
            "'{\"repeat_penalty\": 1.0}' for llama.cpp's server"
        )
    return tuple(sorted(value.items()))


def make_client(settings: LLMSettings) -> ChatClient:
    """The backend the settings name; LLMUnavailable if its package or model is missing."""
    if settings.backend == "local":
        from perfloop.llm.local_backend import LocalClient

        return LocalClient(settings.model or None)
    from perfloop.llm.openai_backend import OpenAIClient

    return OpenAIClient(
        settings.model,
        settings.base_url,
        os.environ.get(settings.api_key_env),
        api_key_env=settings.api_key_env,
        timeout=settings.timeout,
        concurrency=settings.concurrency,
        extra_body=dict(settings.extra_body),
    )
