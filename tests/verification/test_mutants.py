"""Mutants of the original: enough of them, each a real, compiling, distinct fault."""

from __future__ import annotations

import ast

from perfloop.verification.mutants import generate_mutants

MODULE = '''
import math

LIMIT = 10


def bucket(age, scores):
    """Age group and a score; the docstring is never mutated."""
    if age < 13:
        group = "child"
    elif age <= 19:
        group = "teen"
    else:
        group = "adult"
    total = 0
    for s in scores[1:]:
        if s > LIMIT and not math.isnan(s):
            total += s * 2
        else:
            continue
    best = max(scores) if scores else None
    return group, total, best


def untouched(x):
    return x + 1
'''


def test_a_function_with_enough_code_gets_at_least_twenty_distinct_compiling_mutants() -> None:
    made = generate_mutants(MODULE, "bucket")
    assert len(made.mutants) >= 20
    kinds = {m.kind for m in made.mutants}
    assert {"comparison", "operator", "constant", "statement", "branch", "return"} <= kinds
    dumps = {ast.dump(ast.parse(m.module_source)) for m in made.mutants}
    assert len(dumps) == len(made.mutants)  # all distinct
    assert ast.dump(ast.parse(MODULE)) not in dumps  # none equals the original
    for mutant in made.mutants:
        compile(mutant.module_source, "<mutant>", "exec")
        assert "def untouched(x):\n    return x + 1" in mutant.module_source
        assert '"""Age group and a score; the docstring is never mutated."""' in (
            mutant.module_source
        )
        assert mutant.description.startswith("line ")


def test_boundary_and_comparison_swaps_are_described_for_the_user() -> None:
    descriptions = [m.description for m in generate_mutants(MODULE, "bucket", limit=200).mutants]
    assert "line 9: `<` to `<=`" in descriptions
    assert "line 11: `<=` to `<`" in descriptions
    assert any("`max` to `min`" in d for d in descriptions)
    assert any("slice lower bound + 1" in d for d in descriptions)


def test_the_cap_keeps_every_kind_of_fault() -> None:
    capped = generate_mutants(MODULE, "bucket", limit=6)
    assert len(capped.mutants) == 6
    assert len({m.kind for m in capped.mutants}) == 6
    assert capped.possible > 6


def test_methods_are_mutated_in_place_with_their_indentation() -> None:
    source = (
        "class Till:\n    def ring(self, amount):\n"
        "        self.total += amount\n        return self.total\n"
    )
    made = generate_mutants(source, "Till.ring")
    assert made.mutants
    for mutant in made.mutants:
        tree = ast.parse(mutant.module_source)
        assert isinstance(tree.body[0], ast.ClassDef)


def test_a_missing_function_or_broken_source_gives_no_mutants() -> None:
    assert generate_mutants(MODULE, "nope").mutants == ()
    assert generate_mutants("def broken(:\n", "broken").mutants == ()


TYPED = """
from __future__ import annotations


class Registry:
    def __getitem__(self, key: str | int | slice) -> int | list[int]:
        def pick(index: int | None = None) -> int:
            chosen: int | str = index or 0
            return chosen
        if isinstance(key, slice):
            return [pick()]
        return pick(1 if key else 2)
"""


def test_annotations_are_not_mutated() -> None:
    # Markdown 3.7's Registry.__getitem__: three `|` to `&` mutants of its annotations
    # survived every tier (no call evaluates an annotation) and made it weakly verified
    mutants = generate_mutants(TYPED, "Registry.__getitem__").mutants
    assert mutants
    assert not [m.description for m in mutants if "`|` to `&`" in m.description]
    for mutant in mutants:
        function = ast.parse(mutant.module_source).body[1].body[0]
        assert ast.unparse(function.args.args[1].annotation) == "str | int | slice"
        assert ast.unparse(function.returns) == "int | list[int]"


TILL = """
class Till:
    LIMIT = 100

    def __init__(self, start=0):
        self.total = start
        self._rings = 0

    def ring(self, amount):
        self._rings += 1
        self.total += amount
        return self.total

    @property
    def busy(self):
        return self._rings > 3

    def _reset(self):
        self._rings = 0
"""


def test_a_class_gets_mutants_of_each_of_its_methods_named_in_the_description() -> None:
    made = generate_mutants(TILL, "Till", limit=8)
    assert len(made.mutants) == 8
    methods = {m.description.split(",")[0] for m in made.mutants}
    # the cap is spread over the methods first, so none is left out
    assert methods == {"__init__", "ring", "busy", "_reset"}
    assert made.possible > 8
    for mutant in made.mutants:
        assert mutant.description.split(",")[1].startswith(" line ")
        # one method changed, the class attribute (not a method) never
        tree = ast.parse(mutant.module_source)
        assert ast.unparse(tree.body[0].body[0]) == "LIMIT = 100"


def test_a_class_mutant_changes_exactly_one_method() -> None:
    original = ast.parse(TILL).body[0]
    for mutant in generate_mutants(TILL, "Till").mutants:
        changed = [
            a.name
            for a, b in zip(original.body[1:], ast.parse(mutant.module_source).body[0].body[1:])
            if ast.dump(a) != ast.dump(b)
        ]
        assert changed == [mutant.description.split(",")[0]]


CHECK_LABEL = """
class InvalidCodepoint(ValueError):
    pass


def check_label(label, allowed):
    if len(label) == 0:
        raise ValueError("Empty Label")
    for pos, cp in enumerate(label):
        if cp in allowed:
            continue
        raise InvalidCodepoint(
            "Codepoint {} at position {} of {} not allowed".format(cp, pos + 1, repr(label))
        )
"""


def test_the_arguments_of_a_raised_exception_are_not_mutated_when_messages_are_ignored() -> None:
    # idna 3.10's check_label: `pos + 1` in the message of its raises gave `+` to `-`
    # mutants that survived every tier (messages are not compared by default) and made
    # it weakly verified
    ignored = generate_mutants(CHECK_LABEL, "check_label", messages_compared=False).mutants
    descriptions = [m.description for m in ignored]
    assert descriptions
    assert not [d for d in descriptions if "`+` to `-`" in d or "'Empty Label'" in d]
    assert [d for d in descriptions if "`in` to `not in`" in d]  # the logic is still mutated
    assert "line 12: raise statement dropped" in descriptions  # the raise itself still is
    compared = generate_mutants(CHECK_LABEL, "check_label", messages_compared=True).mutants
    assert [m for m in compared if "`+` to `-`" in m.description]
