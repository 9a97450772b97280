"""A recipe learned on one real library, proposed and verified on another.

1. tabulate 0.9.0: an outside proposer (a script standing in for an agent) rewrites
   `_flat_list`'s inner copy loop as one `extend()`; perfloop verifies and measures it, and it
   becomes a recipe whose template is "an append per item of a sequence -> one extend".
2. Markdown 3.7, optimized with `--recipes <the tabulate project>` and every rule: the
   template matches `TocTreeprocessor.add_anchor` (`for elem in c: anchor.append(elem)`), a
   function of other names in another library, and its candidate goes through the same
   gate, verification and measurement as the rules' candidates.

Each workload is written to reach its function (multi-line cells; headings with anchor
links). Prints a table per library and, as the last line, one JSON object: whether the
recipe verified on Markdown, its speedup there, and how many targets a recipe improved that
no rule did. Takes about ten minutes on two loaded cores; run it once:

    .venv/bin/python benchmarks/recipes_transfer.py
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from real_libraries import fetch_sdist, unpack  # the bed's own helpers

CACHE = Path.home() / ".cache" / "perfloop-bench"
TABULATE_WORKLOAD = """
import tabulate

rows = [
    [i, "\\n".join(f"line {j} of {i}" for j in range(i % 40 + 10)), f"{i * 3.14159:.3f}"]
    for i in range(150)
]
out = [tabulate.tabulate(rows, ["id", "text", "value"], tablefmt=f) for f in ("grid", "simple")]
print("tabulate", len(out), sum(len(t) for t in out))
"""
MARKDOWN_WORKLOAD = """
import markdown

text = "\\n\\n".join(
    f"## Part {i} " + " ".join(f"*w{i}_{j}* **b{j}** `c{j}`" for j in range(30)) + f"\\n\\nbody {i}"
    for i in range(40)
)
md = markdown.Markdown(extensions=["toc"], extension_configs={"toc": {"anchorlink": True}})
print("markdown", len(md.convert(text)))
"""
EXPERT = '''
"""The outside proposer of this benchmark: one edit, for tabulate's _flat_list."""
import os
from pathlib import Path

if os.environ["PERFLOOP_FUNCTION"] == "tabulate:_flat_list" and (
    os.environ["PERFLOOP_PURPOSE"] == "propose"
):
    Path(os.environ["PERFLOOP_OUT"], "flat.py").write_text(
        "def _flat_list(nested_list):\\n"
        "    ret = []\\n"
        "    for item in nested_list:\\n"
        "        if isinstance(item, list):\\n"
        "            ret.extend(item)\\n"
        "        else:\\n"
        "            ret.append(item)\\n"
        "    return ret\\n"
    )
'''
FAST = ["--mutants", "5", "--measure-processes", "2"]


def project(spec: str, workload: str, into: Path) -> Path:
    tree = unpack(fetch_sdist(spec, CACHE), into / spec.split("==")[0].lower())
    (tree / "workload.py").write_text(textwrap.dedent(workload).lstrip(), encoding="utf-8")
    return tree


def optimize(tree: Path, *flags: str) -> dict:
    command = [sys.executable, "-m", "perfloop", "optimize", "--root", str(tree),
               "--workload", "python workload.py", "--json", *FAST, *flags]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=3600, check=False)
    (tree.parent / f"{tree.name}.stderr").write_text(done.stderr, encoding="utf-8")
    if done.returncode != 0:
        raise RuntimeError(f"perfloop exited {done.returncode}: {done.stderr[-1500:]}")
    return json.loads(done.stdout)


def judged(tree: Path) -> list[dict]:
    """Every candidate of the project's runs that reached verification (`perfloop export
    --format reward`): function, origin, verdict, speedup and interval."""
    done = subprocess.run(
        [sys.executable, "-m", "perfloop", "export", "--format", "reward", "--root", str(tree)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return [json.loads(line) for line in done.stdout.splitlines()]


def perfloop_json(*args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "perfloop", *args], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="perfloop-recipes-") as folder:
        base = Path(folder)
        expert = base / "expert.py"
        expert.write_text(EXPERT, encoding="utf-8")
        tabulate = project("tabulate==0.9.0", TABULATE_WORKLOAD, base)
        optimize(
            tabulate,
            "--function",
            "tabulate:_flat_list",
            "--proposer-cmd",
            f"{shlex.quote(sys.executable)} {shlex.quote(str(expert))}",
            "--proposer-name",
            "expert",
        )
        library = perfloop_json("recipes", "--root", str(tabulate), "--json")["recipes"]
        markdown = project("Markdown==3.7", MARKDOWN_WORKLOAD, base)
        applied = optimize(
            markdown,
            "--function",
            "markdown.extensions.toc:TocTreeprocessor.add_anchor",
            "--recipes",
            str(tabulate),
            "--no-project-tests",  # Markdown's suite takes minutes; replay, fuzz, rollout judge
        )
        tables = {"tabulate": judged(tabulate), "markdown": judged(markdown)}
    print(f"{'library':<9} {'function':<52} {'origin':<22} {'verdict':<11} speedup [95% CI]")
    for name, lines in tables.items():
        for line in lines:
            ci = line["ci"]
            speedup = f"{line['speedup']:.2f}x [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "-"
            print(
                f"{name:<9} {line['function']:<52} {line['origin']:<22} "
                f"{line['verdict']:<11} {speedup}"
            )
    print(f"recipes learned on tabulate: {', '.join(r['recipe_id'] for r in library) or 'none'}")
    on_markdown = tables["markdown"]
    by_recipe = [c for c in on_markdown if c["origin"].startswith("recipe:")]
    targets = {t["function"]: t for t in applied["targets"]}
    reached = [
        function
        for function, target in targets.items()
        if str((target.get("best") or {}).get("origin", "")).startswith("recipe:")
        and not any(
            c["function"] == function
            and c["origin"].startswith(("rule:", "rules:"))
            and c["verdict"] == "equivalent"
            and (c["ci"] or [0])[0] > 1
            for c in on_markdown
        )
    ]
    headline = {
        "learned_on": "tabulate==0.9.0:_flat_list",
        "recipes_learned": len(library),
        "applied_to": "Markdown==3.7:TocTreeprocessor.add_anchor",
        "recipe_candidates_there": len(by_recipe),
        "recipe_verified_there": any(c["verdict"] == "equivalent" for c in by_recipe),
        "recipe_speedup_there": next((c["speedup"] for c in by_recipe if c["speedup"]), None),
        "targets_improved_by_recipes_not_rules": len(reached),
    }
    print(json.dumps(headline))


if __name__ == "__main__":
    main()
