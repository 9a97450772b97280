"""scalar-replace-attributes: `self._x` read and updated in a loop lives in a local."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rule_testing import rewrite, source

from perfloop.propose.rules.scalar_replace_attributes import ScalarReplaceAttributes

RULE = ScalarReplaceAttributes()

# chardet 5.2.0, chardet/sbcharsetprober.py: SingleByteCharSetProber (abridged: the
# model is a dict here, the probing-state bookkeeping after the loop is left out).
CHARDET_SB_PROBER = """
class SingleByteCharSetProber:
    SAMPLE_SIZE = 64

    def __init__(self, model, is_reversed=False):
        self._model = model
        self._reversed = is_reversed
        self.reset()

    def reset(self):
        self._last_order = 255
        self._seq_counters = [0] * 4
        self._total_seqs = 0
        self._total_char = 0
        self._freq_char = 0

    def feed(self, byte_str):
        char_to_order_map = self._model["char_to_order_map"]
        language_model = self._model["language_model"]
        for char in byte_str:
            order = char_to_order_map.get(char, 255)
            if order < 251:
                self._total_char += 1
            if order < self.SAMPLE_SIZE:
                self._freq_char += 1
                if self._last_order < self.SAMPLE_SIZE:
                    self._total_seqs += 1
                    if not self._reversed:
                        lm_cat = language_model[self._last_order][order]
                    else:
                        lm_cat = language_model[order][self._last_order]
                    self._seq_counters[lm_cat] += 1
            self._last_order = order
        return self._total_seqs
"""


def test_chardet_single_byte_prober_feed() -> None:
    rewritten = rewrite(RULE, CHARDET_SB_PROBER, "SingleByteCharSetProber.feed")
    assert rewritten is not None
    feed = rewritten[rewritten.index("    def feed") :]
    assert textwrap.dedent(feed) == source(
        """
            def feed(self, byte_str):
                char_to_order_map = self._model["char_to_order_map"]
                language_model = self._model["language_model"]
                total_char = self._total_char
                sample_size = self.SAMPLE_SIZE
                freq_char = self._freq_char
                last_order = self._last_order
                total_seqs = self._total_seqs
                reversed_ = self._reversed
                seq_counters = self._seq_counters
                try:
                    for char in byte_str:
                        order = char_to_order_map.get(char, 255)
                        if order < 251:
                            total_char += 1
                        if order < sample_size:
                            freq_char += 1
                            if last_order < sample_size:
                                total_seqs += 1
                                if not reversed_:
                                    lm_cat = language_model[last_order][order]
                                else:
                                    lm_cat = language_model[order][last_order]
                                seq_counters[lm_cat] += 1
                        last_order = order
                finally:
                    self._total_char = total_char
                    self._freq_char = freq_char
                    self._last_order = last_order
                    self._total_seqs = total_seqs
                return self._total_seqs
        """
    )


def _prober_class(module_source: str, name: str) -> Any:
    namespace: dict[str, Any] = {}
    exec(compile(module_source, "<example>", "exec"), namespace)
    return namespace[name]


_MODEL = {
    "char_to_order_map": {i: (i * 7) % 260 for i in range(256)},
    "language_model": [[(i + j) % 4 for j in range(64)] for i in range(64)],
}


@given(st.lists(st.binary(max_size=40), max_size=5), st.booleans())
def test_chunked_feeds_leave_the_same_state(chunks: list[bytes], is_reversed: bool) -> None:
    """Fed in chunks, as chardet.detect does: the state carries from call to call."""
    rewritten = rewrite(RULE, CHARDET_SB_PROBER, "SingleByteCharSetProber.feed")
    assert rewritten is not None
    before = _prober_class(source(CHARDET_SB_PROBER), "SingleByteCharSetProber")(
        _MODEL, is_reversed
    )
    after = _prober_class(rewritten, "SingleByteCharSetProber")(_MODEL, is_reversed)
    for chunk in chunks:
        assert before.feed(chunk) == after.feed(chunk)
        assert vars(before) == vars(after)


# chardet 5.2.0, chardet/utf8prober.py: UTF8Prober.feed (abridged: a stand-in state
# machine; `break` leaves the loop with `_state` written directly).
CHARDET_UTF8_PROBER = """
class StateMachine:
    def __init__(self):
        self.count = 0

    def next_state(self, c):
        self.count += 1
        if c == 0xFF:
            raise ValueError("bad byte")
        return {0xFE: 1, 0xFD: 2}.get(c, 0 if c < 0x80 else 3)

    def get_current_charlen(self):
        return 2


class UTF8Prober:
    def __init__(self):
        self.coding_sm = StateMachine()
        self._num_mb_chars = 0
        self._state = "detecting"

    def feed(self, byte_str):
        for c in byte_str:
            coding_state = self.coding_sm.next_state(c)
            if coding_state == 1:
                self._state = "not me"
                break
            if coding_state == 2:
                return "found"
            if coding_state == 0:
                if self.coding_sm.get_current_charlen() >= 2:
                    self._num_mb_chars += 1
        return self._state
"""


def test_chardet_utf8_prober_writes_back_on_break_return_and_exceptions() -> None:
    rewritten = rewrite(RULE, CHARDET_UTF8_PROBER, "UTF8Prober.feed")
    assert rewritten is not None
    assert "        num_mb_chars = self._num_mb_chars\n" in rewritten
    assert "        finally:\n            self._num_mb_chars = num_mb_chars\n" in rewritten
    assert 'self._state = "not me"' in rewritten  # written, never read: left alone
    before_class = _prober_class(CHARDET_UTF8_PROBER, "UTF8Prober")
    after_class = _prober_class(rewritten, "UTF8Prober")
    # the end of the loop, break, return, an exception, no pass at all
    expected = {b"abc": 3, b"ab\xfecd": 2, b"a\xfdbc": 1, b"ab\xffcd": 2, b"": 0}
    for data, counted in expected.items():
        before, after = before_class(), after_class()
        outcomes = []
        for prober in (before, after):
            try:
                outcomes.append(("return", prober.feed(data)))
            except ValueError as error:
                outcomes.append(("raise", str(error)))
        assert outcomes[0] == outcomes[1]
        assert before._num_mb_chars == after._num_mb_chars == counted
        assert vars(before.coding_sm) == vars(after.coding_sm)


def _method(body: str, extra: str = "") -> str:
    return (
        "class C:\n"
        "    def __init__(self, other=None):\n"
        "        self._n = 0\n"
        "        self._other = other\n"
        f"{extra}"
        "    def run(self, xs):\n"
        f"{body}"
    )


UNSAFE = {
    "a method of self is called in the loop": _method(
        "        for x in xs:\n            self._n += 1\n            self.run([])\n"
    ),
    "a callback in a local is called (pyparsing 3.1.1 parse actions)": _method(
        "        for fn in xs:\n            self._n += 1\n            fn(self._other)\n"
    ),
    "self is passed": _method(
        "        for x in xs:\n            self._n += 1\n            g(self)\n"
    ),
    "yield in the loop": _method(
        "        for x in xs:\n            self._n += 1\n            yield x\n"
    ),
    "the same attribute of another object": _method(
        "        for x in xs:\n            self._n += x._n\n"
    ),
    "a property of the class": _method(
        "        for x in xs:\n            total = self.size + x\n",
        "    @property\n    def size(self):\n        return self._n\n",
    ),
    "defined by a base class only": _method("        for x in xs:\n            self._base += x\n"),
    "__getattr__ in the class": _method(
        "        for x in xs:\n            self._n += x\n",
        "    def __getattr__(self, name):\n        return 0\n",
    ),
    "a nested function sees self": _method(
        "        def bump():\n            self._n += 1\n"
        "        for x in xs:\n            self._n += x\n            bump()\n"
    ),
    "setattr in the method": _method(
        "        for x in xs:\n            self._n += x\n        setattr(self, '_n', 0)\n"
    ),
    "self rebound": _method(
        "        for x in xs:\n            self._n += x\n            self = x\n"
    ),
    "not in a loop": _method("        self._n += len(xs)\n"),
    "only the iterable of the for loop (read once anyway)": _method(
        "        for x in self._other:\n            print(x)\n"
    ),
}


@pytest.mark.parametrize("case", UNSAFE)
def test_silent(case: str) -> None:
    assert rewrite(RULE, UNSAFE[case], "C.run") is None


def test_a_staticmethod_has_no_instance() -> None:
    module = "class C:\n    @staticmethod\n    def run(self, xs):\n"
    module += "        for x in xs:\n            self._n += x\n"
    assert rewrite(RULE, module, "C.run") is None


def test_written_attributes_stay_when_the_loop_reads_a_computed_one() -> None:
    """`self.size` may read `self._n`: `_n` is not moved to a local, `_other` (only read) is."""
    module = _method(
        "        for x in xs:\n            self._n += self._other[x] + self.size\n",
        "    @property\n    def size(self):\n        return self._n\n",
    )
    rewritten = rewrite(RULE, module, "C.run")
    assert rewritten is not None
    assert "other = self._other\n" in rewritten
    assert "self._n += other[x] + self.size" in rewritten
    assert "finally" not in rewritten


def test_where_it_differs_an_attribute_missing_and_an_empty_loop() -> None:
    """The attribute is read before the loop now: missing, it raises even for no items."""
    module = "class C:\n    def run(self, xs):\n        for x in xs:\n            self._n += x\n"
    module += "    def reset(self):\n        self._n = 0\n"
    rewritten = rewrite(RULE, module, "C.run")
    assert rewritten is not None
    _prober_class(module, "C")().run([])
    with pytest.raises(AttributeError):
        _prober_class(rewritten, "C")().run([])


DATACLASS = """
from dataclasses import dataclass, field


@dataclass
class Tally:
    total: int = 0
    seen: list = field(default_factory=list)
    last: object = None

    def add_all(self, items):
        for item in items:
            self.total += item
            self.seen.append(item)
            self.last = item
"""


def test_dataclass_fields_are_data() -> None:
    rewritten = rewrite(RULE, DATACLASS, "Tally.add_all")
    assert rewritten is not None
    assert "        total = self.total\n        seen = self.seen\n" in rewritten
    assert "            self.total = total\n" in rewritten
    assert "self.last = item" in rewritten  # written only: left as it is
    before, after = _prober_class(source(DATACLASS), "Tally")(), _prober_class(rewritten, "Tally")()
    for items in ([1, 2], [], [3, "x"]):
        outcomes = []
        for tally in (before, after):
            try:
                tally.add_all(items)
                outcomes.append("return")
            except TypeError:
                outcomes.append("raise")
        assert outcomes[0] == outcomes[1]
        assert vars(before) == vars(after)


def test_an_inner_loop_when_the_outer_one_calls_a_method() -> None:
    """The method runs between inner loops, after the write-back: only the inner loop qualifies."""
    module = _method(
        "        for row in xs:\n"
        "            for x in row:\n"
        "                self._n += x\n"
        "            self.flush()\n",
        "    def flush(self):\n        print(self._n)\n",
    )
    rewritten = rewrite(RULE, module, "C.run")
    assert rewritten is not None
    assert rewritten.endswith(
        "        for row in xs:\n"
        "            n = self._n\n"
        "            try:\n"
        "                for x in row:\n"
        "                    n += x\n"
        "            finally:\n"
        "                self._n = n\n"
        "            self.flush()\n"
    )
