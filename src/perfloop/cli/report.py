"""`perfloop report RUN_ID [--open]`: the run's report.html, made again if it is missing."""

from __future__ import annotations

import argparse
import webbrowser

from perfloop.atomic import write_atomic
from perfloop.cli.common import add_root_argument
from perfloop.cli.runs import open_store
from perfloop.config import ConfigError
from perfloop.model import RunId
from perfloop.report import renderer_named

NAME = "report"


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    parser = commands.add_parser(
        NAME,
        help="the run's HTML report (report.html, charts included); --open shows it",
        description="Print the path of the run's report.html (one self-contained file: it "
        "opens with no network), writing it from the stored result if the run folder lacks "
        "it; --open opens it in the default browser.",
    )
    parser.add_argument("run_id", metavar="RUN_ID", help="as `perfloop runs` lists it")
    add_root_argument(parser)
    parser.add_argument("--open", action="store_true", help="open it in the default browser")
    return parser


def run(args: argparse.Namespace) -> int:
    root = args.root.resolve()
    path = root / ".perfloop" / "runs" / args.run_id / "report.html"
    if not path.exists():
        store = open_store(root)
        try:
            result = store.load_result(RunId(args.run_id))
        finally:
            store.close()
        if result is None:
            raise ConfigError(
                f"run {args.run_id} has no report.html and kept no result to make one from; "
                "`perfloop runs` lists the runs and what they kept"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, renderer_named("html").render(result))
    print(path)
    if args.open:
        webbrowser.open(path.as_uri())
    return 0
