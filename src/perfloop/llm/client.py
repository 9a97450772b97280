"""The one small interface every model backend implements, and what crosses it.

A backend turns a `ChatRequest` into a `Completion` (text, tokens, timings) or
raises `LLMError` with a message that says what to do. Everything else (prompts,
parsing, caching, accounting) is the same for every backend.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Protocol


class LLMError(Exception):
    """A call to the model failed; the message says why and what to do next."""


class LLMUnavailable(LLMError):
    """The model cannot be used at all (wrong key, unreachable server, missing model).

    Further calls would fail the same way, so a proposer stops calling it.
    """


@dataclass(frozen=True)
class Message:
    role: str
    content: str


@dataclass(frozen=True)
class ChatRequest:
    """One chat completion; `seed` makes sample k of n reproducible and distinct."""

    messages: tuple[Message, ...]
    temperature: float = 0.0
    max_tokens: int = 1024
    seed: int = 0
    cache_text: str | None = None
    """What identifies the request for the cache, when not the messages themselves."""

    def prompt_text(self) -> str:
        """The messages as one readable text, for the store and `--llm-log`."""
        return "\n\n".join(f"[{m.role}]\n{m.content}" for m in self.messages)


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    ttft: float | None = None
    finish_reason: str | None = None

    @property
    def truncated(self) -> bool:
        return self.finish_reason == "length"


class ChatClient(Protocol):
    """A model behind some transport. `identity` names the model for the cache key."""

    @property
    def identity(self) -> str: ...

    def complete(self, request: ChatRequest) -> Completion: ...


def cache_key(identity: str, request: ChatRequest) -> str:
    """Same model, same messages (or cache text), same sampling settings: the same key."""
    fields = asdict(request)
    if request.cache_text is not None:
        del fields["messages"]
    payload = json.dumps({"model": identity, **fields}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()
