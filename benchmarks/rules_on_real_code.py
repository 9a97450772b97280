"""Every rule on every function and method of real packages: does each rewrite compile,
does any rule raise, and what does each rule cost.

A rule is written from a few shapes; real code has many more. Before a rule change
lands, run it over code nobody wrote for it: a rewrite Python cannot compile, or a rule
that raises, is a bug even if verification would later throw the candidate away (it
costs a candidate slot and says the rule is wrong about its own conditions).

    python benchmarks/rules_on_real_code.py                 # the packages installed beside perfloop
    python benchmarks/rules_on_real_code.py --paths ~/src/mylib --rules inline-pure-function

Found so far: inline-pure-function put a string inside an f-string's braces (hypothesis
6's stateful.py) and dropped the parentheses a two-line callee needs (attrs'
_generate_unique_filename); scalar-replace-attributes read every method of a class once
per method it rewrote (mpmath's contexts, 4.5x slower than needed).

Prints a table per rule (seconds, rewrites, rewrites that do not compile, raises) and,
as its last line, one JSON object: {"functions", "rewrites", "do_not_compile",
"rules_raised", "seconds"}.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst

from perfloop.propose.rules import RULES, Rule, RuleContext
from perfloop.propose.rules.base import FunctionRewrite

INSTALLED = ("rich", "pygments", "markdown_it", "libcst", "hypothesis", "_pytest", "cloudpickle")
"""perfloop's own dependencies: always installed beside it, none written for its rules."""


@dataclass
class RuleTally:
    rule: str
    seconds: float = 0.0
    rewrites: int = 0
    do_not_compile: list[str] = field(default_factory=list)  # "path:function: error"
    raised: list[str] = field(default_factory=list)


@dataclass
class Survey:
    functions: int
    tallies: dict[str, RuleTally]
    seconds: float


def package_folder(name: str) -> Path | None:
    """The folder (or file) an importable package is installed in, without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        return None
    origin = Path(spec.origin)
    return origin.parent if origin.name == "__init__.py" else origin


def functions_of(module: cst.Module) -> Iterator[tuple[cst.FunctionDef, RuleContext]]:
    """Module-level functions and the methods of module-level classes, each with the
    context a rule gets for it in a perfloop run."""
    context = RuleContext(module=module)
    for statement in module.body:
        if isinstance(statement, cst.FunctionDef):
            yield statement, context
        elif isinstance(statement, cst.ClassDef) and isinstance(statement.body, cst.IndentedBlock):
            in_class = RuleContext(module=module, enclosing_classes=(statement.name.value,))
            for member in statement.body.body:
                if isinstance(member, cst.FunctionDef):
                    yield member, in_class


def source_files(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        yield from [path] if path.is_file() else sorted(path.rglob("*.py"))


def survey(paths: Iterable[Path], rules: Iterable[Rule] = RULES) -> Survey:
    """Run each rule on each function of the Python files under `paths` (files that this
    Python cannot compile as they are are skipped) and compile what it returns; rules
    meant for another Python are left out, as a perfloop run leaves them out."""
    rules = [rule for rule in rules if rule.supports(sys.version_info[:2])]
    tallies = {rule.id: RuleTally(rule.id) for rule in rules}
    functions = 0
    started = time.perf_counter()
    for path in source_files(paths):
        try:
            text = path.read_text(encoding="utf-8")
            compile(text, str(path), "exec")
            module = cst.parse_module(text)
        except (SyntaxError, ValueError, UnicodeDecodeError, cst.ParserSyntaxError):
            continue
        for func, context in functions_of(module):
            functions += 1
            for rule in rules:
                _try(rule, func, context, module, f"{path}:{func.name.value}", tallies[rule.id])
    return Survey(functions, tallies, time.perf_counter() - started)


def _try(
    rule: Rule,
    func: cst.FunctionDef,
    context: RuleContext,
    module: cst.Module,
    where: str,
    tally: RuleTally,
) -> None:
    started = time.perf_counter()
    try:
        rewritten = rule.rewrite(func, context)
    except Exception as exc:  # a rule must say None, not raise
        tally.raised.append(f"{where}: {type(exc).__name__}: {exc}")
        return
    finally:
        tally.seconds += time.perf_counter() - started
    if rewritten is None:
        return
    tally.rewrites += 1
    statements: tuple[cst.CSTNode, ...] = ()
    if isinstance(rewritten, FunctionRewrite):
        statements, rewritten = rewritten.module_statements, rewritten.func
    code = "".join(module.code_for_node(node) for node in (*statements, rewritten))
    try:
        compile(code, where, "exec")
    except SyntaxError as exc:
        tally.do_not_compile.append(f"{where}: {exc.msg} (line {exc.lineno})")


def print_table(result: Survey) -> None:
    print(f"{result.functions} functions and methods, {result.seconds:.0f} s")
    print(f"{'rule':32} {'seconds':>8} {'rewrites':>9} {'do not compile':>15} {'raised':>7}")
    for tally in sorted(result.tallies.values(), key=lambda t: -t.seconds):
        print(
            f"{tally.rule:32} {tally.seconds:8.1f} {tally.rewrites:9d} "
            f"{len(tally.do_not_compile):15d} {len(tally.raised):7d}"
        )
    for tally in result.tallies.values():
        for line in (tally.do_not_compile + tally.raised)[:5]:
            print(f"{tally.rule}: {line}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packages", default=",".join(INSTALLED), help="importable names")
    parser.add_argument("--paths", nargs="*", default=[], type=Path, help="more folders or files")
    parser.add_argument("--rules", default="", help="comma-separated rule ids (default: all)")
    args = parser.parse_args(argv)
    folders = [f for f in map(package_folder, filter(None, args.packages.split(","))) if f]
    wanted = set(filter(None, args.rules.split(",")))
    rules = [
        rule
        for rule in RULES
        if (not wanted or rule.id in wanted) and rule.supports(sys.version_info[:2])
    ]
    result = survey([*folders, *args.paths], rules)
    print_table(result)
    tallies = result.tallies.values()
    print(
        json.dumps(
            {
                "functions": result.functions,
                "rewrites": sum(t.rewrites for t in tallies),
                "do_not_compile": sum(len(t.do_not_compile) for t in tallies),
                "rules_raised": sum(len(t.raised) for t in tallies),
                "seconds": round(result.seconds, 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
