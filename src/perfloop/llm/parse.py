"""Turn a model's answer into a whole new module source, or say why it cannot be used.

Real answers come fenced or unfenced, with prose around them, in several code
blocks (the original, then the new version), as the whole module instead of the
function, under a wrong function name, or cut off at the token limit. The new
function replaces the old one in the original module (everything else stays
byte for byte, via libcst); imports and helper definitions that the answer adds
and the module lacks go in beside it. Never raises: anything unusable comes
back as `Unusable` with the reason.
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from perfloop.gate import normalised_hash
from perfloop.model import TargetContext
from perfloop.outside.whole_class import class_source
from perfloop.patch import SpliceError, splice_class
from perfloop.propose.apply import locate
from perfloop.qualnames import find_function, first_line, function_source

_FENCE = re.compile(r"^\s*(```+|~~~+)\s*([\w+-]*)\s*$")
_CODE_START = re.compile(r"^(async\s+def|def|class|import|from|@)\b")
_CODE_LANGUAGES = {"", "python", "py", "python3", "py3"}


@dataclass(frozen=True)
class Parsed:
    module_source: str
    function_source: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Unusable:
    reason: str


@dataclass(frozen=True)
class _Block:
    code: str
    fenced: bool
    closed: bool


def code_blocks(text: str) -> list[_Block]:
    """Fenced blocks in order (an unclosed last one included); else the text from its first
    line that looks like code."""
    blocks: list[_Block] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        fence, language = opening.group(1), opening.group(2).lower()
        body: list[str] = []
        index += 1
        closed = False
        while index < len(lines):
            closing = _FENCE.match(lines[index])
            if closing and closing.group(1)[0] == fence[0] and not closing.group(2):
                closed = True
                break
            body.append(lines[index])
            index += 1
        index += 1
        if language in _CODE_LANGUAGES:
            blocks.append(_Block(textwrap.dedent("\n".join(body)), True, closed))
    if blocks:
        return blocks
    if _is_python(text):  # a file of code, as a proposer command writes: its constants too
        return [_Block(text, False, True)]
    for start, line in enumerate(lines):
        if _CODE_START.match(line):
            return [_Block("\n".join(lines[start:]), False, True)]
    return []


def _is_python(text: str) -> bool:
    """Whether the whole text is Python (unfenced code before a `def` is then code too:
    `SCALE = 3` above the function a proposer command wrote was dropped, and the function
    failed with NameError)."""
    try:
        ast.parse(text)
    except (SyntaxError, ValueError):
        return False
    return True


def _parse_block(block: _Block) -> ast.Module | str:
    """The block's syntax tree; unfenced code loses trailing prose lines until it parses."""
    lines = block.code.splitlines()
    last_error = ""
    for end in range(len(lines), 0, -1):
        try:
            return ast.parse("\n".join(lines[:end]))
        except SyntaxError as error:
            if not last_error:
                last_error = f"line {error.lineno}: {error.msg}"
            if block.fenced:
                break
        except ValueError as error:  # null bytes
            return str(error)
    return last_error or "it is empty"


def _parsed_blocks(
    blocks: list[_Block], truncated: bool, reasons: list[str]
) -> Iterator[tuple[int, _Block, ast.Module, bool]]:
    """The blocks that parse, last first (the last block is usually the answer), each with
    its position, its tree and whether the token limit may have cut it off; a block that
    does not parse adds why to `reasons`."""
    for position in range(len(blocks) - 1, -1, -1):
        block = blocks[position]
        cut_off = truncated and position == len(blocks) - 1
        tree = _parse_block(block)
        if isinstance(tree, str):
            reasons.append(
                "the answer was cut off inside the code; raise llm-max-tokens"
                if cut_off or not block.closed
                else f"its code does not parse ({tree})"
            )
            continue
        yield position, block, tree, cut_off


def _unusable(reasons: list[str]) -> Unusable:
    """Why no block could be used: the one reason, or each distinct one in order."""
    return Unusable(reasons[0] if len(set(reasons)) == 1 else "; ".join(dict.fromkeys(reasons)))


def _functions(tree: ast.Module) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    found = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found.append(node)
        elif isinstance(node, ast.ClassDef):
            found.extend(
                n for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
            )
    return found


def _find_target(
    tree: ast.Module, qualname: str
) -> tuple[ast.FunctionDef | ast.AsyncFunctionDef | None, str | None]:
    """The target in the answer: by qualname, by plain name, or the only function there is
    (then the name it has, to rename)."""
    found = find_function(tree, qualname)
    if found is not None:
        return found, None
    name = qualname.rsplit(".", 1)[-1]
    functions = _functions(tree)
    same_name = [f for f in functions if f.name == name]
    if same_name:
        return same_name[-1], None
    if len(functions) == 1:
        return functions[0], functions[0].name
    return None, None


def parse_response(
    text: str, qualname: str, module_source: str, *, truncated: bool = False
) -> Parsed | Unusable:
    """The answer's version of `qualname` put into `module_source`, or why not.

    `truncated`: the model stopped at its token limit, so code that ends the answer may
    be cut off mid-function even where it parses.
    """
    try:
        original_tree = ast.parse(module_source)
    except SyntaxError:
        return Unusable("the original module does not parse")
    original = find_function(original_tree, qualname)
    if original is None:
        return Unusable(f"the original module has no function {qualname}")
    blocks = code_blocks(text)
    if not blocks:
        return Unusable("the answer has no code (no code block and no line starting with def)")
    name = qualname.rsplit(".", 1)[-1]
    reasons: list[str] = []
    for position, block, tree, cut_off in _parsed_blocks(blocks, truncated, reasons):
        function, wrong_name = _find_target(tree, qualname)
        if function is None:
            defined = sorted({f.name for f in _functions(tree)})
            reasons.append(
                f"its code defines {', '.join(defined)} but not {name}"
                if defined
                else f"its code defines no function {name}"
            )
            continue
        if cut_off and function is tree.body[-1]:
            reasons.append(
                "the answer was cut off (token limit) while writing the function; "
                "raise llm-max-tokens"
            )
            continue
        if normalised_hash(_renamed_ast(function, wrong_name, name)) == normalised_hash(original):
            reasons.append("it repeats the original function unchanged")
            continue
        notes = []
        if len(blocks) > 1:
            notes.append(f"took code block {position + 1} of {len(blocks)}")
        if wrong_name:
            notes.append(f"renamed {wrong_name} to {name}")
        try:
            return _splice(module_source, qualname, block.code, tree, function, wrong_name, notes)
        except Exception as exc:  # libcst cannot take it; say so rather than crash the run
            reasons.append(f"its code cannot be put into the module ({type(exc).__name__}: {exc})")
    return _unusable(reasons)


def parse_answer(
    context: TargetContext, text: str, *, truncated: bool = False
) -> Parsed | Unusable:
    """The answer as a candidate module for the target of `context`: a whole new class
    when the target is a class (`parse_class_response`), else a new function."""
    parse = parse_class_response if context.whole_class else parse_response
    return parse(text, context.function.qualname, context.module_source, truncated=truncated)


def parse_class_response(
    text: str, name: str, module_source: str, *, truncated: bool = False
) -> Parsed | Unusable:
    """The answer's whole new class `name` put into `module_source` in place of the
    original (`perfloop.patch.splice_class`: the helpers and imports the answer adds go in
    beside it), or why not. Never raises."""
    try:
        original = _top_level_class(ast.parse(module_source), name)
    except SyntaxError:
        return Unusable("the original module does not parse")
    if original is None:
        return Unusable(f"the original module has no class {name}")
    blocks = code_blocks(text)
    if not blocks:
        return Unusable("the answer has no code (no code block and no line starting with class)")
    reasons: list[str] = []
    for position, block, tree, cut_off in _parsed_blocks(blocks, truncated, reasons):
        found = _top_level_class(tree, name)
        if found is None:
            classes = sorted({n.name for n in tree.body if isinstance(n, ast.ClassDef)})
            reasons.append(
                f"its code defines class {', '.join(classes)} but not {name}; give the whole "
                f"class {name}"
                if classes
                else f"its code defines no class {name}; give the whole class, not one method"
            )
            continue
        if cut_off and found is tree.body[-1]:
            reasons.append(
                "the answer was cut off (token limit) while writing the class; raise llm-max-tokens"
            )
            continue
        if normalised_hash(found) == normalised_hash(original):
            reasons.append("it repeats the original class unchanged")
            continue
        code = "\n".join(block.code.splitlines()[: found.end_lineno])  # prose after it: gone
        try:
            new_source = splice_class(module_source, name, code)
        except SpliceError as exc:
            reasons.append(f"its code cannot be put into the module ({exc})")
            continue
        except Exception as exc:  # libcst cannot take it; say so rather than crash the run
            reasons.append(f"its code cannot be put into the module ({type(exc).__name__}: {exc})")
            continue
        notes = [f"took code block {position + 1} of {len(blocks)}"] if len(blocks) > 1 else []
        return Parsed(new_source, class_source(new_source, name), tuple(notes))
    return _unusable(reasons)


def _top_level_class(tree: ast.Module, name: str) -> ast.ClassDef | None:
    found = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name]
    return found[-1] if found else None


def _renamed_ast(function: ast.AST, old: str | None, new: str) -> ast.AST:
    if old is None:
        return function
    copy = ast.parse(ast.unparse(function)).body[0]
    for node in ast.walk(copy):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == old:
            node.name = new
        elif isinstance(node, ast.Name) and node.id == old:
            node.id = new
    return copy


class _Rename(cst.CSTTransformer):
    def __init__(self, old: str, new: str) -> None:
        self.old, self.new = old, new

    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.Name:
        return updated.with_changes(value=self.new) if updated.value == self.old else updated


_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _segment(code: str, node: ast.stmt) -> str:
    first = first_line(node) if isinstance(node, _DEFS) else node.lineno
    return textwrap.dedent("\n".join(code.splitlines()[first - 1 : node.end_lineno])) + "\n"


def _bound_names(node: ast.stmt) -> set[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return set()


def _module_level_names(tree: ast.Module) -> set[str]:
    names = set()
    for node in tree.body:
        names |= _bound_names(node)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def _splice(
    module_source: str,
    qualname: str,
    code: str,
    tree: ast.Module,
    function: ast.FunctionDef | ast.AsyncFunctionDef,
    wrong_name: str | None,
    notes: list[str],
) -> Parsed | Unusable:
    name = qualname.rsplit(".", 1)[-1]
    function_text = _segment(code, function)
    new_function = cst.parse_module(function_text).body[0]
    if wrong_name:
        new_function = new_function.visit(_Rename(wrong_name, name))  # type: ignore[assignment]
    module = cst.parse_module(module_source)
    located = locate(module, qualname)
    if located is None or not isinstance(new_function, cst.FunctionDef):
        return Unusable(f"its code has no plain function {name}")
    new_function = new_function.with_changes(leading_lines=located.func.leading_lines)
    module = module.deep_replace(located.func, new_function)  # type: ignore[assignment]

    existing = _module_level_names(ast.parse(module_source))
    used = {n.id for n in ast.walk(function) if isinstance(n, ast.Name)}
    imports, helpers = [], []
    for node in tree.body:  # helpers first: what they use counts as used
        if node is function or isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(node, ast.ClassDef) and function in node.body:  # the method's own class
            continue
        if (_bound_names(node) & used) and not (_bound_names(node) & existing):
            helpers.append(_segment(code, node))
            used |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            bound = {(a.asname or a.name).split(".")[0] for a in node.names}
            if (bound - existing) & used:
                imports.append(_segment(code, node))
    if helpers:
        notes.append(f"added {len(helpers)} helper definitions")
        module = _insert_before_target(module, qualname, helpers)
    if imports:
        notes.append("added imports: " + "; ".join(i.strip() for i in imports))
        module = _insert_imports(module, imports)
    new_source = module.code
    ast.parse(new_source)
    return Parsed(new_source, function_source(new_source, qualname), tuple(notes))


def _statements(texts: list[str]) -> list[cst.BaseStatement]:
    return list(cst.parse_module("".join(texts)).body)


def _insert_before_target(module: cst.Module, qualname: str, texts: list[str]) -> cst.Module:
    top = qualname.split(".")[0]
    body = list(module.body)
    for index, statement in enumerate(body):
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)) and statement.name.value == top:
            new = _statements(texts)
            new[0] = new[0].with_changes(leading_lines=statement.leading_lines)
            spaced = [s.with_changes(leading_lines=[cst.EmptyLine()] * 2) for s in new[1:]]
            blank = statement.with_changes(leading_lines=[cst.EmptyLine()] * 2)
            body[index : index + 1] = [new[0], *spaced, blank]
            break
    return module.with_changes(body=body)


def _insert_imports(module: cst.Module, texts: list[str]) -> cst.Module:
    body = list(module.body)
    position = 0
    for index, statement in enumerate(body):
        is_docstring = index == 0 and _is_docstring(statement)
        if is_docstring or (
            isinstance(statement, cst.SimpleStatementLine)
            and isinstance(statement.body[0], (cst.Import, cst.ImportFrom))
        ):
            position = index + 1
        else:
            break
    body[position:position] = _statements(texts)
    return module.with_changes(body=body)


def _is_docstring(statement: cst.BaseStatement) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )
