"""Parsing real-looking model answers: what becomes a candidate module, and why the rest cannot."""

from __future__ import annotations

import ast
import textwrap

import pytest

from perfloop.llm.parse import Parsed, Unusable, parse_class_response, parse_response

MODULE = textwrap.dedent(
    '''
    """Totals."""
    import math


    def total(xs):
        """Sum of xs."""
        t = 0
        for i in range(len(xs)):
            t += xs[i]
        return t


    def norm(xs):
        return math.sqrt(total([x * x for x in xs]))


    class Basket:
        def __init__(self, prices):
            self.prices = prices

        def cheapest(self):
            return sorted(self.prices)[0]
    '''
).lstrip()

SUM = "def total(xs):\n    return sum(xs)\n"

# (name, answer, truncated, what the new total/cheapest must contain)
USABLE = [
    ("fenced", f"```python\n{SUM}```", False, "return sum(xs)"),
    (
        "prose around a fenced block",
        f"Sure! Here is a faster version:\n\n```python\n{SUM}```\n\nIt uses the builtin sum, "
        "which runs in C.",
        False,
        "return sum(xs)",
    ),
    (
        "unfenced with prose",
        f"Here you go.\n\n{SUM}\nThis is faster because sum is C.",
        False,
        "sum",
    ),
    (
        "original then the new version",
        "The original:\n```python\ndef total(xs):\n    t = 0\n    for i in range(len(xs)):\n"
        f"        t += xs[i]\n    return t\n```\nFaster:\n```py\n{SUM}```",
        False,
        "return sum(xs)",
    ),
    (
        "new version then an example of use",
        f"```python\n{SUM}```\nUsage:\n```python\nprint(total([1, 2, 3]))\n```",
        False,
        "return sum(xs)",
    ),
    ("tilde fence", f"~~~python\n{SUM}~~~", False, "return sum(xs)"),
    ("no closing fence but complete", f"```python\n{SUM}", False, "return sum(xs)"),
    (
        "wrong function name",
        "```python\ndef fast_total(xs):\n    return sum(xs)\n```",
        False,
        "def total(xs):",
    ),
    (
        "indented block",
        "1. Use sum:\n   ```python\n   def total(xs):\n       return sum(xs)\n   ```",
        False,
        "return sum(xs)",
    ),
]


@pytest.mark.parametrize(
    ("answer", "truncated", "expected"),
    [case[1:] for case in USABLE],
    ids=[case[0] for case in USABLE],
)
def test_usable_answers_replace_only_the_function(
    answer: str, truncated: bool, expected: str
) -> None:
    parsed = parse_response(answer, "total", MODULE, truncated=truncated)
    assert isinstance(parsed, Parsed), parsed
    assert expected in parsed.function_source
    assert parsed.function_source.startswith("def total(xs):")
    tree = ast.parse(parsed.module_source)
    # everything but total is untouched, byte for byte
    after_total = MODULE.split("\n\n\ndef norm")[1]
    assert parsed.module_source.endswith(after_total)
    assert parsed.module_source.startswith('"""Totals."""\nimport math\n')
    assert [n.name for n in tree.body if isinstance(n, ast.FunctionDef)] == ["total", "norm"]


def test_the_whole_module_as_an_answer_takes_the_function_and_its_new_helpers_only() -> None:
    answer = textwrap.dedent(
        """
        Here is the optimized module:

        ```python
        import math
        import operator
        from functools import reduce


        def _add(a, b):
            return operator.add(a, b)


        def total(xs):
            return reduce(_add, xs, 0)


        def norm(xs):
            return 42  # the model "improved" this too; it is not the target


        class Basket:
            pass
        ```
        """
    )
    parsed = parse_response(answer, "total", MODULE)
    assert isinstance(parsed, Parsed), parsed
    source = parsed.module_source
    assert "import operator\nfrom functools import reduce\n" in source
    assert "def _add(a, b):" in source and source.index("def _add") < source.index("def total")
    assert "return math.sqrt(total([x * x for x in xs]))" in source  # the original norm
    assert "return 42" not in source and "def cheapest(self):" in source
    assert any("added imports" in note for note in parsed.notes)
    namespace: dict[str, object] = {}
    exec(compile(source, "m.py", "exec"), namespace)
    assert namespace["total"]([1, 2, 3]) == 6  # type: ignore[operator]


def test_an_unfenced_file_of_code_keeps_the_constants_above_the_function() -> None:
    """What a proposer command writes is a .py file, with no fences: the constant before
    the def is code too (it was dropped, and the candidate raised NameError)."""
    answer = "SCALE = 1\n\n\ndef total(xs):\n    return sum(xs) * SCALE\n"
    parsed = parse_response(answer, "total", MODULE)
    assert isinstance(parsed, Parsed), parsed
    assert "SCALE = 1\n" in parsed.module_source
    namespace: dict[str, object] = {}
    exec(compile(parsed.module_source, "m.py", "exec"), namespace)
    assert namespace["total"]([1, 2, 3]) == 6  # type: ignore[operator]
    # prose before unfenced code is still left out
    prose = parse_response("The loop is slow; use sum.\n" + answer, "total", MODULE)
    assert isinstance(prose, Parsed) and "The loop is slow" not in prose.module_source


def test_a_method_answered_alone_goes_back_into_its_class() -> None:
    answer = "```python\ndef cheapest(self):\n    return min(self.prices)\n```"
    parsed = parse_response(answer, "Basket.cheapest", MODULE)
    assert isinstance(parsed, Parsed), parsed
    assert "    def cheapest(self):\n        return min(self.prices)\n" in parsed.module_source
    assert parsed.function_source == "def cheapest(self):\n    return min(self.prices)\n"


def test_a_method_answered_with_its_class_is_found_in_it() -> None:
    answer = (
        "```python\nclass Basket:\n    def __init__(self, prices):\n        self.prices = prices\n"
        "\n    def cheapest(self):\n        return min(self.prices)\n```"
    )
    parsed = parse_response(answer, "Basket.cheapest", MODULE)
    assert isinstance(parsed, Parsed), parsed
    assert "return min(self.prices)" in parsed.module_source
    assert parsed.module_source.count("class Basket") == 1


def test_a_renamed_recursive_function_calls_itself_by_the_right_name() -> None:
    module = "def fact(n):\n    return 1 if n < 2 else n * fact(n - 1)\n"
    answer = (
        "```python\ndef factorial(n):\n    r = 1\n    for k in range(2, n + 1):\n"
        "        r *= k\n    return r if n >= 0 else factorial(0)\n```"
    )
    parsed = parse_response(answer, "fact", module)
    assert isinstance(parsed, Parsed), parsed
    assert "factorial" not in parsed.module_source
    assert "renamed factorial to fact" in parsed.notes


UNUSABLE = [
    ("no code at all", "I'm sorry, I cannot optimize this function.", False, "no code"),
    (
        "cut off mid-function",
        "```python\ndef total(xs):\n    t = 0\n    for x in",
        True,
        "cut off",
    ),
    (
        "cut off at a statement boundary",
        "```python\ndef total(xs):\n    t = 0\n",
        True,
        "cut off",
    ),
    (
        "does not parse",
        "```python\ndef total(xs)\n    return sum(xs)\n```",
        False,
        "does not parse",
    ),
    (
        "several functions, none of them the target",
        "```python\ndef a(xs):\n    return 1\n\ndef b(xs):\n    return 2\n```",
        False,
        "defines a, b but not total",
    ),
    (
        "the original repeated",
        '```python\ndef total(xs):\n    """Sum of xs."""\n    t = 0\n'
        "    for i in range(len(xs)):\n        t += xs[i]\n    return t\n```",
        False,
        "repeats the original",
    ),
    ("a shell block only", "Run this:\n```bash\npip install numpy\n```", False, "no code"),
]


@pytest.mark.parametrize(
    ("answer", "truncated", "why"),
    [case[1:] for case in UNUSABLE],
    ids=[case[0] for case in UNUSABLE],
)
def test_unusable_answers_say_why(answer: str, truncated: bool, why: str) -> None:
    parsed = parse_response(answer, "total", MODULE, truncated=truncated)
    assert isinstance(parsed, Unusable)
    assert why in parsed.reason


def test_garbage_never_raises() -> None:
    for answer in ["", "```", "```python\n```", "\x00def total(xs):\n", "def\n" * 50, "`" * 9]:
        assert isinstance(parse_response(answer, "total", MODULE), (Parsed, Unusable))


BASKET = (
    "class Basket:\n"
    "    def __init__(self, prices):\n"
    "        self.prices = list(prices)\n\n"
    "    def cheapest(self):\n"
    "        return min(self.prices)\n"
)


def test_a_whole_class_answer_takes_the_last_block_that_defines_it() -> None:
    original = MODULE[MODULE.index("class Basket") :]
    answer = f"The original:\n```python\n{original}```\nFaster:\n```python\n{BASKET}```\nDone."
    parsed = parse_class_response(answer, "Basket", MODULE)
    assert isinstance(parsed, Parsed), parsed
    assert "min(self.prices)" in parsed.module_source and "def total(xs)" in parsed.module_source
    assert parsed.notes == ("took code block 2 of 2",)


@pytest.mark.parametrize(
    ("answer", "truncated", "why"),
    [
        ("```python\ndef cheapest(self):\n    return 1\n```", False, "give the whole class"),
        ("```python\nclass Cart:\n    pass\n```", False, "defines class Cart but not Basket"),
        (f"```python\n{MODULE[MODULE.index('class Basket') :]}```", False, "unchanged"),
        (f"```python\n{BASKET[:-20]}", True, "cut off"),
        ("```python\nclass Basket(:\n```\n```python\nclass Basket(\n```", False, "does not parse"),
        ("No idea, sorry.", False, "no code"),
    ],
)
def test_unusable_class_answers_say_why(answer: str, truncated: bool, why: str) -> None:
    parsed = parse_class_response(answer, "Basket", MODULE, truncated=truncated)
    assert isinstance(parsed, Unusable) and why in parsed.reason, parsed
