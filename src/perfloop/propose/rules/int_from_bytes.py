"""int-from-bytes: a big-endian number assembled byte by byte becomes `int.from_bytes`.

    n = 0                                 →   n = int.from_bytes(data, "big")
    for byte in data:
        n = (n << 8) | byte

    reduce(lambda a, b: (a << 8) + b, bytearray(data), 0)
                                          →   int.from_bytes(bytearray(data), "big")

    sum(b << (8 * i) for i, b in enumerate(data))
                                          →   int.from_bytes(data, "little")

The loop runs a shift and an or per byte in the interpreter and builds a new int
each time (quadratic in the length for long numbers); `int.from_bytes` converts the
whole buffer in C.

Taught by python-ecdsa 3ca7438 ("python3 speed for randrange by ~2.5x": a number's
bits assembled per byte → `int.from_bytes(ent_256, 'big')`); the shape is in
mutagen 1.47.0 `flac.to_int_be` (the reduce form, on every STREAMINFO field) and in
the per-byte accumulators of format parsers.

The fixed-width form `(b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]` is left
alone: `int.from_bytes(b[0:4], "big")` returns a smaller number where the original
raises IndexError on a short buffer, and for two bytes the call is slower than the
expression on CPython 3.11.
"""

from __future__ import annotations

import libcst as cst

from perfloop.propose.rules import _edits, _tools
from perfloop.propose.rules.base import Rule, RuleContext, Safety

EXAMPLE_FIRES = """
def to_int_be(data):
    value = 0
    for byte in data:
        value = (value << 8) | byte
    return value
"""

EXAMPLE_SILENT = """
def to_int_6bit(data):
    value = 0
    for unit in data:
        value = (value << 6) | unit
    return value
"""


class IntFromBytes(Rule):
    id = "int-from-bytes"
    rationale = (
        "int.from_bytes converts a whole buffer in C; a shift-and-or per byte runs in the "
        "interpreter and makes a new int each time."
    )
    safety = Safety.NEEDS_VERIFICATION
    description = (
        "`n = 0` directly followed by `for b in X: n = STEP` (one statement, no else), and "
        "`reduce(lambda n, b: STEP, X, 0)` (`reduce` imported from functools, or "
        "`functools.reduce`), where STEP is `(n << 8) | b`, `(n << 8) + b`, `(n << 8) ^ b` "
        'or `n * 256 + b` (either operand order), become `int.from_bytes(X, "big")`; '
        "`sum(b << (8 * i) for i, b in enumerate(X))` (or `b * 256 ** i`, a list "
        'comprehension; enumerate without a start) becomes `int.from_bytes(X, "little")`. '
        "The loop form also needs: `n` not read in X, `b` not used after the loop, no "
        "`global`/`nonlocal` of them, and no enclosing try/with (a half-built `n` could be "
        "seen). Silent when `int` (or `reduce`, `sum`, `enumerate`) is rebound. "
        "Exact when X is bytes or bytearray, or an iterable of ints in 0..255 without "
        "the buffer protocol (a list, a generator; empty X: 0 in both). Where it differs: "
        "objects with the buffer protocol whose items are not bytes (array('H'), numpy "
        "int arrays, a memoryview cast to 'H'): from_bytes reads their raw memory, the "
        "loop their items; ints outside 0..255 (from_bytes raises ValueError where the "
        "loop gives a number); items that are not ints but support "
        "the operators (numpy uint8 overflows in the loop; from_bytes gives a Python "
        "int); a str or non-iterable X raises TypeError in both, with other messages."
    )

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> cst.FunctionDef | None:
        context = context or RuleContext.standalone(func)
        if context.rebinds(func, "int"):
            return None
        edits = _edits.Edits()
        analysis = _tools.Analysis.of(func)
        reduce_names = _reduce_spellings(context, func)
        sums = not (context.rebinds(func, "sum") or context.rebinds(func, "enumerate"))
        for node in _tools.walk(func.body):
            if isinstance(node, cst.Call):
                found = _reduced_iterable(node, reduce_names) if reduce_names else None
                order = "big"
                if found is None and sums:
                    found, order = _summed_iterable(node), "little"
                if found is not None:
                    call = _from_bytes(found, order)
                    edits.replace_with(
                        node, lambda n, call=call: call.with_changes(lpar=n.lpar, rpar=n.rpar)
                    )
            elif isinstance(node, cst.For):
                _plan_loop(analysis, func, node, edits)
        return _edits.apply_edits(func, edits) if edits else None


def _reduce_spellings(context: RuleContext, func: cst.FunctionDef) -> set[str]:
    """How `functools.reduce` is written in this module: "reduce", "functools.reduce"."""
    bound = _tools.bound_names(func)
    bindings = context.module_bindings
    spellings = set()
    if "reduce" not in bound and _edits.imported_from(bindings, "functools", "reduce"):
        spellings.add("reduce")
    if "functools" not in bound and _edits.imported_as(bindings, "functools", "functools"):
        spellings.add("functools.reduce")
    return spellings


def _reduced_iterable(call: cst.Call, spellings: set[str]) -> cst.BaseExpression | None:
    """X if `call` is `reduce(lambda n, b: STEP, X, 0)`."""
    chain = _edits.attribute_chain(call.func)
    args = _edits.positional_args(call)
    if chain is None or ".".join(chain) not in spellings or args is None or len(args) != 3:
        return None
    step, iterable, initial = args
    if not (isinstance(initial, cst.Integer) and initial.evaluated_value == 0):
        return None
    if not isinstance(step, cst.Lambda):
        return None
    params = step.params
    plain = [p for p in params.params if p.default is None]
    if (
        len(plain) != 2
        or len(params.params) != 2
        or params.posonly_params
        or params.kwonly_params
        or params.star_kwarg is not None
        or params.star_arg is not cst.MaybeSentinel.DEFAULT
    ):
        return None
    accumulator, byte = (p.name.value for p in plain)
    return iterable if _is_step(step.body, accumulator, byte) else None


def _summed_iterable(call: cst.Call) -> cst.BaseExpression | None:
    """X if `call` is `sum(b << (8 * i) for i, b in enumerate(X))` (or `b * 256 ** i`)."""
    args = _edits.positional_args(call)
    if not _edits.is_call_to(call, "sum") or args is None or len(args) != 1:
        return None
    comprehension = args[0]
    if not isinstance(comprehension, (cst.GeneratorExp, cst.ListComp)):
        return None
    for_in = comprehension.for_in
    if for_in.ifs or for_in.inner_for_in is not None or for_in.asynchronous is not None:
        return None
    target = for_in.target
    elements = target.elements if isinstance(target, cst.Tuple) else ()
    names = [e.value.value for e in elements if isinstance(e.value, cst.Name)]
    if len(elements) != 2 or len(names) != 2:
        return None
    index, byte = names
    enumerated = for_in.iter
    inner = _edits.positional_args(enumerated) if isinstance(enumerated, cst.Call) else None
    if not _edits.is_call_to(enumerated, "enumerate") or inner is None or len(inner) != 1:
        return None
    if index == byte or not _is_little_endian_term(comprehension.elt, index, byte):
        return None
    return inner[0]


def _is_little_endian_term(term: cst.BaseExpression, index: str, byte: str) -> bool:
    """True for `b << (8 * i)`, `b << (i * 8)` and `b * 256 ** i`."""
    if not (isinstance(term, cst.BinaryOperation) and _is_name(term.left, byte)):
        return False
    amount = term.right
    if isinstance(term.operator, cst.LeftShift) and isinstance(amount, cst.BinaryOperation):
        return isinstance(amount.operator, cst.Multiply) and (
            (_is_integer(amount.left, 8) and _is_name(amount.right, index))
            or (_is_name(amount.left, index) and _is_integer(amount.right, 8))
        )
    if isinstance(term.operator, cst.Multiply) and isinstance(amount, cst.BinaryOperation):
        return (
            isinstance(amount.operator, cst.Power)
            and _is_integer(amount.left, 256)
            and _is_name(amount.right, index)
        )
    return False


def _plan_loop(
    analysis: _tools.Analysis, func: cst.FunctionDef, loop: cst.For, edits: _edits.Edits
) -> None:
    """Replace `n = 0` + `for b in X: n = STEP` by `n = int.from_bytes(X, "big")`."""
    statement = _tools.single_small_statement(loop.body)
    if (
        loop.orelse is not None
        or loop.asynchronous is not None
        or not isinstance(loop.target, cst.Name)
        or not isinstance(statement, cst.Assign)
        or len(statement.targets) != 1
        or not isinstance(statement.targets[0].target, cst.Name)
    ):
        return
    accumulator, byte = statement.targets[0].target.value, loop.target.value
    if accumulator == byte or not _is_step(statement.value, accumulator, byte):
        return
    initialisation = _zero_assignment_before(analysis, loop, accumulator)
    if initialisation is None or accumulator in _tools.names_in(loop.iter):
        return
    if _tools.used_outside(analysis, {byte}, loop):
        return
    if _tools.declared_shared(func) & {accumulator, byte}:
        return
    if _tools.enclosed_by_exception_handling(analysis, loop):
        return
    edits.remove(initialisation)
    new = _edits.assign(accumulator, _from_bytes(loop.iter))
    edits.replace_with(loop, lambda n, new=new: new.with_changes(leading_lines=n.leading_lines))


def _zero_assignment_before(
    analysis: _tools.Analysis, loop: cst.For, name: str
) -> cst.SimpleStatementLine | None:
    """The statement `name = 0` directly before `loop` in its block, if it is there."""
    block = _edits.block_of(analysis, loop)
    if block is None:
        return None
    index = next(i for i, s in enumerate(block) if s is loop)
    if index == 0:
        return None
    previous = block[index - 1]
    if not (isinstance(previous, cst.SimpleStatementLine) and len(previous.body) == 1):
        return None
    small = previous.body[0]
    if (
        isinstance(small, cst.Assign)
        and len(small.targets) == 1
        and isinstance(small.targets[0].target, cst.Name)
        and small.targets[0].target.value == name
        and isinstance(small.value, cst.Integer)
        and small.value.evaluated_value == 0
    ):
        return previous
    return None


_COMBINE = (cst.BitOr, cst.Add, cst.BitXor)


def _is_step(expression: cst.BaseExpression, accumulator: str, byte: str) -> bool:
    """True for `(n << 8) | b`, `(n << 8) + b`, `(n << 8) ^ b`, `n * 256 + b`, `b | (n << 8)`."""
    if not (
        isinstance(expression, cst.BinaryOperation) and isinstance(expression.operator, _COMBINE)
    ):
        return False
    left, right = expression.left, expression.right
    return (_is_name(right, byte) and _is_shifted(left, accumulator)) or (
        _is_name(left, byte) and _is_shifted(right, accumulator)
    )


def _is_shifted(expression: cst.BaseExpression, accumulator: str) -> bool:
    """True for `n << 8`, `n * 256` and `256 * n`."""
    if not isinstance(expression, cst.BinaryOperation):
        return False
    left, right, operator = expression.left, expression.right, expression.operator
    if isinstance(operator, cst.LeftShift):
        return _is_name(left, accumulator) and _is_integer(right, 8)
    if isinstance(operator, cst.Multiply):
        return (_is_name(left, accumulator) and _is_integer(right, 256)) or (
            _is_integer(left, 256) and _is_name(right, accumulator)
        )
    return False


def _is_name(expression: cst.BaseExpression, name: str) -> bool:
    return isinstance(expression, cst.Name) and expression.value == name


def _is_integer(expression: cst.BaseExpression, value: int) -> bool:
    return isinstance(expression, cst.Integer) and expression.evaluated_value == value


def _from_bytes(iterable: cst.BaseExpression, order: str = "big") -> cst.Call:
    return cst.Call(
        func=cst.Attribute(value=cst.Name("int"), attr=cst.Name("from_bytes")),
        args=[
            cst.Arg(iterable.with_changes(lpar=(), rpar=()) if _bare_ok(iterable) else iterable),
            cst.Arg(cst.SimpleString(f'"{order}"')),
        ],
    )


def _bare_ok(iterable: cst.BaseExpression) -> bool:
    """True if `iterable` may lose its parentheses as a call argument (not a tuple, yield, :=)."""
    return not isinstance(iterable, (cst.Tuple, cst.GeneratorExp, cst.Yield, cst.NamedExpr))
