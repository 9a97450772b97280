"""cache-pure-function: a pure module function keeps its answers between calls, for
arguments that are plain ints, strings, bytes or None.

    def exp_basecase(x, prec):          _EXP_BASECASE_RESULTS = {}
        ...loop...                      _EXP_BASECASE_KEY_TYPES = frozenset({int, str, bytes, ...})
        return s >> u              →
                                        def _exp_basecase_computed(x, prec):
                                            ...loop...
                                            return s >> u

                                        def exp_basecase(x, prec):
                                            if type(x) in _EXP_BASECASE_KEY_TYPES and ...:
                                                key = (x, prec)
                                                try:
                                                    return _EXP_BASECASE_RESULTS[key]
                                                except KeyError:
                                                    pass
                                                result = _exp_basecase_computed(x, prec)
                                                if <result is an immutable value>:
                                                    ...remember it (at most 4096 answers)...
                                                return result
                                            return _exp_basecase_computed(x, prec)

What maintainers do when a pure function is asked the same question again and again
(`functools.lru_cache` on `packaging.utils.canonicalize_name`, mpmath's own
`cos_sin_cache`): the answer is kept. Unlike `memoize-repeated-calls` (a cache for
one call of the caller), the answers live as long as the module, so the repeated
recorded calls that the micro A/B replays would time the cache, not the workload:
the measure stage sees that the candidate learns and judges it on the whole workload
(pipeline.candidates).

Exact where it fires: the key is the argument values of exact types int, str, bytes
and NoneType, which no two unequal values share (bool and float are left out: `True ==
1`, `0.0 == -0.0`), and only immutable answers (those types, float, bool, complex, and
tuples of them) are kept. The function must show no effect and depend on nothing but
its arguments and module constants (`pure_across_calls`): no global/nonlocal/yield,
no stores except into containers it made itself, no calls but to builtins without
effects, to module functions that pass the same test, and to names imported from
modules other than clocks, randomness, the OS and I/O; module names it reads are bound
once, never declared `global` anywhere, and hold constants (the analysis is in
perfloop.propose.rules._purity, which the gate uses too for a candidate that adds a
cache decorator).
"""

from __future__ import annotations

import libcst as cst

from perfloop.propose.rules import _tools
from perfloop.propose.rules._purity import ModuleView
from perfloop.propose.rules.base import FunctionRewrite, Rule, RuleContext, Safety
from perfloop.propose.rules.memoize_recursive import _docstring_and_rest

EXAMPLE_FIRES = '''
CUTOFF = 600


def series(x, prec):
    """exp(x) as a fixed-point number."""
    s = a = 1 << prec
    k = 1
    while a and k < CUTOFF:
        a = (a * x >> prec) // k
        s += a
        k += 1
    return s
'''

EXAMPLE_SILENT = """
SEEN = []


def series(x, prec):
    SEEN.append(x)
    s = a = 1 << prec
    k = 1
    while a:
        a = (a * x >> prec) // k
        s += a
        k += 1
    return s
"""

MAX_RESULTS = 4096
"""Answers kept per function; the dict is emptied when full (bounded memory, no LRU cost)."""

SCALAR_ATTRIBUTES = frozenset(dir(int)) | frozenset(dir(str)) | frozenset(dir(bytes))
"""What an int, str or bytes argument answers to: a parameter used otherwise (`tlist.tokens`)
takes objects, which the guard sends past the cache every time."""


def _scalar_parameters(func: cst.FunctionDef, params: set[str]) -> bool:
    """Every attribute read of a parameter, and of an item taken from one by a loop
    (`for customer in customers: customer.customer_id`), is one an int, str or bytes
    has: a list of objects never gets past the guard, and the rewrite would only cost."""
    analysis = _tools.Analysis.of(func)
    for node in _tools.walk(func.body):
        header = (node.target, node.iter) if isinstance(node, (cst.For, cst.CompFor)) else None
        if header is not None and isinstance(header[1], cst.Name) and header[1].value in params:
            params = params | (_tools.target_names(header[0]) or set())
    for name in params:
        for occurrence in analysis.of_name(name):
            parent = occurrence.parent
            if (
                isinstance(parent, cst.Attribute)
                and parent.value is occurrence.node
                and parent.attr.value not in SCALAR_ATTRIBUTES
            ):
                return False
    return True


def _returns_container(func: cst.FunctionDef) -> bool:
    """A `return [...]` (or dict, set, comprehension): a new mutable answer every call,
    which the cache would not keep."""
    containers = (cst.List, cst.Dict, cst.Set, cst.ListComp, cst.SetComp, cst.DictComp)
    return any(
        isinstance(node, cst.Return) and isinstance(node.value, containers)
        for node in _tools.walk(func.body)
    )


def _key_parameters(func: cst.FunctionDef) -> list[str] | None:
    params = func.params
    if params.star_kwarg is not None or params.posonly_params:
        return None
    if isinstance(params.star_arg, cst.Param):
        return None
    names = [p.name.value for p in (*params.params, *params.kwonly_params)]
    return names or None


def _call_arguments(func: cst.FunctionDef) -> str:
    positional = [p.name.value for p in func.params.params]
    keywords = [f"{p.name.value}={p.name.value}" for p in func.params.kwonly_params]
    return ", ".join(positional + keywords)


class CachePureFunction(Rule):
    id = "cache-pure-function"
    rationale = (
        "A pure function asked the same question again answers from a dict kept between "
        "calls instead of computing it again."
    )
    safety = Safety.NEEDS_VERIFICATION
    description = (
        "A module-level function without decorators, *args or **kwargs, whose body has a "
        "loop or a comprehension (cheaper functions cost no more than the lookup), shows no "
        "effect and reads nothing but its arguments and module constants (see the module "
        "docstring): its body moves to `_F_computed`, and F answers from a module-level "
        f"dict of at most {MAX_RESULTS} answers (emptied when full) when every argument is "
        "exactly an int, str, bytes or None and the answer is immutable (those, float, bool, "
        "complex, tuples of them). Judged on the whole workload, since the answers outlive "
        "the call. Differs when the function depends on state the syntax does not show (a "
        "module constant rebound from outside, an imported function with effects), when a "
        "caller relies on getting a new object (`is`), and in the extra traceback line "
        "`_F_computed` adds."
    )

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> FunctionRewrite | None:
        context = context or RuleContext.standalone(func)
        if context.is_method:
            return None
        if not _tools.contains(func.body, (cst.For, cst.While, *_tools.COMPREHENSIONS)):
            return None
        key = _key_parameters(func)
        if key is None or not _scalar_parameters(func, set(key)) or _returns_container(func):
            return None
        view = ModuleView(context.module, context.module_bindings)
        if not view.pure(func):
            return None
        name = func.name.value
        reserved = context.reserved_names(func)
        stem = name.strip("_")
        results = _tools.fresh_name(f"_{stem.upper()}_RESULTS", reserved)
        key_types = _tools.fresh_name(f"_{stem.upper()}_KEY_TYPES", reserved)
        computed = _tools.fresh_name(f"_{stem}_computed", reserved)
        answer_types = _tools.fresh_name(f"_{stem.upper()}_ANSWER_TYPES", reserved)
        guard = " and ".join(f"type({p}) in {key_types}" for p in key)
        key_expression = f"({key[0]},)" if len(key) == 1 else f"({', '.join(key)})"
        arguments = _call_arguments(func)
        docstring, rest = _docstring_and_rest(func.body)
        wrapper_body = f"""
    if {guard}:
        key = {key_expression}
        try:
            return {results}[key]
        except KeyError:
            pass
        result = {computed}({arguments})
        if type(result) in {answer_types} or (
            type(result) is tuple
            and all(type(item) in {answer_types} for item in result)
        ):
            if len({results}) >= {MAX_RESULTS}:
                {results}.clear()
            {results}[key] = result
        return result
    return {computed}({arguments})
"""
        if {"key", "result"} & set(key):
            return None  # the wrapper's own locals would shadow a parameter
        wrapper_block = cst.parse_module(f"def _w():{wrapper_body}").body[0]
        assert isinstance(wrapper_block, cst.FunctionDef)
        assert isinstance(wrapper_block.body, cst.IndentedBlock)
        new_body = list(docstring) + list(wrapper_block.body.body)
        if not isinstance(func.body, cst.IndentedBlock):
            return None
        wrapper = func.with_changes(body=func.body.with_changes(body=new_body))
        if not rest:
            return None
        inner = func.with_changes(
            name=cst.Name(computed),
            body=func.body.with_changes(body=rest),
            leading_lines=(cst.EmptyLine(), cst.EmptyLine()),
        )
        statements = (
            _statement(f"{results} = {{}}\n"),
            _statement(f"{key_types} = frozenset({{int, str, bytes, type(None)}})\n"),
            _statement(
                f"{answer_types} = frozenset({{int, str, bytes, type(None), float, bool, "
                "complex})\n"
            ),
            inner,
        )
        return FunctionRewrite(wrapper, statements)


def _statement(text: str) -> cst.SimpleStatementLine:
    statement = cst.parse_statement(text)
    assert isinstance(statement, cst.SimpleStatementLine)
    return statement
