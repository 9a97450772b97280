"""The OpenAI-compatible backend against a real HTTP server on loopback: answers, retries,
and the errors a user meets (server down, wrong key, timeouts, overload)."""

from __future__ import annotations

import socket

import pytest
from fake_openai_server import FakeOpenAI, answer, error

from perfloop.llm.client import ChatRequest, LLMError, LLMUnavailable, Message
from perfloop.llm.openai_backend import OpenAIClient

REQUEST = ChatRequest((Message("user", "make it faster"),), temperature=0.0, max_tokens=64)


def client(url: str, **kw: object) -> OpenAIClient:
    options = {"backoff": 0.01, "timeout": 5.0, **kw}
    return OpenAIClient("fake-model", url, kw.pop("api_key", None), **options)  # type: ignore[arg-type]


def test_an_answer_is_streamed_with_its_tokens_and_time_to_first_token() -> None:
    with FakeOpenAI([answer("```python\ndef f():\n    return 1\n```")]) as server:
        completion = client(server.base_url).complete(REQUEST)
    assert completion.text == "```python\ndef f():\n    return 1\n```"
    assert completion.prompt_tokens == 100 and completion.completion_tokens > 0
    assert completion.ttft is not None and completion.ttft <= completion.seconds
    assert completion.finish_reason == "stop"
    sent = server.requests[0]
    assert sent["model"] == "fake-model" and sent["temperature"] == 0.0 and sent["stream"]


def test_429_then_success_retries_and_answers() -> None:
    steps = [error(429, headers={"Retry-After": "0"}), error(503), answer("ok")]
    with FakeOpenAI(steps) as server:
        completion = client(server.base_url).complete(REQUEST)
    assert completion.text == "ok"
    assert len(server.requests) == 3


def test_a_server_that_keeps_failing_gives_up_after_the_retries_with_advice() -> None:
    with (
        FakeOpenAI([error(500)] * 10) as server,
        pytest.raises(LLMError, match="kept answering HTTP 500") as caught,
    ):
        client(server.base_url, retries=2).complete(REQUEST)
    assert len(server.requests) == 3
    assert "lower llm-concurrency" in str(caught.value)


def test_a_slow_server_times_out_with_a_message_that_names_the_setting() -> None:
    with (
        FakeOpenAI([answer("late", delay=3.0)]) as server,
        pytest.raises(LLMError, match=r"did not answer within 0.5 s; raise llm-timeout"),
    ):
        client(server.base_url, timeout=0.5).complete(REQUEST)


def test_a_server_that_is_down_is_reported_as_unreachable() -> None:
    with socket.socket() as probe:  # a free port with nothing listening on it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    down = client(f"http://127.0.0.1:{port}/v1")
    with pytest.raises(LLMUnavailable, match=r"cannot reach the model server .* is it running"):
        down.complete(REQUEST)
    with pytest.raises(LLMUnavailable, match="cannot reach"):
        down.check()


def test_a_wrong_key_names_the_environment_variable_to_fix() -> None:
    with FakeOpenAI([answer("never")], api_key="right") as server:
        wrong = OpenAIClient(
            "fake-model", server.base_url, "wrong", api_key_env="MY_KEY", backoff=0.01
        )
        with pytest.raises(LLMUnavailable, match=r"refused the API key.*MY_KEY"):
            wrong.check()
        with pytest.raises(LLMUnavailable, match="HTTP 401"):
            wrong.complete(REQUEST)
        right = OpenAIClient("fake-model", server.base_url, "right", backoff=0.01)
        right.check()
        assert right.complete(REQUEST).text == "never"
    assert server.model_listings == 1


def test_a_missing_model_says_how_to_list_the_served_ones() -> None:
    with (
        FakeOpenAI([error(404)]) as server,
        pytest.raises(LLMUnavailable, match=r"has no model 'fake-model'.*curl"),
    ):
        client(server.base_url).complete(REQUEST)
