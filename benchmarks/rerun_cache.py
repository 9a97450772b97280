"""How long a second `perfloop optimize` takes with the result cache: the first run, a rerun
on the unchanged project, and a rerun after editing one function.

It copies the bundled example (examples/shop) to a temporary folder, runs the real
command three times as a user would (`perfloop optimize --format json`), and prints a
table, then as its last line one JSON object of the headline figures:

    first_seconds, rerun_seconds, rerun_ratio (rerun over first), edited_rerun_seconds,
    edited_function, recomputed_after_edit (the targets the edited rerun computed again),
    same_results (the rerun's verdicts and measurements equal the first run's)

    .venv/bin/python benchmarks/rerun_cache.py                 # the example as `make demo` runs it
    .venv/bin/python benchmarks/rerun_cache.py --top 2 --mutants 10   # smaller, quicker

Extra arguments go to every `perfloop optimize`. The aim is a rerun in at most 10% of the
first run's time with the same results.
"""

from __future__ import annotations

import argparse
import ast
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "shop"


def optimize(root: Path, extra: list[str]) -> tuple[float, dict]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "perfloop", "optimize", "--format", "json", *extra],
        cwd=root,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"perfloop optimize failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return seconds, json.loads(done.stdout)


def outcome(document: dict) -> list[tuple]:
    """What a run decided, target by target: status, the winner and its figures."""
    rows = []
    for target in document["targets"]:
        best = target["best"] or {}
        rows.append(
            (
                target["function"],
                target["status"],
                best.get("origin"),
                best.get("speedup"),
                tuple(best.get("ci") or ()),
                target["candidates_tried"],
            )
        )
    return rows


def states(document: dict) -> dict[str, str]:
    return {t["function"]: (t["cache"] or {}).get("state", "-") for t in document["targets"]}


def edit_function(root: Path, function: str) -> Path:
    """Put a comment line at the top of the function's body: its source changes, what it
    does does not."""
    module, qualname = function.split(":")
    path = root / Path(*module.split(".")).with_suffix(".py")
    if not path.exists():
        path = root / Path(*module.split(".")) / "__init__.py"
    source = path.read_text()
    tree = ast.parse(source)
    node: ast.AST = tree
    for part in qualname.split("."):
        node = next(
            n
            for n in ast.iter_child_nodes(node)
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and n.name == part
        )
    first = node.body[0]  # type: ignore[attr-defined]
    lines = source.splitlines(keepends=True)
    indent = " " * first.col_offset
    lines.insert(first.lineno - 1, f"{indent}# edited by benchmarks/rerun_cache.py\n")
    path.write_text("".join(lines))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    _, extra = parser.parse_known_args()
    with tempfile.TemporaryDirectory(prefix="perfloop-rerun-") as folder:
        root = Path(folder) / "shop"
        shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".perfloop", "__pycache__"))
        first_seconds, first = optimize(root, extra)
        rerun_seconds, rerun = optimize(root, extra)
        improved = [t["function"] for t in first["targets"] if t["status"] == "improved"]
        edited = (improved or [t["function"] for t in first["targets"]])[0]
        edit_function(root, edited)
        edited_seconds, after_edit = optimize(root, extra)

    same = outcome(first) == outcome(rerun) and all(
        state == "reused" for state in states(rerun).values()
    )
    recomputed = sorted(f for f, s in states(after_edit).items() if s != "reused")
    rows = [
        ("first run", first_seconds, states(first)),
        ("rerun, unchanged", rerun_seconds, states(rerun)),
        (f"rerun, {edited} edited", edited_seconds, states(after_edit)),
    ]
    print(f"examples/shop, perfloop optimize {' '.join(extra)}".rstrip())
    print(f"{'run':<48} {'seconds':>8} {'of first':>9}  targets reused")
    for name, seconds, cache in rows:
        reused = sum(1 for s in cache.values() if s == "reused")
        print(f"{name:<48} {seconds:8.1f} {seconds / first_seconds:9.1%}  {reused} of {len(cache)}")
    print(f"same results on the rerun: {same}; recomputed after the edit: {', '.join(recomputed)}")
    for target in outcome(first):
        print("  ", *target)
    print(
        json.dumps(
            {
                "first_seconds": round(first_seconds, 1),
                "rerun_seconds": round(rerun_seconds, 1),
                "rerun_ratio": round(rerun_seconds / first_seconds, 4),
                "edited_rerun_seconds": round(edited_seconds, 1),
                "edited_function": edited,
                "recomputed_after_edit": recomputed,
                "targets": len(first["targets"]),
                "same_results": same,
            }
        )
    )


if __name__ == "__main__":
    main()
