"""translate-table: a per-character join through a constant dict becomes str.translate."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rule_testing import load, outcome, rewrite, source

from perfloop.model import FunctionRef
from perfloop.propose import combine_rules, in_combination_order
from perfloop.propose.rules.translate_table import TranslateTable

RULE = TranslateTable()

# PyLaTeX 1.4.2, pylatex/utils.py: the escape table and escape_latex (docstring cut).
PYLATEX_ESCAPE = r"""
class NoEscape(str):
    pass


_latex_special_chars = {
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\^{}",
    "\\": r"\textbackslash{}",
    "\n": "\\newline%\n",
    "-": r"{-}",
    "\xA0": "~",  # Non-breaking space
    "[": r"{[}",
    "]": r"{]}",
}

_tmp_path = None


def escape_latex(s):
    if isinstance(s, NoEscape):
        return s

    return NoEscape("".join(_latex_special_chars.get(c, c) for c in str(s)))
"""


def test_pylatex_escape_latex() -> None:
    rewritten = rewrite(RULE, PYLATEX_ESCAPE, "escape_latex")
    assert rewritten is not None
    assert rewritten.endswith(
        source(
            """
            _tmp_path = None


            _ESCAPE_LATEX_TABLE = str.maketrans(_latex_special_chars)


            def escape_latex(s):
                if isinstance(s, NoEscape):
                    return s

                return NoEscape(str(s).translate(_ESCAPE_LATEX_TABLE))
            """
        )
    )
    before, after = load(source(PYLATEX_ESCAPE), "escape_latex"), load(rewritten, "escape_latex")
    for value in ["Total cost: $30,000", "a_b {x} ~ ^ \\ \n-[]\xa0", 3.5, "", None]:
        assert after(value) == before(value)
        assert type(after(value)).__name__ == type(before(value)).__name__


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        (  # a list comprehension, a method, an iterable that needs parentheses
            """
            SUP = {"0": "⁰", "1": "¹", "2": "²", "-": "⁻"}


            class Number:
                def exponent(self, a, b):
                    return "".join([SUP.get(d, d) for d in a + b])
            """,
            """
            _NUMBER_EXPONENT_TABLE = str.maketrans(SUP)


            class Number:
                def exponent(self, a, b):
                    return (a + b).translate(_NUMBER_EXPONENT_TABLE)
            """,
        ),
        (  # annotated
            """
            from typing import Final

            CYR: Final[dict[str, str]] = {"ж": "zh", "я": "ya"}


            def translit(text):
                return "".join(CYR.get(ch, ch) for ch in text)
            """,
            """
            _TRANSLIT_TABLE = str.maketrans(CYR)


            def translit(text):
                return text.translate(_TRANSLIT_TABLE)
            """,
        ),
        (  # two joins through one map share one table
            """
            M = {"a": "4"}


            def both(x, y):
                return "".join(M.get(c, c) for c in x), "".join(M.get(c, c) for c in y)
            """,
            """
            _BOTH_TABLE = str.maketrans(M)


            def both(x, y):
                return x.translate(_BOTH_TABLE), y.translate(_BOTH_TABLE)
            """,
        ),
        (  # a map built in the function on every call: the literal moves into the table
            """
            \"\"\"Text helpers.\"\"\"


            def normalize_leet(text):
                \"\"\"Leet-speak back to letters.\"\"\"
                leet_map = {"0": "o", "1": "i", "3": "e", "@": "a"}
                return "".join([leet_map.get(ch, ch) for ch in text.lower()])
            """,
            """
            _NORMALIZE_LEET_TABLE = str.maketrans({"0": "o", "1": "i", "3": "e", "@": "a"})


            def normalize_leet(text):
                \"\"\"Leet-speak back to letters.\"\"\"
                return text.lower().translate(_NORMALIZE_LEET_TABLE)
            """,
        ),
    ],
)
def test_rewrites(module: str, expected: str) -> None:
    qualname = "Number.exponent" if "class" in module else None
    rewritten = rewrite(RULE, module, qualname)
    assert rewritten is not None
    assert rewritten.endswith(source(expected))


@pytest.mark.parametrize(
    "module",
    [
        # the map is changed somewhere in the module
        'M = {"a": "4"}\ndef f(s):\n    return "".join(M.get(c, c) for c in s)\n'
        'def g():\n    M["b"] = "8"\n',
        'M = {"a": "4"}\ndef f(s):\n    return "".join(M.get(c, c) for c in s)\n'
        "def g(x):\n    M.update(x)\n",
        # passed to a function that might change it
        'M = {"a": "4"}\ndef f(s):\n    return "".join(M.get(c, c) for c in s)\nregister(M)\n',
        # bound twice, or after the function (maketrans above it would fail)
        'M = {"a": "4"}\nM = {"a": "5"}\ndef f(s):\n    return "".join(M.get(c, c) for c in s)\n',
        'def f(s):\n    return "".join(M.get(c, c) for c in s)\nM = {"a": "4"}\n',
        # keys that are not one character (maketrans refuses them), values not str
        'M = {"ab": "4"}\ndef f(s):\n    return "".join(M.get(c, c) for c in s)\n',
        'M = {"a": None}\ndef f(s):\n    return "".join(M.get(c, c) for c in s)\n',
        'M = {"a": 4}\ndef f(s):\n    return "".join(M.get(c, c) for c in s)\n',
        'M = {b"a": b"4"}\ndef f(s):\n    return "".join(M.get(c, c) for c in s)\n',
        'M = {"a": "4", **N}\ndef f(s):\n    return "".join(M.get(c, c) for c in s)\n',
        # not a literal dict, or a local one
        "M = dict(a='4')\ndef f(s):\n    return ''.join(M.get(c, c) for c in s)\n",
        # a local map used otherwise, changed, bound in a branch, or read before it is bound
        "def f(s):\n    M = {'a': '4'}\n    return ''.join(M.get(c, c) for c in s), M\n",
        "def f(s):\n    M = {'a': '4'}\n    M['b'] = '8'\n"
        "    return ''.join(M.get(c, c) for c in s)\n",
        "def f(s, k):\n    if k:\n        M = {'a': '4'}\n"
        "    return ''.join(M.get(c, c) for c in s)\n",
        "def f(s):\n    t = ''.join(M.get(c, c) for c in s)\n    M = {'a': '4'}\n    return t\n",
        "def f(s):\n    M = {'a': '4'}\n    g = lambda: ''.join(M.get(c, c) for c in s)\n"
        "    return g()\n",
        # another default, another separator, a filter, two loops
        'M = {"a": "4"}\ndef f(s):\n    return "".join(M.get(c, "?") for c in s)\n',
        'M = {"a": "4"}\ndef f(s):\n    return "".join(M.get(c) for c in s)\n',
        'M = {"a": "4"}\ndef f(s):\n    return " ".join(M.get(c, c) for c in s)\n',
        'M = {"a": "4"}\ndef f(s):\n    return "".join(M.get(c, c) for c in s if c)\n',
        'M = {"a": "4"}\ndef f(s):\n    return "".join(M.get(c, c) for w in s for c in w)\n',
        # `str` rebound: str.maketrans would not be the builtin's
        'str = bytes\nM = {"a": "4"}\ndef f(s):\n    return "".join(M.get(c, c) for c in s)\n',
        # chains of replace stay: they are faster than translate on CPython
        "def f(s):\n    return s.replace('&', '&amp;').replace('<', '&lt;')\n",
    ],
)
def test_silent(module: str) -> None:
    assert rewrite(RULE, module) is None


MAPPED = """
M = {"a": "4", "e": "3", "<": "&lt;", "&": "&amp;", "\\u00e9": "e", "x": ""}


def f(s):
    return "".join(M.get(c, c) for c in s)
"""


@given(st.text(alphabet=st.sampled_from("ae<&éx bz\U0001f600\ud800") | st.characters()))
def test_same_results_on_strings(text: str) -> None:
    rewritten = rewrite(RULE, MAPPED)
    assert rewritten is not None
    assert load(rewritten)(text) == load(source(MAPPED))(text)


def test_where_it_differs_non_str_iterables() -> None:
    """A list of characters joins, but has no .translate; bytes fail in both, as TypeError."""
    rewritten = rewrite(RULE, MAPPED)
    assert rewritten is not None
    before, after = load(source(MAPPED)), load(rewritten)
    assert outcome(before, ["a", "b"]) == ("return", "4b")
    assert outcome(after, ["a", "b"]) == ("raise", AttributeError)
    assert outcome(before, b"ab") == outcome(after, b"ab") == ("raise", TypeError)


LOCAL = '''
"""Text helpers."""


def normalize_leet(text):
    leet_map = {"0": "o", "1": "i", "3": "e", "@": "a", "\\n": " / "}
    return "".join(leet_map.get(ch, ch) for ch in text)
'''


@given(st.text(alphabet="01@3\nabcé"))
def test_local_map_same_results(text: str) -> None:
    rewritten = rewrite(RULE, LOCAL)
    assert rewritten is not None and "leet_map" not in rewritten
    assert load(rewritten)(text) == load(source(LOCAL))(text)


# humanize at bde649f^ (4.15.0-28-ge7c04f4), src/humanize/number.py: the module-level map and
# the end of scientific(), the code the maintainer then rewrote with str.maketrans.
HUMANIZE_SCIENTIFIC = """
import re

_SUPERSCRIPT_MAP = {
    "0": "⁰",
    "1": "¹",
    "2": "²",
    "3": "³",
    "4": "⁴",
    "5": "⁵",
    "6": "⁶",
    "7": "⁷",
    "8": "⁸",
    "9": "⁹",
    "-": "⁻",
}


def scientific(value, precision=2):
    fmt = f"{{:.{str(int(precision))}e}}"
    n = fmt.format(value)
    part1, part2 = n.split("e")
    part2 = re.sub(r"^\\+?(\\-?)0*(.+)$", r"\\1\\2", part2)
    return part1 + " x 10" + "".join([_SUPERSCRIPT_MAP[char] for char in part2])
"""


def test_humanize_scientific_keeps_the_key_error() -> None:
    """`MAP[c]` raises KeyError for a character the map lacks: the original join stays as
    the fallback for strings that have one, so the same KeyError comes out."""
    rewritten = rewrite(RULE, HUMANIZE_SCIENTIFIC)
    assert rewritten is not None
    assert "_SCIENTIFIC_TABLE = str.maketrans(_SUPERSCRIPT_MAP)\n" in rewritten
    assert "_SCIENTIFIC_KEYS = frozenset(_SUPERSCRIPT_MAP)\n" in rewritten
    assert rewritten.endswith(
        '    return part1 + " x 10" + (part2.translate(_SCIENTIFIC_TABLE) if '
        "_SCIENTIFIC_KEYS.issuperset(part2) else "
        '"".join([_SUPERSCRIPT_MAP[char] for char in part2]))\n'
    )
    before, after = load(source(HUMANIZE_SCIENTIFIC)), load(rewritten)
    for value in [0.3, 1e-300, 12345.678, -7e22, 1]:
        assert after(value) == before(value)


STRICT = """
M = {"0": "⁰", "1": "¹", "-": "⁻", "a": "ab"}


def f(s):
    return "".join(M[c] for c in s)
"""


@given(st.text(alphabet="01-ab+"))
def test_strict_form_same_results_and_errors(text: str) -> None:
    rewritten = rewrite(RULE, STRICT)
    assert rewritten is not None
    before, after = load(source(STRICT)), load(rewritten)
    assert outcome(after, text) == outcome(before, text)


@pytest.mark.parametrize(
    "module",
    [
        # S is evaluated twice in the strict form: only a plain name
        'M = {"a": "4"}\ndef f(s):\n    return "".join(M[c] for c in s.lower())\n',
        # the fallback reads the map: a local one would be gone
        "def f(s):\n    M = {'a': '4'}\n    return ''.join(M[c] for c in s)\n",
        # another key than the character
        'M = {"a": "4"}\ndef f(s):\n    return "".join(M[c.lower()] for c in s)\n',
    ],
)
def test_strict_form_silent(module: str) -> None:
    assert rewrite(RULE, module) is None


def test_combines_with_re_compile_hoist_on_humanize() -> None:
    """Both rules add module-level constants above the function; the combination keeps both."""
    module = source(HUMANIZE_SCIENTIFIC)
    combined = combine_rules(
        FunctionRef("humanize.number", "scientific"),
        "humanize/number.py",
        module,
        in_combination_order(["re-compile-hoist", "translate-table"]),
    )
    assert combined is not None
    assert combined.origin == "rules:translate-table+re-compile-hoist"
    assert "_SCIENTIFIC_RE = re.compile(" in combined.module_source
    assert "_SCIENTIFIC_TABLE = str.maketrans(_SUPERSCRIPT_MAP)" in combined.module_source
    before, after = load(module), load(combined.module_source)
    for value in [0.3, 1e-300, 12345.678, -7e22]:
        assert after(value) == before(value)
