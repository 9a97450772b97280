"""hoist-attribute-lookup: methods and module attributes looked up in a loop, once before it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rule_testing import load, outcome, rewrite, source

from perfloop.propose.rules.hoist_attribute_lookup import HoistAttributeLookup

RULE = HoistAttributeLookup()


def test_bound_method_and_module_function() -> None:
    before = """
        import math


        def distances(points):
            out = []
            for x, y in points:
                out.append(math.sqrt(x * x + y * y) * math.pi)
            return out
        """
    assert rewrite(RULE, before, "distances") == source(
        """
        import math


        def distances(points):
            math_sqrt = math.sqrt
            math_pi = math.pi
            out = []
            out_append = out.append
            for x, y in points:
                out_append(math_sqrt(x * x + y * y) * math_pi)
            return out
        """
    )


def test_method_of_self_and_chains_in_the_outermost_invariant_loop() -> None:
    before = """
        class Board:
            def refresh(self, rows):
                for row in rows:
                    cells = []
                    for cell in row:
                        cells.append(self.style.render(cell))
                    self.lines.append(cells)
        """
    assert rewrite(RULE, before, "Board.refresh") == source(
        """
        class Board:
            def refresh(self, rows):
                self_style_render = self.style.render
                self_lines_append = self.lines.append
                for row in rows:
                    cells = []
                    cells_append = cells.append
                    for cell in row:
                        cells_append(self_style_render(cell))
                    self_lines_append(cells)
        """
    )


UNSAFE = {
    "rebound in the loop": (
        "def f(xs, out):\n    for x in xs:\n        out.append(x)\n        out = []\n"
    ),
    "attribute assigned in the loop": (
        "def f(self, xs):\n    for x in xs:\n        self.emit(x)\n        self.emit = print\n"
    ),
    "setattr in the function": (
        "def f(obj, xs):\n    for x in xs:\n        obj.push(x)\n        setattr(obj, 'push', x)\n"
    ),
    "bound only after the loop": (
        "def f(xs):\n    for x in xs:\n        if x:\n            log.write(x)\n    log = None\n"
    ),
    "a builtin's attribute": "def f(xs):\n    for x in xs:\n        str.upper(x)\n",
    "not in a loop": "def f(out, x):\n    out.append(x)\n    return out\n",
    "inside a lambda": "def f(out, xs):\n    for x in xs:\n        g = lambda: out.append(x)\n",
}


@pytest.mark.parametrize("case", UNSAFE)
def test_silent(case: str) -> None:
    assert rewrite(RULE, UNSAFE[case], "f") is None


ORIGINAL = source(
    """
    def cleaned(words):
        out = set()
        for word in words:
            out.add(word.strip().lower())
        return sorted(out)
    """
)


@given(st.lists(st.text(max_size=5)) | st.lists(st.integers(), max_size=2))
def test_same_results(words: list[str]) -> None:
    rewritten = rewrite(RULE, ORIGINAL)
    assert rewritten is not None
    assert outcome(load(ORIGINAL), words) == outcome(load(rewritten), words)


def test_where_it_differs_missing_attribute_and_empty_loop() -> None:
    """Why verification is needed: the lookup now happens even if the loop never runs."""
    original = "def f(sink, xs):\n    for x in xs:\n        sink.write(x)\n    return len(xs)\n"
    rewritten = rewrite(RULE, original)
    assert rewritten is not None
    assert outcome(load(original), None, []) == ("return", 0)
    assert outcome(load(rewritten), None, []) == ("raise", AttributeError)


class Source:
    """A cursor over a string, as tomlkit's parser keeps one (`self._current` moves)."""

    def __init__(self, text):
        self.text, self.index = text, 0

    @property
    def current(self):
        return Char(self.text[self.index]) if self.index < len(self.text) else Char("")

    def inc(self):
        self.index += 1
        return self.index < len(self.text)


class Char(str):
    def is_bare_key_char(self):
        return self.isalnum() or self in "-_"


BARE_KEY = source(
    """
    def bare_key(src):
        while src.current.is_bare_key_char() and src.inc():
            pass
        return src.index
    """
)


def test_a_chain_whose_root_the_loop_hands_on_stays_in_the_loop() -> None:
    """tomlkit 0.13.2, `Parser._parse_bare_key`: `self.inc()` moves `self._current` on, so
    only `self.inc` itself may be hoisted; passing the root on is the same."""
    before = """
        def bare_key(self):
            while (self._current.is_bare_key_char() or self._current.is_spaces()) and self.inc():
                pass
        """
    assert rewrite(RULE, before) == source(
        """
        def bare_key(self):
            self_inc = self.inc
            while (self._current.is_bare_key_char() or self._current.is_spaces()) and self_inc():
                pass
        """
    )
    passed_on = """
        def feed_all(parser, xs, advance):
            for x in xs:
                parser.current.feed(x)
                advance(parser)
        """
    assert rewrite(RULE, passed_on) is None


@given(st.text(alphabet="ab-_ =.", max_size=8))
def test_a_chain_whose_middle_a_called_method_moves_is_left_alone(text: str) -> None:
    """The rewrite that tomlkit 0.13.2's `_parse_bare_key` got before: `src_current_is_
    bare_key_char = src.current.is_bare_key_char` kept testing the first character."""
    rewritten = rewrite(RULE, BARE_KEY)
    function = load(rewritten) if rewritten is not None else load(BARE_KEY)
    assert outcome(function, Source(text)) == outcome(load(BARE_KEY), Source(text))
