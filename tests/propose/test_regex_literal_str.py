"""regex-literal-str: patterns that are plain text become str methods."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rule_testing import load, outcome, rewrite, source

from perfloop.propose.rules.regex_literal_str import RegexLiteralStr

RULE = RegexLiteralStr()


def test_each_function() -> None:
    before = """
        import re


        def clean(line, cells):
            if re.search("ERROR", line) or not re.match("# ", line):
                line = re.sub(", ", ";", line + cells)
            return re.split("\\t", line), re.findall("ab", line)
        """
    assert rewrite(RULE, before, "clean") == source(
        """
        import re


        def clean(line, cells):
            if "ERROR" in line or not line.startswith("# "):
                line = (line + cells).replace(", ", ";")
            return line.split("\\t"), ["ab"] * line.count("ab")
        """
    )


UNSAFE = {
    "special characters": "import re\n\ndef f(s):\n    return re.split('a+', s)\n",
    "a dot": "import re\n\ndef f(s):\n    return re.sub('.', '', s)\n",
    "flags": "import re\n\ndef f(s):\n    return re.split('a', s, flags=re.I)\n",
    "maxsplit": "import re\n\ndef f(s):\n    return re.split('a', s, 1)\n",
    "backslash in the replacement": "import re\n\ndef f(s):\n    return re.sub('a', r'\\\\n', s)\n",
    "search result used": "import re\n\ndef f(s):\n    return re.search('a', s)\n",
    "empty pattern": "import re\n\ndef f(s):\n    return re.split('', s)\n",
    "escaped character": "import re\n\ndef f(s):\n    return re.sub('\\\\.', '', s)\n",
    "re from elsewhere": "from mylib import re\n\ndef f(s):\n    return re.split('a', s)\n",
}


@pytest.mark.parametrize("case", UNSAFE)
def test_silent(case: str) -> None:
    assert rewrite(RULE, UNSAFE[case], "f") is None


ORIGINAL = source(
    """
    import re


    def f(s):
        return (
            re.sub("ab", "-", s),
            re.split(",", s),
            re.findall("aa", s),
            bool(re.search("b,", s)) if re.match("a", s) else 0,
        )
    """
)


@given(st.text(alphabet="ab,-", max_size=12))
def test_same_results_on_str(s: str) -> None:
    rewritten = rewrite(RULE, ORIGINAL, "f")
    assert rewritten is not None
    assert outcome(load(ORIGINAL, "f"), s) == outcome(load(rewritten, "f"), s)


def test_where_it_differs_non_str_arguments() -> None:
    """Why verification is needed: other types fail with other exceptions."""
    rewritten = rewrite(RULE, ORIGINAL, "f")
    assert rewritten is not None
    assert outcome(load(ORIGINAL, "f"), None) == ("raise", TypeError)
    assert outcome(load(rewritten, "f"), None) == ("raise", AttributeError)
