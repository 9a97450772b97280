"""`perfloop recipes [list | show ID | export]`: the recipe library of this project's runs.

Every verified edit measured faster is a recipe (perfloop.recipes.library); `list` shows
them with their speedup, origin, template and marks, `show` one in full (before, after,
template, evidence, where it failed), `export` writes them as JSON for
`perfloop optimize --recipes FILE` in another project.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from perfloop.atomic import write_atomic
from perfloop.cli.common import add_json_argument, add_root_argument
from perfloop.recipes.library import Library, Recipe, load_library, to_json
from perfloop.report.terminal import console_for

NAME = "recipes"


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    parser = commands.add_parser(
        NAME,
        help="list, show or export the recipes (verified faster edits) of this project's runs",
        description="Every edit a run verified and measured faster is a recipe: its before "
        "and after, where it came from, its speedup and the evidence. `list` (the default) "
        "lists them, `show ID` shows one, `export` writes them as JSON for `perfloop "
        "optimize --recipes FILE`. A recipe whose template later failed verification is "
        "marked, with where and why, and is not proposed again.",
    )
    parser.add_argument("action", nargs="?", default="list", choices=("list", "show", "export"))
    parser.add_argument("recipe_id", nargs="?", metavar="ID", help="for show: a recipe id")
    parser.add_argument(
        "--recipes",
        action="append",
        default=[],
        metavar="SOURCE",
        help="also read these libraries (exported files or project folders); repeatable",
    )
    parser.add_argument("--output", type=Path, metavar="FILE", help="export: write here")
    add_json_argument(parser, "list or show as JSON")
    add_root_argument(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    root = args.root.resolve()
    own = [str(root)] if (root / ".perfloop" / "perfloop.db").exists() else []
    library = load_library([*own, *args.recipes], root)
    console = console_for(stderr=args.json or (args.action == "export" and not args.output))
    if args.action == "show":
        if not args.recipe_id:
            console.print("perfloop recipes show needs a recipe id; `perfloop recipes` lists them")
            return 2
        recipe = library.find(args.recipe_id)
        if args.json:
            document = to_json(Library((recipe,), library.failures_of(recipe)))
            print(json.dumps(document, indent=2))
        else:
            _show(console, library, recipe)
        return 0
    if args.action == "export":
        text = json.dumps(to_json(library), indent=2) + "\n"
        if args.output is None:
            print(text, end="")
        else:
            write_atomic(args.output, text)
            console.print(
                f"{len(library.recipes)} recipes written to {args.output}; use them in another "
                f"project with: perfloop optimize --recipes {args.output}",
                highlight=False,
            )
        return 0
    if args.json:
        print(json.dumps(to_json(library), indent=2))
        return 0
    _list(console, library, root)
    return 0


def _list(console: Console, library: Library, root: Path) -> None:
    if not library.recipes:
        console.print(
            f"no recipes in {root}: no run verified an edit that measured faster yet "
            "(`perfloop optimize` makes them)",
            highlight=False,
        )
        return
    table = Table(title=f"perfloop recipes of {', '.join(library.sources)}", title_justify="left")
    for column in ("id", "speedup [95% CI]", "learned on", "from", "template", "status"):
        table.add_column(column)
    for recipe in sorted(library.recipes, key=lambda r: -r.speedup):
        failures = library.failures_of(recipe)
        status = f"[red]failed {len(failures)}x, not used[/red]" if failures else "usable"
        table.add_row(
            recipe.recipe_id,
            _speedup(recipe),
            recipe.function,
            recipe.proposer,
            _template_cell(recipe),
            status,
        )
    console.print(table)
    console.print(
        f"show one: perfloop recipes show {library.recipes[0].recipe_id}", highlight=False
    )


def _speedup(recipe: Recipe) -> str:
    low, high = recipe.ci
    return f"{recipe.speedup:.2f}x [{low:.2f}, {high:.2f}]"


def _template_cell(recipe: Recipe) -> str:
    if recipe.from_rules:
        return "the rule itself"
    if recipe.template is None:
        return f"none: {recipe.no_template}"
    return f"{recipe.template.placeholders} names/constants abstracted"


def _show(console: Console, library: Library, recipe: Recipe) -> None:
    def line(label: str, value: str) -> None:
        console.print(f"{label:<13}{value}", highlight=False, soft_wrap=True)

    line("recipe", recipe.recipe_id)
    line("learned on", f"{recipe.function} ({recipe.path}), run {recipe.run_id}")
    if len(recipe.runs) > 1:
        line("found again", ", ".join(r for r in recipe.runs if r != recipe.run_id))
    line("from", recipe.proposer)
    p_value = f", p={recipe.p_value:.3g}" if recipe.p_value is not None else ""
    line("speedup", f"{_speedup(recipe)}{p_value}")
    line("python", recipe.python)
    for evidence in recipe.evidence:
        note = f" ({evidence.note})" if evidence.note else ""
        line("verified by", f"{evidence.tier}: {evidence.outcome}, {evidence.inputs} inputs{note}")
    if recipe.strength is not None:
        line("strength", f"{recipe.strength:.0%} of mutants caught by that verification")
    failures = library.failures_of(recipe)
    for failure in failures:
        line("FAILED", f"on {failure.function} in run {failure.run_id}: {failure.why}")
    if failures:
        line("status", "marked: not proposed again")
    console.print("\nbefore:", highlight=False)
    console.print(recipe.before.rstrip(), highlight=False, markup=False)
    console.print("\nafter:", highlight=False)
    console.print(recipe.after.rstrip(), highlight=False, markup=False)
    if recipe.from_rules:
        console.print("\ntemplate: none needed; the rule proposes it everywhere", highlight=False)
    elif recipe.template is None:
        console.print(f"\ntemplate: none; {recipe.no_template}", highlight=False)
    else:
        console.print(
            "\ntemplate (_pl_n: a local name, _pl_a: an attribute, _pl_c: a constant):",
            highlight=False,
        )
        console.print(recipe.template.pattern, highlight=False, markup=False)
        console.print("->", highlight=False)
        console.print(recipe.template.replacement, highlight=False, markup=False)
