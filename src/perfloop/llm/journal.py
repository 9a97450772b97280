"""Every model call goes through here: answered from the run store's cache or the model,
then recorded with its tokens, timings and cost.

An identical request (the same model, messages and sampling settings) that the
model already answered, in this run or an earlier one, is answered from the
store: a re-run costs nothing. Requests not in the cache go to the model
concurrently (the backend limits how many are in flight); the store is only
touched from the calling thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from perfloop.llm.client import (
    ChatClient,
    ChatRequest,
    Completion,
    LLMError,
    LLMUnavailable,
    cache_key,
)
from perfloop.llm.settings import Prices
from perfloop.model import FunctionRef, LLMCall, RunId
from perfloop.store.runs import RunStore

CallLog = Callable[[LLMCall], None]


@dataclass(frozen=True)
class Answer:
    """What came back for one request; `call` is recorded once the answer is judged."""

    call: LLMCall
    unavailable: bool = False

    @property
    def truncated(self) -> bool:
        return self.call.finish_reason == "length"


class Journal:
    def __init__(
        self,
        client: ChatClient,
        store_path: Path,
        *,
        cache: bool = True,
        prices: Prices | None = None,
        concurrency: int = 2,
        log: CallLog | None = None,
    ) -> None:
        self.client = client
        self.store_path = store_path
        self.cache = cache
        self.prices = prices
        self.concurrency = max(1, concurrency)
        self.log = log
        self.tokens_spent = 0
        self.seconds_spent = 0.0
        self._store: RunStore | None = None

    @property
    def store(self) -> RunStore:
        if self._store is None:
            self._store = RunStore(self.store_path)
        return self._store

    def ask(
        self,
        run_id: RunId,
        function: FunctionRef,
        purpose: str,
        requests: Sequence[ChatRequest],
    ) -> list[Answer]:
        """One answer per request, in order; failures are answers with `call.error` set."""
        identity = self.client.identity
        keys = [cache_key(identity, request) for request in requests]
        cached = [self.store.cached_llm_answer(key) if self.cache else None for key in keys]
        missing = [i for i, hit in enumerate(cached) if hit is None]
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(missing) or 1)) as pool:
            outcomes = dict(zip(missing, pool.map(self._complete, [requests[i] for i in missing])))
        if missing:
            self.seconds_spent += time.perf_counter() - started
        answers = []
        for index, request in enumerate(requests):
            base = LLMCall(
                function=function,
                purpose=purpose,
                model=identity,
                prompt=request.prompt_text(),
                response="",
                prompt_tokens=0,
                completion_tokens=0,
                seconds=0.0,
                cache_key=keys[index],
            )
            hit = cached[index]
            if hit is not None:
                answers.append(
                    Answer(
                        replace(
                            base,
                            response=hit.response,
                            prompt_tokens=hit.prompt_tokens,
                            completion_tokens=hit.completion_tokens,
                            finish_reason=hit.finish_reason,
                            cached=True,
                        )
                    )
                )
                continue
            outcome = outcomes[index]
            if isinstance(outcome, LLMError):
                answers.append(
                    Answer(
                        replace(base, error=str(outcome)),
                        unavailable=isinstance(outcome, LLMUnavailable),
                    )
                )
                continue
            self.tokens_spent += outcome.prompt_tokens + outcome.completion_tokens
            cost = (
                self.prices.cost(outcome.prompt_tokens, outcome.completion_tokens)
                if self.prices
                else None
            )
            answers.append(
                Answer(
                    replace(
                        base,
                        response=outcome.text,
                        prompt_tokens=outcome.prompt_tokens,
                        completion_tokens=outcome.completion_tokens,
                        seconds=outcome.seconds,
                        ttft=outcome.ttft,
                        cost=cost,
                        finish_reason=outcome.finish_reason,
                    )
                )
            )
        return answers

    def _complete(self, request: ChatRequest) -> Completion | LLMError:
        try:
            return self.client.complete(request)
        except LLMError as exc:
            return exc
        except Exception as exc:  # a backend bug must not end the run
            return LLMError(f"the model call failed unexpectedly: {type(exc).__name__}: {exc}")

    def record(self, run_id: RunId, call: LLMCall) -> None:
        self.store.save_llm_call(run_id, call)
        if self.log is not None:
            self.log(call)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
