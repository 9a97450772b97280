"""Finding a function in a module and applying rules to it, source-preserving.

The rules see one `libcst.FunctionDef`; this module finds it by qualname, puts
the rewritten function back in place (nothing else in the module changes), adds
the imports the rule asks for and the module-level constants it returns (just
above the function, or above the outermost class of a method), and checks that
the result still parses.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass

import libcst as cst

from perfloop.propose.rules.base import FunctionRewrite, ModuleFacts, Rule, RuleContext
from perfloop.qualnames import find_cst_path


@dataclass(frozen=True)
class Located:
    """A function found by qualname, the classes it is nested in, and its top-level statement."""

    func: cst.FunctionDef
    enclosing_classes: tuple[str, ...]
    top_level: cst.CSTNode | None = None
    """The module-level statement holding the function: itself, or its outermost class."""


@dataclass(frozen=True)
class Rewritten:
    """The whole new module and the new function's own source (dedented, decorators included)."""

    module_source: str
    function_source: str


def locate(module: cst.Module, qualname: str) -> Located | None:
    """The function `f` or method `Class.m` (classes may nest) defined in `module`,
    by the one rule of perfloop.qualnames (the later definition wins)."""
    found = find_cst_path(module.body, qualname)
    if found is None:
        return None
    function, classes = found
    top_level = classes[0] if classes else function
    return Located(function, tuple(c.name.value for c in classes), top_level)


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
    rewritten = rule.rewrite(located.func, context)
    if rewritten is None:
        return None
    if isinstance(rewritten, FunctionRewrite):
        new_func, constants = rewritten.func, rewritten.module_statements
    else:
        new_func, constants = rewritten, ()
    new_module = _replace_function(module, located, new_func)
    if constants:
        new_module = _insert_above(new_module, module, located, constants)
    if rule.imports:
        new_module = _with_imports(new_module, rule.imports)
    source = new_module.code
    if source == module.code:
        return None
    ast.parse(source)  # a rule bug that breaks syntax surfaces here, as SyntaxError
    function_source = new_module.code_for_node(new_func.with_changes(leading_lines=()))
    if constants:  # shown with the function: it does not work without them
        spaced = (cst.EmptyLine(),)  # a helper function gets a blank line above it
        bare = [
            c.with_changes(leading_lines=spaced if isinstance(c, cst.FunctionDef) else ())
            for c in constants
        ]
        above = "".join(new_module.code_for_node(c) for c in bare)
        function_source = f"{above}\n\n{function_source}"
    return Rewritten(source, function_source)


def _replace_function(
    module: cst.Module, located: Located, new_func: cst.FunctionDef
) -> cst.Module:
    """`module` with `located.func` replaced, rebuilding only the classes around it
    (libcst's deep_replace would visit the whole module)."""

    def replaced(body: Sequence[cst.CSTNode]) -> list[cst.CSTNode]:
        result = []
        for statement in body:
            if statement is located.func:
                statement = new_func
            elif isinstance(statement, cst.ClassDef) and _holds(statement, located.func):
                block = statement.body
                assert isinstance(block, cst.IndentedBlock)
                statement = statement.with_changes(
                    body=block.with_changes(body=replaced(block.body))
                )
            result.append(statement)
        return result

    return module.with_changes(body=replaced(module.body))


def _holds(statement: cst.CSTNode, func: cst.FunctionDef) -> bool:
    if statement is func:
        return True
    if isinstance(statement, cst.ClassDef) and isinstance(statement.body, cst.IndentedBlock):
        return any(_holds(s, func) for s in statement.body.body)
    return False


def _with_imports(module: cst.Module, imports: tuple[tuple[str, str | None], ...]) -> cst.Module:
    """`module` with `import M` / `from M import N` lines it lacks, after its leading imports.

    (What libcst's AddImportsVisitor does, without visiting the whole module.)
    """
    present = {_import_key(s) for s in module.body if _import_key(s) is not None}
    missing = [
        cst.SimpleStatementLine(body=[_import_statement(m, n)])
        for m, n in imports
        if (m, n) not in present
    ]
    if not missing:
        return module
    body = list(module.body)
    index = 1 if body and _is_docstring(body[0]) else 0
    while index < len(body) and _import_key(body[index]) is not None:
        index += 1
    while index < len(body) and _is_import_line(body[index]):
        index += 1
    return module.with_changes(body=[*body[:index], *missing, *body[index:]])


def _is_import_line(statement: cst.CSTNode) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and all(
        isinstance(s, (cst.Import, cst.ImportFrom)) for s in statement.body
    )


def _import_key(statement: cst.CSTNode) -> tuple[str, str | None] | None:
    """("m", None) for `import m`, ("m", "n") for `from m import n`, for one-name lines."""
    if not _is_import_line(statement):
        return None
    assert isinstance(statement, cst.SimpleStatementLine)
    if len(statement.body) != 1:
        return ("", None)
    small = statement.body[0]
    names = small.names if not isinstance(small.names, cst.ImportStar) else ()  # type: ignore[union-attr]
    if len(names) != 1 or names[0].asname is not None:
        return ("", None)
    name = cst.Module(body=[]).code_for_node(names[0].name)
    if isinstance(small, cst.Import):
        return (name, None)
    assert isinstance(small, cst.ImportFrom)
    if small.module is None or small.relative:
        return ("", None)
    return (cst.Module(body=[]).code_for_node(small.module), name)


def _import_statement(module: str, name: str | None) -> cst.BaseSmallStatement:
    dotted = cst.parse_expression(module)
    assert isinstance(dotted, (cst.Name, cst.Attribute))
    if name is None:
        return cst.Import(names=[cst.ImportAlias(name=dotted)])
    return cst.ImportFrom(module=dotted, names=[cst.ImportAlias(name=cst.Name(name))])


def _is_docstring(statement: cst.CSTNode) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def _insert_above(
    new_module: cst.Module,
    old_module: cst.Module,
    located: Located,
    constants: tuple[cst.SimpleStatementLine | cst.FunctionDef, ...],
) -> cst.Module:
    """`constants` just above the function's top-level statement, after its blank lines."""
    index = next(i for i, s in enumerate(old_module.body) if s is located.top_level)
    top = new_module.body[index]
    blank = [line for line in top.leading_lines if line.comment is None] or [
        cst.EmptyLine(),
        cst.EmptyLine(),
    ]
    placed = [constants[0].with_changes(leading_lines=blank), *constants[1:]]
    body = [*new_module.body[:index], *placed, *new_module.body[index:]]
    return new_module.with_changes(body=body)
