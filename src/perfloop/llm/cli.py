"""The `--llm...` flags of `perfloop optimize`, and `--llm-log`'s printing of each call."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from rich.console import Console

from perfloop.config import Settings
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


def _prices(text: str) -> tuple[float, float]:
    try:
        prompt, completion = (float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give two numbers, US dollars per million prompt and completion tokens, "
            "e.g. 0.15,0.60"
        ) from None
    return prompt, completion


def add_llm_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "LLM proposals", "also ask a model for faster versions (off unless --llm is given)"
    )
    group.add_argument(
        "--llm",
        metavar="openai:MODEL|local[:PATH]",
        help="openai:MODEL for any OpenAI-compatible endpoint (vLLM, llama.cpp, Ollama, cloud); "
        "local for the bundled SmolLM2 GGUF in process, local:PATH for another GGUF file",
    )
    group.add_argument(
        "--llm-base-url", metavar="URL", help="endpoint, e.g. http://127.0.0.1:8000/v1"
    )
    group.add_argument(
        "--llm-api-key-env",
        metavar="NAME",
        help=f"environment variable with the API key ({Settings.llm_api_key_env})",
    )
    group.add_argument(
        "--llm-samples", type=int, metavar="N", help=f"answers per round ({Settings.llm_samples})"
    )
    group.add_argument(
        "--llm-rounds",
        type=int,
        metavar="N",
        help=f"repair/refinement rounds after the first ({Settings.llm_rounds})",
    )
    group.add_argument(
        "--llm-max-tokens",
        type=int,
        metavar="N",
        help=f"tokens per answer ({Settings.llm_max_tokens})",
    )
    group.add_argument(
        "--llm-timeout",
        type=float,
        metavar="S",
        help=f"seconds per call ({Settings.llm_timeout:g})",
    )
    group.add_argument(
        "--llm-log", action="store_true", default=None, help="print every prompt and answer"
    )
    group.add_argument(
        "--no-llm-cache",
        dest="llm_cache",
        action="store_false",
        default=None,
        help="ask the model again even for a request it already answered",
    )
    group.add_argument(
        "--llm-prices",
        type=_prices,
        metavar="PROMPT,COMPLETION",
        help="US dollars per million tokens, to report what the run cost",
    )
    group.add_argument(
        "--llm-token-budget", type=int, metavar="N", help="stop asking after N tokens"
    )
    group.add_argument("--llm-time-budget", type=float, metavar="S", help="stop asking after S s")
    group.add_argument("--llm-prompts", metavar="DIR", help="folder of prompt templates to use")
    group.add_argument(
        "--llm-extra-body",
        metavar="JSON",
        help="extra request fields for the server, e.g. '{\"repeat_penalty\": 1.0}'",
    )


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
