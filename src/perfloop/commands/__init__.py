"""One module per `perfloop` subcommand, each with `add_parser` and `run`.

Adding a command: write `commands/<name>.py` with
`add_parser(subparsers) -> argparse.ArgumentParser` and `run(args) -> int`, and
add the module to COMMANDS below. `cli.main` turns the usual errors into exit
codes, so a command only returns 0 (done), 1 (failed) or 3 (undecided).
"""

from __future__ import annotations

from perfloop.commands import bench, check, doctor, mcp, optimize, resume, revert, verify

COMMANDS = (optimize, resume, revert, verify, bench, check, mcp, doctor)
