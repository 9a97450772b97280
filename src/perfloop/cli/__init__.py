"""The `perfloop` command: main.py parses and dispatches; one module per subcommand.

Adding a command: write `cli/<name>.py` with
`add_parser(subparsers) -> argparse.ArgumentParser` and `run(args) -> int`, and
add the module to COMMANDS below. `main.main` turns the usual errors into exit
codes, so a command only returns 0 (done), 1 (failed) or 3 (undecided).
The arguments several commands share are declared once in common.py.
"""

from __future__ import annotations

from perfloop.cli import (
    batch,
    bench,
    check,
    diff,
    doctor,
    export,
    mcp,
    optimize,
    recipes,
    report,
    resume,
    revert,
    runs,
    show,
    verify,
)

COMMANDS = (
    optimize,
    batch,
    resume,
    revert,
    verify,
    bench,
    check,
    runs,
    show,
    diff,
    report,
    export,
    recipes,
    mcp,
    doctor,
)
