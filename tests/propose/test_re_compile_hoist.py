"""re-compile-hoist: literal patterns are compiled once, at module level."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rule_testing import load, outcome, rewrite, source

from perfloop.model import Candidate, FunctionRef
from perfloop.patch import merge_candidates
from perfloop.propose import propose_rule_candidates
from perfloop.propose.rules.re_compile_hoist import ReCompileHoist

RULE = ReCompileHoist()

MODULE = source(
    '''
    """Text processing."""

    import re

    PUNCTUATION = ".,"


    def mentioned_skus(review):
        """Product codes such as KIT-0042."""
        return re.findall(r"\\b[A-Z]{3}-\\d{4}\\b", review)


    class Phone:
        # cleaning
        def normalize(self, raw):
            digits = re.sub(r"[^0-9+]", "", raw, count=0)
            parts = re.split(r"[-/]", digits, 1, re.I | re.M)
            return re.compile(r"[^0-9+]"), parts, re.sub(r"[^0-9+]", "-", raw)
    '''
)


def test_module_function() -> None:
    assert rewrite(RULE, MODULE, "mentioned_skus") == MODULE.replace(
        '''PUNCTUATION = ".,"


def mentioned_skus(review):
    """Product codes such as KIT-0042."""
    return re.findall(r"\\b[A-Z]{3}-\\d{4}\\b", review)''',
        '''PUNCTUATION = ".,"


_MENTIONED_SKUS_RE = re.compile(r"\\b[A-Z]{3}-\\d{4}\\b")


def mentioned_skus(review):
    """Product codes such as KIT-0042."""
    return _MENTIONED_SKUS_RE.findall(review)''',
    )


def test_method_flags_keywords_and_one_constant_per_pattern() -> None:
    rewritten = rewrite(RULE, MODULE, "Phone.normalize")
    assert rewritten is not None
    assert rewritten.endswith(
        source(
            """
            _PHONE_NORMALIZE_RE = re.compile(r"[^0-9+]")
            _PHONE_NORMALIZE_RE_1 = re.compile(r"[-/]", re.I | re.M)


            class Phone:
                # cleaning
                def normalize(self, raw):
                    digits = _PHONE_NORMALIZE_RE.sub("", raw, count=0)
                    parts = _PHONE_NORMALIZE_RE_1.split(digits, 1)
                    return _PHONE_NORMALIZE_RE, parts, _PHONE_NORMALIZE_RE.sub("-", raw)
            """
        )
    )


UNSAFE = {
    "pattern from a variable": "import re\n\ndef f(p, s):\n    return re.findall(p, s)\n",
    "f-string pattern": "import re\n\ndef f(p, s):\n    return re.findall(f'{p}+', s)\n",
    "flags from a variable": "import re\n\ndef f(fl, s):\n    return re.findall('a', s, fl)\n",
    "pattern that does not compile": "import re\n\ndef f(s):\n    return re.findall('(', s)\n",
    "re.DEBUG prints when compiling": (
        "import re\n\ndef f(s):\n    return re.findall('a', s, re.DEBUG)\n"
    ),
    "re imported under another name": (
        "import re as regex\n\ndef f(s):\n    return regex.findall('a', s)\n"
    ),
    "re from elsewhere": "from mylib import re\n\ndef f(s):\n    return re.findall('a', s)\n",
    "re rebound in the function": (
        "import re\n\ndef f(s, re=re):\n    return re.findall('a', s)\n"
    ),
    "unknown re function": "import re\n\ndef f(s):\n    return re.escape('a+')\n",
    "star arguments": "import re\n\ndef f(args):\n    return re.sub('a', *args)\n",
}


@pytest.mark.parametrize("case", UNSAFE)
def test_silent(case: str) -> None:
    assert rewrite(RULE, UNSAFE[case], "f") is None


@given(st.text(alphabet="AB-0123 x/+", max_size=20) | st.binary(max_size=3) | st.none())
def test_same_results(text: str) -> None:
    function = rewrite(RULE, MODULE, "mentioned_skus")
    method = rewrite(RULE, MODULE, "Phone.normalize")
    assert function is not None and method is not None
    name = "mentioned_skus"
    assert outcome(load(MODULE, name), text) == outcome(load(function, name), text)
    before = outcome(load(MODULE, "Phone")().normalize, text)
    after = outcome(load(method, "Phone")().normalize, text)
    assert before == after
    if before[0] == "return":
        assert before[1][0] is after[1][0] is re.compile(r"[^0-9+]")  # re's cached object


def test_merging_the_candidate_keeps_the_constant() -> None:
    """The patch carries the module-level constant along with the function."""
    ref = FunctionRef("shop.text", "mentioned_skus")
    [candidate] = [
        c
        for c in propose_rule_candidates(ref, "shop/text.py", MODULE)
        if c.origin == "rule:re-compile-hoist"
    ]
    assert candidate.function_source.startswith("_MENTIONED_SKUS_RE = re.compile(")
    merged = merge_candidates(MODULE, [candidate])
    assert merged == candidate.module_source
    other = Candidate(
        FunctionRef("shop.text", "Phone.normalize"),
        "rule:re-compile-hoist",
        "",
        rewrite(RULE, MODULE, "Phone.normalize") or "",
        "",
        "shop/text.py",
    )
    both = merge_candidates(MODULE, [candidate, other])
    namespace: dict[str, object] = {}
    exec(compile(both, "<merged>", "exec"), namespace)
    assert namespace["mentioned_skus"]("KIT-0042 and BAT-1234") == ["KIT-0042", "BAT-1234"]  # type: ignore[operator]
    phone = load(MODULE, "Phone")().normalize("0049-30/123")
    assert namespace["Phone"]().normalize("0049-30/123") == phone  # type: ignore[operator]
