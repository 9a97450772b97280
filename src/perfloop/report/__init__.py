"""What a run hands back: results.json, report.md and patch.diff in the run folder.

One renderer per format (results, markdown, terminal), each a pure function of
the RunResult.
"""

from __future__ import annotations

import json
from pathlib import Path

from perfloop.atomic import write_atomic
from perfloop.model import RunResult
from perfloop.report.markdown import render_markdown
from perfloop.report.results import results_document


def write_run_files(result: RunResult, run_dir: Path) -> str:
    """Write the run's files atomically; return the results.json text."""
    run_dir.mkdir(parents=True, exist_ok=True)
    results_json = json.dumps(results_document(result), indent=2)
    for name, text in (
        ("results.json", results_json + "\n"),
        ("report.md", render_markdown(result)),
        ("patch.diff", result.patch),
    ):
        write_atomic(run_dir / name, text)
    return results_json


__all__ = ["render_markdown", "results_document", "write_run_files"]
