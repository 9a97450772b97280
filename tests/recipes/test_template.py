"""Recipe templates: learned on one function, applied to another of other names; silent
where the edit would not mean the same thing."""

from __future__ import annotations

import textwrap

import pytest

from perfloop.recipes.template import Template, apply_template, generalise

REVERSE = """
def reverse(posts):
    out = []
    for i in range(len(posts) - 1, -1, -1):
        out.append(posts[i])
    return out
"""
REVERSE_FAST = """
def reverse(posts):
    out = posts[::-1]
    return out
"""
TOTAL = """
def total_price(items, rate):
    total = 0
    for item in items:
        if item.price > 10:
            total = total + item.price * rate
    return total
"""
TOTAL_FAST = """
def total_price(items, rate):
    total = sum(item.price * rate for item in items if item.price > 10)
    return total
"""


def learned(before: str, after: str) -> Template:
    template = generalise(textwrap.dedent(before).lstrip(), textwrap.dedent(after).lstrip())
    assert isinstance(template, Template), template
    return template


def applied(template: Template, source: str, qualname: str) -> str | None:
    result = apply_template(template, textwrap.dedent(source).lstrip(), qualname)
    return None if result is None else result.function_source


def test_a_template_learned_on_one_function_applies_to_another_of_other_names() -> None:
    template = learned(REVERSE, REVERSE_FAST)
    other = """
    import logging

    class Journal:
        def newest_first(self, lines, limit):
            logging.info("reversing")
            if limit:
                result = []
                for k in range(len(lines) - 1, -1, -1):
                    result.append(lines[k])  # newest first
                return result[:limit]
            return lines
    """
    assert applied(template, other, "Journal.newest_first") == textwrap.dedent(
        """\
        def newest_first(self, lines, limit):
            logging.info("reversing")
            if limit:
                result = lines[::-1]
                return result[:limit]
            return lines
        """
    )


def test_attribute_names_and_carried_constants_are_abstracted_methods_are_not() -> None:
    template = learned(TOTAL, TOTAL_FAST)
    assert "_pl_a0" in template.pattern and "_pl_c0" in template.pattern
    other = """
    def weight(parcels, factor):
        acc = 0
        for p in parcels:
            if p.mass > 3.5:
                acc = acc + p.mass * factor
        return acc
    """
    assert applied(template, other, "weight") is None  # 3.5 is a float, 10 was an int
    other = other.replace("3.5", "3")
    assert "acc = sum((p.mass * factor for p in parcels if p.mass > 3))" in str(
        applied(template, other, "weight")
    )
    # the start value 0 is what sum() starts from: it stays concrete
    assert applied(template, other.replace("acc = 0", "acc = 1"), "weight") is None


def test_a_loop_variable_used_after_the_loop_is_not_dropped() -> None:
    template = learned(TOTAL, TOTAL_FAST)
    leaks = """
    def weight(parcels, factor):
        acc = 0
        for p in parcels:
            if p.mass > 3:
                acc = acc + p.mass * factor
        return acc, p
    """
    assert applied(template, leaks, "weight") is None


def test_a_different_method_or_a_shared_name_does_not_match() -> None:
    template = learned(REVERSE, REVERSE_FAST)
    other_method = """
    def f(xs):
        out = []
        for i in range(len(xs) - 1, -1, -1):
            out.add(xs[i])
        return out
    """
    assert applied(template, other_method, "f") is None
    one_name_twice = """
    def f(xs):
        xs = []
        for i in range(len(xs) - 1, -1, -1):
            xs.append(xs[i])
        return xs
    """
    assert applied(template, one_name_twice, "f") is None  # two placeholders, one name


@pytest.mark.parametrize(
    ("before", "after", "why"),
    [
        (
            "def f(xs):\n    return xs[0]\n",
            "def f(xs):\n    return xs[:1][0]\n",
            "too small",
        ),
        (
            REVERSE,
            REVERSE_FAST.replace("def reverse(posts):", "def reverse(posts, _r=reversed):"),
            "signature",
        ),
        (
            "def f(xs):\n    n = len(xs)\n    out = []\n    for x in xs:\n"
            "        out.append(x * 2)\n    return out\n",
            "def f(xs):\n    n = len(xs)\n    out = [x * 2 for x in xs[:n]]\n    return out\n",
            "locals bound elsewhere",
        ),
    ],
)
def test_edits_whose_shape_does_not_generalise_say_why(before: str, after: str, why: str) -> None:
    reason = generalise(textwrap.dedent(before).lstrip(), textwrap.dedent(after).lstrip())
    assert isinstance(reason, str) and why in reason


def test_an_edit_inside_a_loop_is_learned_as_the_inner_statements_alone() -> None:
    # tabulate 0.9.0's _flat_list, its inner copy loop made one extend()
    flat_list = """
    def _flat_list(nested_list):
        ret = []
        for item in nested_list:
            if isinstance(item, list):
                for subitem in item:
                    ret.append(subitem)
            else:
                ret.append(item)
        return ret
    """
    flat_list = textwrap.dedent(flat_list)
    loop = "for subitem in item:\n                ret.append(subitem)"
    assert loop in flat_list
    template = learned(flat_list, flat_list.replace(loop, "ret.extend(item)"))
    assert template.pattern == "for _pl_n2 in _pl_n0:\n    _pl_n1.append(_pl_n2)"
    assert template.replacement == "_pl_n1.extend(_pl_n0)"
