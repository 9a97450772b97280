"""dispatch-dict: a long if/elif chain on one value against literals becomes a dict lookup."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rule_testing import load, outcome, rewrite, source

from perfloop.model import FunctionRef
from perfloop.propose import combine_rules
from perfloop.propose.rules.dispatch_dict import DispatchDict

RULE = DispatchDict()


def test_returned_literals_with_an_else_become_one_get() -> None:
    before = """
        SERVER = "perfloop"


        def http_reason(code):
            if code == 200:
                return "OK"
            elif code == 201:
                return "Created"
            elif code in (301, 302):
                return "Moved"
            elif code == 404:
                return "Not Found"
            elif code == 500:
                return "Server Error"
            else:
                return None
        """
    assert rewrite(RULE, before) == source(
        """
        SERVER = "perfloop"


        _HTTP_REASON_TABLE = {
            200: "OK",
            201: "Created",
            301: "Moved",
            302: "Moved",
            404: "Not Found",
            500: "Server Error",
        }


        def http_reason(code):
            return _HTTP_REASON_TABLE.get(code, None)
        """
    )


# pygments 2.17.2, pygments/lexers/modula2.py, Modula2Lexer.get_tokens_unprocessed:
# the Algol publication-mode substitutions, run once per token of the input.
PYGMENTS_MODULA2 = """
from pygments.lexer import RegexLexer


class Modula2Lexer(RegexLexer):
    def substitute(self, value):
        if self.algol_publication_mode:
            if value == '#':
                value = '≠'
            elif value == '<=':
                value = '≤'
            elif value == '>=':
                value = '≥'
            elif value == '==':
                value = '≡'
            elif value == '*.':
                value = '•'
        return value
"""


def test_pygments_modula2_substitutions_assign_the_subject_itself() -> None:
    """No else and the subject is the name assigned: it keeps its value when nothing matches."""
    assert rewrite(RULE, PYGMENTS_MODULA2, "Modula2Lexer.substitute") == source(
        """
        from pygments.lexer import RegexLexer


        _MODULA2LEXER_SUBSTITUTE_TABLE = {
            '#': '≠',
            '<=': '≤',
            '>=': '≥',
            '==': '≡',
            '*.': '•',
        }


        class Modula2Lexer(RegexLexer):
            def substitute(self, value):
                if self.algol_publication_mode:
                    value = _MODULA2LEXER_SUBSTITUTE_TABLE.get(value, value)
                return value
        """
    )


# mutagen 1.47.0, mutagen/mp3/_util.py, LAMEHeader.guess_settings: an attribute
# subject, literals returned, and the code after the chain runs when none matched.
MUTAGEN_LAME = """
class LAMEHeader:
    def guess_settings(self):
        if self.preset_used == 1001:
            return u"--preset standard"
        elif self.preset_used == 1002:
            return u"--preset extreme"
        elif self.preset_used == 1004:
            return u"--preset fast standard"
        elif self.preset_used == 1005:
            return u"--preset fast extreme"
        elif self.preset_used == 1006:
            return u"--preset medium"
        elif self.preset_used == 1007:
            return u"--preset fast medium"

        if self.vbr_method == 3:
            return u"-V %s" % self.vbr_quality
        return u""
"""


def test_mutagen_lame_presets_fall_through_to_the_code_after_the_chain() -> None:
    rewritten = rewrite(RULE, MUTAGEN_LAME, "LAMEHeader.guess_settings")
    assert rewritten is not None
    assert "        if self.preset_used in _LAMEHEADER_GUESS_SETTINGS_TABLE:\n" in rewritten
    assert "return _LAMEHEADER_GUESS_SETTINGS_TABLE[self.preset_used]\n" in rewritten
    assert "elif" not in rewritten and "if self.vbr_method == 3:" in rewritten
    header = load(MUTAGEN_LAME, "LAMEHeader")
    fast = load(rewritten, "LAMEHeader")
    for preset, vbr in [(1001, 0), (1003, 3), (1007, 3), (0, 0), (1006, 5)]:
        old, new = header(), fast()
        for obj in (old, new):
            obj.preset_used, obj.vbr_method, obj.vbr_quality = preset, vbr, 2
        assert old.guess_settings() == new.guess_settings()


def test_an_assigned_name_with_other_code_after_the_run_keeps_that_code() -> None:
    before = """
        MAGIC = 7


        def opcode(op, strict):
            if op == "add":
                code = 1
            elif op == "sub":
                code = 2
            elif op == "mul":
                code = 3
            elif op == "div":
                code = 4
            elif op == "mod":
                code = 5
            elif strict:
                raise ValueError(op)
            else:
                code = 0
            return code
        """
    assert rewrite(RULE, before) == source(
        """
        MAGIC = 7


        _OPCODE_TABLE = {
            "add": 1,
            "sub": 2,
            "mul": 3,
            "div": 4,
            "mod": 5,
        }


        def opcode(op, strict):
            if op in _OPCODE_TABLE:
                code = _OPCODE_TABLE[op]
            elif strict:
                raise ValueError(op)
            else:
                code = 0
            return code
        """
    )


def test_a_chain_in_the_else_of_another_is_rewritten_too() -> None:
    branches = "".join(
        f"        elif b == {i}:\n            return {i * 10}\n" for i in range(1, 5)
    )
    before = (
        "def f(a, b):\n"
        + "".join(
            f"    {'if' if i == 0 else 'elif'} a == 'k{i}':\n        return {i}\n" for i in range(5)
        )
        + "    else:\n        if b == 0:\n            return 0\n"
        + branches
        + "        return -1\n"
    )
    rewritten = rewrite(RULE, before)
    assert rewritten is not None
    assert "return _F_TABLE.get(a, None)" not in rewritten
    assert "if a in _F_TABLE:" in rewritten and "if b in _F_TABLE_1:" in rewritten
    for a, b in [("k0", 9), ("k4", 0), ("x", 3), ("x", 7)]:
        assert outcome(load(before), a, b) == outcome(load(rewritten), a, b)


def _chain(keys: list[str], body: str = "return {i}") -> str:
    lines = ["def f(x, y):\n"]
    for i, key in enumerate(keys):
        lines.append(f"    {'if' if i == 0 else 'elif'} x == {key}:\n")
        lines.append("        " + body.format(i=i) + "\n")
    lines.append("    return -1\n")
    return "".join(lines)


FIVE = ["'a'", "'b'", "'c'", "'d'", "'e'"]

UNSAFE = {
    "four literals only": _chain(FIVE[:4]),
    "a repeated literal": _chain([*FIVE, "'a'"]),
    "a name, not a literal, as key": _chain([*FIVE[:4], "y"]),
    "float keys": _chain(["0.5", "1.5", "2.5", "3.5", "4.5"]),
    "bool keys": _chain(["True", "False", "None", "1", "2"]),
    "an f-string key": _chain([*FIVE[:4], "f'{y}'"]),
    "a list returned (a fresh one per call)": _chain(FIVE, "return [{i}]"),
    "a global returned (read at call time)": _chain(FIVE, "return y"),
    "a call in a branch": _chain(FIVE, "return print({i})"),
    "two statements in a branch": _chain(FIVE, "print({i}); return {i}"),
    "a different subject": _chain(FIVE[:4]).replace(
        "    return -1", "    elif y == 'e':\n        return 4\n    return -1"
    ),
    "a call as subject": _chain(FIVE).replace("x ==", "x() =="),
    "a subscript as subject": _chain(FIVE).replace("x ==", "x[0] =="),
    "mixed return and assignment": _chain(FIVE[:3]).replace(
        "    return -1",
        "    elif x == 'd':\n        z = 3\n    elif x == 'e':\n        z = 4\n    return -1",
    ),
    "not ==": _chain(FIVE).replace("x ==", "x !="),
    "the literal on the left": _chain(FIVE).replace("x == 'c'", "'c' == x"),
}


@pytest.mark.parametrize("case", UNSAFE)
def test_silent(case: str) -> None:
    assert rewrite(RULE, UNSAFE[case], "f") is None


def test_the_run_may_stop_at_a_test_of_another_kind() -> None:
    """Five literals then `elif x != ...`: the five become the table, the rest stays."""
    before = _chain(FIVE).replace(
        "    return -1", "    elif x != 'z':\n        return 9\n    return -1"
    )
    rewritten = rewrite(RULE, before)
    assert rewritten is not None and "elif x != 'z':" in rewritten
    for x in ["a", "e", "z", "q"]:
        assert outcome(load(before), x, 0) == outcome(load(rewritten), x, 0)


ORIGINAL = source(
    """
    def f(x):
        if x == 1:
            return "one"
        elif x == "1":
            return "text one"
        elif x == -2:
            return ("minus", 2)
        elif x in (3, b"3"):
            return None
        elif x == "":
            return 0.5
        else:
            return "other"
    """
)


@given(
    st.integers(-3, 4)
    | st.sampled_from(["1", "", "a", b"3", b""])
    | st.floats()
    | st.booleans()
    | st.none()
    | st.tuples(st.integers(0, 1))
    | st.complex_numbers()
)
def test_same_results_for_hashable_values(x: object) -> None:
    """Numbers of every builtin type (True, 1.0, 3+0j) hash like the int they equal."""
    rewritten = rewrite(RULE, ORIGINAL)
    assert rewritten is not None
    assert outcome(load(ORIGINAL), x) == outcome(load(rewritten), x)


def test_where_it_differs_unhashable_values() -> None:
    rewritten = rewrite(RULE, ORIGINAL)
    assert rewritten is not None
    assert outcome(load(ORIGINAL), [1]) == ("return", "other")
    assert outcome(load(rewritten), [1]) == ("raise", TypeError)


def test_where_it_differs_eq_that_disagrees_with_hash() -> None:
    """A case-insensitive str equals "add" in the chain, but hashes as "ADD" in the dict."""

    class CaseInsensitive(str):
        def __eq__(self, other: object) -> bool:
            return isinstance(other, str) and self.lower() == other.lower()

        __hash__ = str.__hash__

    before = _chain(["'add'", "'sub'", "'mul'", "'div'", "'mod'"])
    rewritten = rewrite(RULE, before)
    assert rewritten is not None
    assert outcome(load(before), CaseInsensitive("SUB"), 0) == ("return", 1)
    assert outcome(load(rewritten), CaseInsensitive("SUB"), 0) == ("return", -1)


def test_after_or_chain_membership_its_set_tests_become_keys() -> None:
    """The registry order: or-chain-membership turns `x == a or x == b` into `x in {a, b}`,
    which dispatch-dict then reads as two keys of the table."""
    before = source(
        """
        def weekday(day):
            if day == "mon":
                return 0
            elif day == "tue":
                return 1
            elif day == "wed" or day == "wednesday":
                return 2
            elif day == "thu":
                return 3
            return -1
        """
    )
    combined = combine_rules(
        FunctionRef("days", "weekday"), "days.py", before, ["or-chain-membership", "dispatch-dict"]
    )
    assert combined is not None
    assert '    "wednesday": 2,\n' in combined.module_source
    assert "if day in _WEEKDAY_TABLE:" in combined.module_source
    for day in ["mon", "wednesday", "thu", "sun"]:
        assert load(before)(day) == load(combined.module_source)(day)


# fontTools 4.47.0, Lib/fontTools/ttx.py, guessFileType (the file reading left out), and
# Lib/fontTools/misc/textTools.py, Tag: a str subclass whose __eq__ also accepts bytes
# and whose __hash__ is str's. The chain compares a Tag; the dict hashes it.
FONTTOOLS_GUESS = r"""
class Tag(str):
    @staticmethod
    def transcode(blob):
        if isinstance(blob, bytes):
            blob = blob.decode("latin-1")
        return blob

    def __new__(self, content):
        return str.__new__(self, self.transcode(content))

    def __ne__(self, other):
        return not self.__eq__(other)

    def __eq__(self, other):
        return str.__eq__(self, self.transcode(other))

    def __hash__(self):
        return str.__hash__(self)


def guessFileType(header):
    head = Tag(header[:4])
    if head == "OTTO":
        return "OTF"
    elif head == "ttcf":
        return "TTC"
    elif head in ("\0\1\0\0", "true"):
        return "TTF"
    elif head == "wOFF":
        return "WOFF"
    elif head == "wOF2":
        return "WOFF2"
    elif head == "<?xm":
        header = header.decode("latin1")
        if "<ttFont" in header:
            return "OTX"
        else:
            return "TTX"
    return None
"""


def test_fonttools_tag_subclass_of_str_looks_up_the_same() -> None:
    """A str subclass that keeps str's hash finds the same entries as its __eq__ does."""
    rewritten = rewrite(RULE, FONTTOOLS_GUESS, "guessFileType")
    assert rewritten is not None
    assert "    if head in _GUESSFILETYPE_TABLE:\n" in rewritten
    assert '    elif head == "<?xm":\n' in rewritten
    headers = [b"OTTO....", b"\0\1\0\0xx", b"true", b"wOF2", b"<?xml <ttFont", b"<?xm", b"ABCD"]
    original = load(FONTTOOLS_GUESS, "guessFileType")
    fast = load(rewritten, "guessFileType")
    assert [original(h) for h in headers] == [fast(h) for h in headers]
    assert [fast(h) for h in headers] == ["OTF", "TTF", "TTF", "WOFF2", "OTX", "TTX", None]
