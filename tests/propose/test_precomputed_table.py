"""precomputed-table: a pure one-int function answers for 0-255 from a tuple built at import."""

from __future__ import annotations

import enum

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rule_testing import load, outcome, rewrite, source

from perfloop.propose.rules.precomputed_table import PrecomputedTable

RULE = PrecomputedTable()


def test_a_guard_before_the_return_and_the_table_above() -> None:
    before = '''
        SPACE = 0x20


        def is_control(b):
            """C0 and C1 controls, DEL, soft hyphen and no-break space."""
            return b < 0x20 or b == 0x7F or 0x80 <= b <= 0x9F or b == 0xA0 or b == 0xAD
        '''
    assert rewrite(RULE, before) == source(
        '''
        SPACE = 0x20


        _IS_CONTROL_TABLE = tuple(
            (b < 0x20 or b == 0x7F or 0x80 <= b <= 0x9F or b == 0xA0 or b == 0xAD)
            for b in range(256)
        )


        def is_control(b):
            """C0 and C1 controls, DEL, soft hyphen and no-break space."""
            if type(b) is int and 0 <= b < 256:
                return _IS_CONTROL_TABLE[b]
            return b < 0x20 or b == 0x7F or 0x80 <= b <= 0x9F or b == 0xA0 or b == 0xAD
        '''
    )


# fontTools 4.47.0, Lib/fontTools/merge/unicode.py (its range comments left out, the
# expression as written): called per code point of every cmap that fontTools.merge merges.
FONTTOOLS_IGNORABLE = """
def is_Default_Ignorable(u):
    # http://www.unicode.org/reports/tr44/#Default_Ignorable_Code_Point
    return (
        u == 0x00AD
        or u == 0x034F  # Cf       SOFT HYPHEN
        or u == 0x061C  # Mn       COMBINING GRAPHEME JOINER
        or 0x115F <= u <= 0x1160  # Cf       ARABIC LETTER MARK
        or 0x17B4  # Lo   [2] HANGUL CHOSEONG FILLER..HANGUL JUNGSEONG FILLER
        <= u
        <= 0x17B5
        or 0x180B  # Mn   [2] KHMER VOWEL INHERENT AQ..KHMER VOWEL INHERENT AA
        <= u
        <= 0x180D
        or u  # Mn   [3] MONGOLIAN FREE VARIATION SELECTOR ONE..THREE
        == 0x180E
        or u == 0x180F  # Cf       MONGOLIAN VOWEL SEPARATOR
        or 0x200B <= u <= 0x200F  # Mn       MONGOLIAN FREE VARIATION SELECTOR FOUR
        or 0xFE00 <= u <= 0xFE0F  # Lo       HANGUL FILLER
        or u == 0xFEFF  # Mn  [16] VARIATION SELECTOR-1..VARIATION SELECTOR-16
        or 0xE0000 <= u <= 0xE0FFF  # Cn [3600] <reserved-E01F0>..<reserved-E0FFF>
        or False
    )
"""


def test_fonttools_default_ignorable_keeps_its_comments_and_behaviour() -> None:
    rewritten = rewrite(RULE, FONTTOOLS_IGNORABLE)
    assert rewritten is not None
    assert rewritten.startswith("\n\n_IS_DEFAULT_IGNORABLE_TABLE = tuple(\n    (u == 0x00AD\n")
    assert "    for u in range(256)\n)\ndef is_Default_Ignorable(u):\n" in rewritten
    assert (
        "    # http://www.unicode.org/reports/tr44/#Default_Ignorable_Code_Point\n"
        "    if type(u) is int and 0 <= u < 256:\n"
        "        return _IS_DEFAULT_IGNORABLE_TABLE[u]\n"
        "    return (\n        u == 0x00AD\n"
    ) in rewritten
    original, fast = load(FONTTOOLS_IGNORABLE), load(rewritten)
    for u in [*range(0, 0x300), 0x034F, 0x180E, 0xFEFF, 0xE0001, 0x10FFFF]:
        assert original(u) is fast(u)


def _function(expression: str, head: str = "def f(b):") -> str:
    return f"{head}\n    return {expression}\n"


SIX = "b == 1 or b == 3 or b == 5 or b == 7 or b == 9 or b > 200"

UNSAFE = {
    "too few operations (a table costs as much)": _function("b == 1 or b == 3 or b > 200"),
    "a global read (it may change)": _function(SIX + " or b == LIMIT"),
    "a call of a function that is not a pure builtin": _function(SIX + " or print(b)"),
    "an attribute (a method call)": _function(SIX + " or b.bit_length() > 7"),
    "two parameters": _function(SIX, "def f(b, c):"),
    "a default value": _function(SIX, "def f(b=0):"),
    "*args": _function(SIX, "def f(*b):"),
    "decorated": "import functools\n@functools.cache\n" + _function(SIX),
    "raises for some value below 256": _function("100 // (b - 7) + 1 + 2 + 3 + 4 + 5"),
    "a list returned (a fresh one per call)": _function("[b + 1 + 2 + 3 + 4 + 5 + 6]"),
    "identity comparison": _function(SIX + " or b is 4"),
    "a string repeated b times": _function('"x" * b + "a" + "b" + "c" + "d" + "e" + "f"'),
    "a power with a computed exponent": _function("2 ** (b * b) + 1 + 2 + 3 + 4 + 5"),
    "a statement before the return": "def f(b):\n    c = b\n    return " + SIX + "\n",
    "a lambda inside": _function(SIX + " or (lambda: b)()"),
    "a module that rebinds a builtin it uses": "def min(*a):\n    return 0\n\n\n"
    + _function("min(b, 3) + 1 + 2 + 3 + 4 + 5 + 6"),
    "a module that rebinds type": "type = str\n\n\n" + _function(SIX),
}


@pytest.mark.parametrize("case", UNSAFE)
def test_silent(case: str) -> None:
    assert rewrite(RULE, UNSAFE[case], "f") is None


def test_silent_on_methods() -> None:
    method = "class C:\n    @staticmethod\n" + "\n".join(
        "    " + line for line in _function(SIX).splitlines()
    )
    assert rewrite(RULE, method + "\n", "C.f") is None


ORIGINAL = source(
    """
    def f(b):
        return (b * 7 + 3) % 11 if b & 1 else min(b, 100) - abs(b - 128) + int(b > 9)
    """
)


class Flag(enum.IntEnum):
    LOW = 3
    HIGH = 200


@given(
    st.integers(-1000, 70000)
    | st.booleans()
    | st.floats(-10, 300)
    | st.sampled_from([Flag.LOW, Flag.HIGH, "a", None, 2**80])
)
def test_same_results_for_every_argument(b: object) -> None:
    """Always-equivalent: bools, floats and int subclasses take the original path."""
    rewritten = rewrite(RULE, ORIGINAL)
    assert rewritten is not None
    old, new = outcome(load(ORIGINAL), b), outcome(load(rewritten), b)
    assert old == new
    assert type(old[1]) is type(new[1])  # True stays True, not 1
