"""re-compile-hoist: a regular expression given as a literal is compiled once, at module level.

    def skus(review):                         _SKUS_RE = re.compile(r"[A-Z]{3}-\\d{4}")
        return re.findall(            →
            r"[A-Z]{3}-\\d{4}", review)           def skus(review):
                                                  return _SKUS_RE.findall(review)

Every `re.findall(pattern, ...)` call looks the pattern up in re's cache (type
checks, a dict lookup, a lock on a miss); the compiled pattern's method skips that.
A compiled pattern holds no state between calls, so a module-level one is safe to
measure.
"""

from __future__ import annotations

import libcst as cst

from perfloop.propose.rules import _edits, _regex, _tools
from perfloop.propose.rules.base import FunctionRewrite, Rule, RuleContext, Safety

EXAMPLE_FIRES = """
import re


def normalize_phone(raw):
    return re.sub(r"[^0-9+]", "", raw)
"""

EXAMPLE_SILENT = """
import re


def normalize_phone(raw, pattern):
    return re.sub(pattern, "", raw)
"""


class ReCompileHoist(Rule):
    id = "re-compile-hoist"
    rationale = "A pattern compiled once at module level skips re's cache lookup on every call."
    safety = Safety.ALWAYS_EQUIVALENT
    description = (
        "`re.F(LITERAL, ...)` for F in search, match, fullmatch, findall, finditer, split, "
        "sub, subn and compile, with a str or bytes literal pattern that compiles and flags "
        "that are absent or literal (`re.I | re.M`, not re.DEBUG), becomes "
        "`_QUALNAME_RE.F(...)` (`_QUALNAME_RE` for re.compile) with `_QUALNAME_RE = "
        "re.compile(LITERAL, FLAGS)` added just above the function (or its class). Silent "
        "unless the module "
        "binds `re` only by `import re` and the function does not rebind it. re.F(p, ...) "
        "is defined as re.compile(p).F(...) and re.compile returns its cached pattern "
        "object, so the result is the same; the pattern now compiles when the module is "
        "imported (it is checked to compile)."
    )

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> FunctionRewrite | None:
        context = context or RuleContext.standalone(func)
        if not _edits.imported_as(context.module_bindings, "re", "re"):
            return None
        if "re" in _tools.bound_names(func):
            return None
        reserved = context.reserved_names(func)
        edits = _edits.Edits()
        constants: dict[tuple[type, str | bytes, int], str] = {}
        statements: list[cst.SimpleStatementLine] = []
        qualname = "_".join([*context.enclosing_classes, func.name.value]).strip("_")
        base = f"_{qualname.upper()}_RE"  # unique per function: merged patches cannot clash
        for node in _tools.walk(func.body):
            found = _regex.regex_call(node, "re")
            if found is None:
                continue
            key = (type(found.pattern), found.pattern, found.flags)
            name = constants.get(key)
            if name is None:
                name = constants[key] = _tools.fresh_name(base, reserved)
                statements.append(_edits.assign(name, _compile_call(found)))
            if found.function == "compile":
                new: cst.BaseExpression = cst.Name(name)
            else:
                new = cst.Call(
                    func=cst.Attribute(value=cst.Name(name), attr=cst.Name(found.function)),
                    args=list(found.rest),
                )
            edits.replace_with(node, lambda n, new=new: new.with_changes(lpar=n.lpar, rpar=n.rpar))  # type: ignore[attr-defined]
        if not edits:
            return None
        return FunctionRewrite(_edits.apply_edits(func, edits), tuple(statements))


def _compile_call(found: _regex.RegexCall) -> cst.Call:
    args = [cst.Arg(found.pattern_node.with_changes(lpar=(), rpar=()))]
    if found.flags_node is not None and found.flags:
        args.append(cst.Arg(found.flags_node.with_changes(lpar=(), rpar=())))
    return cst.Call(func=cst.Attribute(value=cst.Name("re"), attr=cst.Name("compile")), args=args)
