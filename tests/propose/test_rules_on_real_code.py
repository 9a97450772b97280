"""Every rule on real code nobody wrote for it: each rewrite compiles, and no rule raises.

The rules' own tests hold the shapes each rule was written from; these run all of them on
the functions and methods of a few modules of `rich` and `pygments` (perfloop's own
dependencies, so always installed). benchmarks/rules_on_real_code.py runs the same over
whole packages and prints what each rule costs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import libcst as cst

from perfloop.propose.rules import Rule, RuleContext, Safety

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from rules_on_real_code import package_folder, survey

MODULES = (
    ("rich", ("text.py", "segment.py", "style.py", "markup.py", "cells.py", "table.py")),
    ("pygments", ("lexer.py", "formatters/html.py", "util.py")),
)


def real_modules() -> list[Path]:
    found = []
    for package, files in MODULES:
        folder = package_folder(package)
        assert folder is not None, f"{package} is a dependency of perfloop"
        found += [folder / name for name in files if (folder / name).exists()]
    return found


def test_every_rewrite_of_real_code_compiles_and_no_rule_raises() -> None:
    result = survey(real_modules())
    assert result.functions > 200
    broken = {
        rule: tally.do_not_compile + tally.raised
        for rule, tally in result.tallies.items()
        if tally.do_not_compile or tally.raised
    }
    assert broken == {}
    # the rules do meet this code: lookups hoisted, generators, patterns, inlined helpers
    fired = {rule for rule, tally in result.tallies.items() if tally.rewrites}
    assert {"hoist-attribute-lookup", "hoist-global-lookup"} <= fired, fired


class _Careless(Rule):
    """Emits a `break` outside any loop for `a` (parses, does not compile); raises on `b`."""

    id = "careless"
    rationale = description = "the survey's own test"
    safety = Safety.NEEDS_VERIFICATION

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> cst.FunctionDef | None:
        if func.name.value == "b":
            raise KeyError("no such node")
        return func.with_changes(body=cst.IndentedBlock([cst.SimpleStatementLine([cst.Break()])]))


def test_the_survey_reports_code_that_does_not_compile_and_a_rule_that_raises(
    tmp_path: Path,
) -> None:
    module = tmp_path / "m.py"
    module.write_text("def a(x):\n    return x\n\n\ndef b(x):\n    return x\n")
    result = survey([module], [_Careless()])
    tally = result.tallies["careless"]
    assert result.functions == 2 and tally.rewrites == 1
    assert tally.do_not_compile == [f"{module}:a: 'break' outside loop (line 2)"]
    assert tally.raised == [f"{module}:b: KeyError: 'no such node'"]
