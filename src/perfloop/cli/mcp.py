"""`perfloop mcp`: serve perfloop's tools to a coding agent over MCP (stdio)."""

from __future__ import annotations

import argparse
import importlib.util

from perfloop.cli.common import add_root_argument
from perfloop.cli.verify import add_verification_arguments, engine_from
from perfloop.config import ConfigError, load_settings, setting_overrides
from perfloop.llm.cli import LLM_FLAGS, PROPOSER_FLAGS, add_llm_arguments

NAME = "mcp"


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    parser = commands.add_parser(
        NAME,
        help="serve profile, capture, verify, measure, propose and apply to a coding agent (MCP)",
        description="Run an MCP server on standard input and output for the project in --root; "
        "register it with your agent as the command `perfloop mcp --root /path/to/project`.",
    )
    add_root_argument(parser)
    add_verification_arguments(parser)
    add_llm_arguments(parser)  # the model for optimize and for decide's hints
    return parser


def run(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("mcp") is None:
        raise ConfigError(
            "the MCP server needs the mcp package: pip install 'perfloop[mcp]' (or pip install mcp)"
        )
    root = args.root.resolve()
    if not root.is_dir():
        raise ConfigError(f"--root {args.root} is not a directory")
    from perfloop.mcp_server import serve

    llm = setting_overrides(args, (*LLM_FLAGS, *PROPOSER_FLAGS))
    settings = load_settings(
        root, {"fuzz_examples": args.fuzz_examples, "mutants": args.mutants, **llm}
    )
    serve(root, engine_from(args, settings), llm)
    return 0
