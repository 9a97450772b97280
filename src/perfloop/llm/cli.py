"""The `--llm...` and `--proposer-...` flags of `perfloop optimize` (settings declared in
`perfloop.config`), and `--llm-log`'s printing of each call."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from rich.console import Console

from perfloop.config import add_setting_arguments
from perfloop.model import LLMCall

LLM_FLAGS = (
    "llm",
    "llm_base_url",
    "llm_api_key_env",
    "llm_samples",
    "llm_rounds",
    "llm_max_tokens",
    "llm_timeout",
    "llm_log",
    "llm_cache",
    "llm_prices",
    "llm_token_budget",
    "llm_time_budget",
    "llm_prompts",
    "llm_extra_body",
)


PROPOSER_FLAGS = ("proposer_cmd", "proposer_name", "proposer_timeout", "proposer_rounds")


def add_llm_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "LLM proposals", "also ask a model for faster versions (off unless --llm is given)"
    )
    add_setting_arguments(group, LLM_FLAGS)
    command = parser.add_argument_group(
        "a proposer command",
        "also run a command you already use (a coding agent, a model CLI, a script) with "
        "perfloop's prompt, per target (off unless --proposer-cmd is given)",
    )
    add_setting_arguments(command, PROPOSER_FLAGS)


def llm_log_printer(console: Console) -> Callable[[LLMCall], None]:
    def show(call: LLMCall) -> None:
        source = "from the cache" if call.cached else f"{call.seconds:.1f} s"
        header = (
            f"--- LLM {call.purpose} for {call.function} ({call.model}, {source}, "
            f"{call.prompt_tokens}+{call.completion_tokens} tokens) ---"
        )
        outcome = call.error or call.problem or f"candidate {call.candidate_id}"
        console.print(header, markup=False, highlight=False)
        console.print(call.prompt, markup=False, highlight=False)
        console.print("--- answer ---", markup=False, highlight=False)
        console.print(call.response, markup=False, highlight=False)
        console.print(f"--- {outcome} ---", markup=False, highlight=False)

    return show
