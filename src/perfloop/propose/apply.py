"""Finding a function in a module and applying rules to it, source-preserving.

The rules see one `libcst.FunctionDef`; this module finds it by qualname, puts
the rewritten function back in place (nothing else in the module changes), adds
the imports the rule asks for, and checks that the result still parses.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor

from perfloop.propose.rules.base import ModuleFacts, Rule, RuleContext


@dataclass(frozen=True)
class Located:
    """A function found by qualname, and the classes it is nested in."""

    func: cst.FunctionDef
    enclosing_classes: tuple[str, ...]


@dataclass(frozen=True)
class Rewritten:
    """The whole new module and the new function's own source (dedented, decorators included)."""

    module_source: str
    function_source: str


def locate(module: cst.Module, qualname: str) -> Located | None:
    """The function `f` or method `Class.m` (classes may nest) defined in `module`.

    When a name is defined twice at the same level the later definition wins, as
    it does when the module runs.
    """
    parts = qualname.split(".")
    body: tuple[cst.CSTNode, ...] = tuple(module.body)
    classes: list[str] = []
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        wanted = cst.FunctionDef if last else cst.ClassDef
        found = None
        for statement in body:
            if isinstance(statement, wanted) and statement.name.value == part:
                found = statement
        if found is None:
            return None
        if last:
            assert isinstance(found, cst.FunctionDef)
            return Located(found, tuple(classes))
        classes.append(part)
        body = tuple(found.body.body) if isinstance(found.body, cst.IndentedBlock) else ()
    return None


def apply_rule(
    module: cst.Module, qualname: str, rule: Rule, facts: ModuleFacts | None = None
) -> Rewritten | None:
    """`module` with `rule` applied to the function `qualname`, or None if it does not fire.

    `facts` about `module` may be passed in to share them between calls.

    Exceptions from the rule propagate; callers that must not fail catch them.
    None also when the result would not parse or would not differ from the input.
    """
    located = locate(module, qualname)
    if located is None:
        return None
    context = RuleContext(
        module=module,
        enclosing_classes=located.enclosing_classes,
        facts=facts if facts is not None else ModuleFacts(module),
    )
    new_func = rule.rewrite(located.func, context)
    if new_func is None:
        return None
    new_module = module.deep_replace(located.func, new_func)
    assert isinstance(new_module, cst.Module)
    if rule.imports:
        codemod_context = CodemodContext()
        for module_name, name in rule.imports:
            AddImportsVisitor.add_needed_import(codemod_context, module_name, name)
        new_module = AddImportsVisitor(codemod_context).transform_module(new_module)
    source = new_module.code
    if source == module.code:
        return None
    ast.parse(source)  # a rule bug that breaks syntax surfaces here, as SyntaxError
    function_source = new_module.code_for_node(new_func.with_changes(leading_lines=()))
    return Rewritten(source, function_source)
