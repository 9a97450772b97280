"""What every rewrite rule is: an id, a rationale, a safety class and a `rewrite`.

A rule looks at one function (a `libcst.FunctionDef`) and returns a rewritten
function, or None when it does not fire. Rules only rewrite the function they
are given; anything they need at module level is an import, listed in
`imports`, that the caller adds with libcst's `AddImportsVisitor`, or a
stateless constant (a compiled regular expression) that the rule returns with
the function in a `FunctionRewrite` and the caller puts just above it.
"""

from __future__ import annotations

import functools
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import ClassVar

import libcst as cst

from perfloop.propose.rules import _tools


class Safety(str, Enum):
    """How much a rewrite may change behaviour."""

    ALWAYS_EQUIVALENT = "always-equivalent"
    """Equivalent whenever the rule's stated preconditions hold (they are checked statically)."""

    NEEDS_VERIFICATION = "needs-verification"
    """Equivalent only for some inputs (e.g. hashable elements): verification must decide."""


class ModuleFacts:
    """What rules ask about a whole module, computed once per module and shared.

    `source` is the module's text if the caller has it (saves generating it again).
    """

    def __init__(self, module: cst.Module, source: str | None = None) -> None:
        self.module = module
        self._source = source

    @functools.cached_property
    def names(self) -> frozenset[str]:
        """Every word in the module's text: a superset of its identifiers, cheap to get.

        Words in strings and comments are included; a generated name that avoids
        them too is only more careful.
        """
        source = self._source if self._source is not None else self.module.code
        return frozenset(_WORD.findall(source))

    @functools.cached_property
    def bindings(self) -> Mapping[str, tuple[cst.CSTNode, ...]]:
        """Names bound at module level, each with the statements that bind it."""
        return _tools.module_level_bindings(self.module)


_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class FunctionRewrite:
    """A rewritten function and the module-level statements it needs, placed just above it:
    constants (a compiled pattern, a table), undecorated helper functions, and, for
    cache-pure-function only, the dict its answers are kept in (the measure stage sees
    such a candidate learn and judges it on the whole workload).
    """

    func: cst.FunctionDef
    module_statements: tuple[cst.SimpleStatementLine | cst.FunctionDef, ...] = ()


@dataclass(frozen=True)
class RuleContext:
    """What a rule may know about the function's surroundings.

    `module` is the whole module the function is in; `enclosing_classes` the
    classes it is nested in (empty for a module-level function); `facts` the
    module-wide answers, shared between rules and functions of one module.
    """

    module: cst.Module
    enclosing_classes: tuple[str, ...] = ()
    facts: ModuleFacts | None = None

    @classmethod
    def standalone(cls, func: cst.FunctionDef) -> RuleContext:
        """The context of a function seen on its own, as if it were a whole module."""
        return cls(module=cst.Module(body=[func]))

    @property
    def is_method(self) -> bool:
        return bool(self.enclosing_classes)

    @functools.cached_property
    def _facts(self) -> ModuleFacts:
        return self.facts if self.facts is not None else ModuleFacts(self.module)

    @property
    def module_names(self) -> frozenset[str]:
        """Every identifier written in the module (a superset: all a new name could clash with)."""
        return self._facts.names

    @property
    def module_bindings(self) -> Mapping[str, tuple[cst.CSTNode, ...]]:
        """Names bound at module level, each with the statements that bind it."""
        return self._facts.bindings

    def reserved_names(self, func: cst.FunctionDef) -> set[str]:
        """Names a generated name must not take: the module's, the function's and the builtins."""
        return set(self.module_names) | _tools.all_identifiers(func) | _tools.BUILTIN_NAMES

    def rebinds(self, func: cst.FunctionDef, name: str) -> bool:
        """True if the module or the function binds `name` (e.g. shadows a builtin)."""
        return name in self.module_bindings or name in _tools.bound_names(func)


class Rule(ABC):
    """One source-preserving rewrite. Subclasses set the class attributes and `rewrite`."""

    id: ClassVar[str]
    """kebab-case identifier, used in candidate origins (`rule:<id>`)."""
    rationale: ClassVar[str]
    """One line a user reads in the report: why the rewrite is faster."""
    safety: ClassVar[Safety]
    description: ClassVar[str]
    """The preconditions under which the rule fires, and where it may differ."""
    min_python: ClassVar[tuple[int, int] | None] = None
    max_python: ClassVar[tuple[int, int] | None] = None
    imports: ClassVar[tuple[tuple[str, str | None], ...]] = ()
    """(module, name) pairs to add at module top; name None means `import module`."""

    def supports(self, python_version: tuple[int, int]) -> bool:
        """True if the rule may be used for code that runs on `python_version`."""
        version = tuple(python_version[:2])
        if self.min_python is not None and version < self.min_python:
            return False
        return not (self.max_python is not None and version > self.max_python)

    @abstractmethod
    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> cst.FunctionDef | FunctionRewrite | None:
        """The rewritten function, or None if the rule does not fire on `func`.

        `context` defaults to the function seen on its own (no module globals,
        not a method).
        """

    def __repr__(self) -> str:
        return f"<rule {self.id}>"
