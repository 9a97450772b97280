"""One micro-benchmark per rewrite rule: the rule's own rewrite of a typical function,
timed against the original on a typical input. The figures of docs/rules.md.

    python benchmarks/rules_micro.py              # every rule (about 2 minutes)
    python benchmarks/rules_micro.py count-loop   # some rules

Each case is a function as it appears in real code (most from examples/shop or
pyperformance), an input drawn with random.Random(1), and the rule applied with
`perfloop.propose.apply.apply_rule`. Both versions must return equal results;
timing is timeit with autorange loop counts, the median of 7 repeats, per call,
in this one process (no isolation: the figures show the order of magnitude, not
what perfloop's measure stage would conclude on another machine or input).

The last line is one JSON object: {"rules": N, "faster": N, "speedups": {id: x}}.
"""

from __future__ import annotations

import json
import math
import platform
import random
import statistics
import sys
import textwrap
import timeit
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import libcst as cst

from perfloop.propose.apply import apply_rule
from perfloop.propose.rules import RULES, rule_by_id

RNG = random.Random(1)
WORDS = [
    RNG.choice(["kit", "lamp", "the", "a", "battery", "mug", "and", "box"]) for _ in range(1000)
]
STOPWORDS = [f"w{i}" for i in range(128)] + ["the", "a"]


def _floor(width: int, height: int) -> dict[str, list[str]]:
    adjacency: dict[str, list[str]] = {}
    for x in range(width):
        for y in range(height):
            here = f"{x}:{y}"
            adjacency[here] = [
                f"{x + dx}:{y + dy}"
                for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1))
                if 0 <= x + dx < width and 0 <= y + dy < height
            ]
    return adjacency


class Vector:
    def __init__(self, x: float, y: float, z: float) -> None:
        self.x, self.y, self.z = x, y, z


@dataclass(frozen=True)
class Case:
    rule: str
    source: str
    function: str
    args: Callable[[], tuple[Any, ...]]
    what: str
    driver: str | None = None
    """A function of the source that calls `function` and is timed instead (a rule whose
    gain shows only over many calls); with `state`, the module-level dict of that name
    in the rewritten source is emptied before every timed call, so each call starts cold."""
    state: str | None = None


CASES = [
    Case(
        "numpy-convolve",
        """
        import numpy as np

        def multiply(p, q):
            product = [0] * (len(p) + len(q) - 1)
            for i in range(len(p)):
                for j in range(len(q)):
                    product[i + j] += p[i] * q[j]
            return product
        """,
        "multiply",
        lambda: ([RNG.randint(-9, 9) for _ in range(200)], [RNG.randint(-9, 9) for _ in range(50)]),
        "200 × 50 int coefficients",
    ),
    Case(
        "linear-search-index",
        """
        def attach_customers(orders, customers):
            pairs = []
            for order in orders:
                pairs.append((order, find_customer(customers, order["customer_id"])))
            return pairs

        def find_customer(customers, customer_id):
            for customer in customers:
                if customer.customer_id == customer_id:
                    return customer
            return None
        """,
        "attach_customers",
        lambda: (
            [{"customer_id": RNG.randrange(600)} for _ in range(200)],
            [SimpleNamespace(customer_id=i) for i in RNG.sample(range(600), 500)],
        ),
        "200 orders, 500 customers",
    ),
    Case(
        "set-membership",
        """
        def content_words(tokens, stopwords):
            words = []
            for token in tokens:
                if token not in stopwords:
                    words.append(token)
            return words
        """,
        "content_words",
        lambda: (WORDS, STOPWORDS),
        "1,000 tokens, 130 stopwords",
    ),
    Case(
        "membership-list-to-set",
        """
        def reachable(adjacency, start):
            seen = [start]
            todo = [start]
            while todo:
                here = todo.pop()
                for n in adjacency[here]:
                    if n not in seen:
                        seen.append(n)
                        todo.append(n)
            return len(todo)
        """,
        "reachable",
        lambda: (_floor(20, 12), "0:0"),
        "240-bin warehouse floor",
    ),
    Case(
        "deque-queue",
        """
        def order(adjacency, start):
            seen = {start}
            queue = [start]
            out = []
            while queue:
                here = queue.pop(0)
                out.append(here)
                for n in adjacency[here]:
                    if n not in seen:
                        seen.add(n)
                        queue.append(n)
            return out
        """,
        "order",
        lambda: (_floor(60, 50), "0:0"),
        "3,000-node grid, BFS order",
    ),
    Case(
        "bisect-sorted-search",
        """
        def hits(values, allowed):
            table = sorted(allowed)
            count = 0
            for v in values:
                if v in table:
                    count += 1
            return count
        """,
        "hits",
        lambda: (
            [(RNG.randrange(900), "x") for _ in range(300)],
            [(RNG.randrange(900), "x") for _ in range(400)],
        ),
        "300 (int, str) pairs in 400",
    ),
    Case(
        "len-hoist",
        """
        def index_of(items, target):
            i = 0
            while i < len(items):
                if items[i] == target:
                    return i
                i += 1
            return -1
        """,
        "index_of",
        lambda: (list(range(1000)), -1),
        "1,000 items, not found",
    ),
    Case(
        "hoist-invariant",
        """
        def normalised(values, low, high):
            out = []
            for v in values:
                out.append((v - low) * (high - low) + low * high)
            return out
        """,
        "normalised",
        lambda: ([RNG.random() for _ in range(1000)], 0.25, 4.0),
        "1,000 floats",
    ),
    Case(
        "regex-literal-str",
        """
        import re

        def fields(row):
            return re.split(";", row)
        """,
        "fields",
        lambda: (";".join(str(RNG.random()) for _ in range(50)),),
        "50-field row",
    ),
    Case(
        "re-compile-hoist",
        """
        import re

        def normalize_phone(raw):
            return re.sub(r"[^0-9+]", "", raw)
        """,
        "normalize_phone",
        lambda: ("+49 (30) 1234567",),
        "one phone number",
    ),
    Case(
        "hoist-constant-container",
        """
        def more_generic(type1, type2):
            types = {type(None): 0, bool: 1, int: 2, float: 3, bytes: 4, str: 5}
            invtypes = {5: str, 4: bytes, 3: float, 2: int, 1: bool, 0: type(None)}
            moregeneric = max(types.get(type1, 5), types.get(type2, 5))
            return invtypes[moregeneric]
        """,
        "more_generic",
        lambda: (int, float),
        "two column types (tabulate 0.9.0 `_more_generic`)",
    ),
    Case(
        "any-generator-to-loop",
        """
        def imt(token, m=None, t=None):
            if token is None:
                return False
            if m:
                if isinstance(m, list):
                    if any(token.match(*pattern) for pattern in m):
                        return True
                elif token.match(*m):
                    return True
            if t:
                if isinstance(t, list):
                    if any(token.ttype in ttype for ttype in t):
                        return True
                elif token.ttype in t:
                    return True
            return False
        """,
        "imt",
        lambda: (
            SimpleNamespace(ttype=("Name",), match=lambda ttype, values: False),
            [(("Keyword",), ("AS",)), (("Keyword",), ("FROM",)), (("Punct",), (",",))],
            [("Keyword",), ("Comment",), ("Whitespace",)],
        ),
        "one token against 3 patterns and 3 types, no hit (sqlparse 0.5.1 `utils.imt`)",
    ),
    Case(
        "math-sqrt",
        """
        def nearest(px, py, points):
            best = None
            best_distance = 0.0
            for name, x, y in points:
                distance = ((x - px) * (x - px) + (y - py) * (y - py)) ** 0.5
                if best is None or distance < best_distance:
                    best, best_distance = name, distance
            return best
        """,
        "nearest",
        lambda: (3, 4, [(i, RNG.randrange(400), RNG.randrange(240)) for i in range(100)]),
        "100 candidate bins",
    ),
    Case(
        "square-multiply",
        """
        def norm(v):
            return (v.x ** 2 + v.y ** 2 + v.z ** 2) ** 0.5
        """,
        "norm",
        lambda: (Vector(1.5, -2.25, 3.0),),
        "one 3-vector (chaos)",
    ),
    Case(
        "or-chain-membership",
        """
        def sentence_count(review):
            count = 0
            for ch in review:
                if ch == "." or ch == "!" or ch == "?":
                    count += 1
            return count
        """,
        "sentence_count",
        lambda: ("".join(RNG.choice("abc de.f!g?hij klm") for _ in range(1000)),),
        "1,000-char review",
    ),
    Case(
        "set-display-to-tuple",
        """
        import enum

        class StringType(enum.Enum):
            SLB = '"'
            MLB = '\"\"\"'
            SLL = "'"
            MLL = "'''"

        def is_basic(kind):
            return kind in {StringType.SLB, StringType.MLB}

        KINDS = tuple(StringType) * 25

        def count_basic():
            return sum(map(is_basic, KINDS))
        """,
        "is_basic",
        lambda: (),
        "100 string kinds (tomlkit 0.13.2)",
        driver="count_basic",
    ),
    Case(
        "dispatch-dict",
        """
        def substitute(tokens):
            out = []
            for value in tokens:
                if value == "#":
                    value = "≠"
                elif value == "<=":
                    value = "≤"
                elif value == ">=":
                    value = "≥"
                elif value == "==":
                    value = "≡"
                elif value == "*.":
                    value = "•"
                out.append(value)
            return out
        """,
        "substitute",
        lambda: (
            [RNG.choice(["x", "#", "<=", ">=", "==", "*.", ":=", "y1"]) for _ in range(1000)],
        ),
        "1,000 Modula-2 tokens (pygments 2.17.2 shape)",
    ),
    Case(
        "precomputed-table",
        """
        def is_control(b):
            return b < 0x20 or b == 0x7F or 0x80 <= b <= 0x9F or b == 0xA0 or b == 0xAD
        """,
        "is_control",
        lambda: (0x41,),
        "one ASCII byte (every test runs)",
    ),
    Case(
        "counting-dict-get",
        """
        def tally(words, counts):
            for word in words:
                if word in counts:
                    counts[word] += 1
                else:
                    counts[word] = 1
            return counts
        """,
        "tally",
        lambda: (WORDS, {}),
        "1,000 words, 8 distinct",
    ),
    Case(
        "sorted-min-max",
        """
        def price_band(prices):
            return sorted(prices)[0], sorted(prices)[-1]
        """,
        "price_band",
        lambda: ([RNG.randrange(65536) for _ in range(600)],),
        "600 ints",
    ),
    Case(
        "sorted-slice-heapq",
        """
        def top_terms(counts, n):
            ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
            return ranked[:n]
        """,
        "top_terms",
        lambda: ({f"w{i}": RNG.randrange(50) for i in range(3000)}, 15),
        "top 15 of 3,000",
    ),
    Case(
        "sum-lists-flatten",
        """
        def all_order_lines(orders):
            return sum([order["lines"] for order in orders], [])
        """,
        "all_order_lines",
        lambda: ([{"lines": [i] * RNG.randint(1, 8)} for i in range(1400)],),
        "1,400 orders",
    ),
    Case(
        "inline-pure-function",
        """
        def part_a_times_u(i, u):
            partial_sum = 0
            for j, u_j in enumerate(u):
                partial_sum += eval_a(i, j) * u_j
            return partial_sum

        def eval_a(i, j):
            return 1.0 / ((i + j) * (i + j + 1) // 2 + i + 1)
        """,
        "part_a_times_u",
        lambda: (7, [RNG.random() for _ in range(130)]),
        "130 terms (spectral_norm)",
    ),
    Case(
        "memoize-repeated-calls",
        """
        def route_lengths(routes):
            lengths = []
            for route in routes:
                lengths.append(walking_distance(route))
            return lengths

        def walking_distance(route):
            return sum(abs(a - b) for a, b in zip(route, route[1:]))
        """,
        "route_lengths",
        lambda: ([tuple(range(k % 20, 60)) for k in range(200)],),
        "200 routes, 20 distinct",
    ),
    Case(
        "range-len-iteration",
        """
        def days_meeting_target(series, target):
            count = 0
            for i in range(len(series)):
                if series[i] >= target:
                    count += 1
            return count
        """,
        "days_meeting_target",
        lambda: ([RNG.randint(0, 60) for _ in range(365)], 30),
        "365 days",
    ),
    Case(
        "enumerate-index",
        """
        def above(xs, limit):
            out = []
            for i in range(len(xs)):
                if xs[i] > limit:
                    out.append(i)
            return out
        """,
        "above",
        lambda: ([RNG.random() for _ in range(1000)], 0.5),
        "1,000 floats",
    ),
    Case(
        "zip-parallel-index",
        """
        def dot(u, v):
            total = 0.0
            for i in range(len(u)):
                total += u[i] * v[i]
            return total
        """,
        "dot",
        lambda: ([RNG.random() for _ in range(1000)], [RNG.random() for _ in range(1000)]),
        "1,000-element vectors",
    ),
    Case(
        "counter-loop",
        """
        def word_frequencies(words):
            counts = {}
            for word in words:
                if word in counts:
                    counts[word] += 1
                else:
                    counts[word] = 1
            return counts
        """,
        "word_frequencies",
        lambda: (WORDS,),
        "1,000 words",
    ),
    Case(
        "list-comprehension",
        """
        def selling_days(series):
            days = []
            for units in series:
                if units:
                    days.append(units)
            return days
        """,
        "selling_days",
        lambda: ([0 if RNG.random() < 0.2 else RNG.randint(1, 60) for _ in range(365)],),
        "365 ints, 1 in 5 zero",
    ),
    Case(
        "preallocated-fill",
        """
        def squares(n):
            out = [None] * n
            for i in range(n):
                out[i] = i * i
            return out
        """,
        "squares",
        lambda: (1000,),
        "1,000 items",
    ),
    Case(
        "generator-to-comprehension",
        """
        def diagonals_free(vec, cols):
            rising = len(set(vec[i] + i for i in cols))
            return len(cols) == rising == len(set(vec[i] - i for i in cols))
        """,
        "diagonals_free",
        lambda: ((3, 0, 4, 7, 1, 6, 2, 5), range(8)),
        "one 8-queens board (nqueens)",
    ),
    Case(
        "str-join",
        """
        def strip_punctuation(review):
            cleaned = ""
            for ch in review:
                if ch not in ".,;:!?":
                    cleaned += ch
            return cleaned
        """,
        "strip_punctuation",
        lambda: ("".join(RNG.choice("abcde fgh.,!") for _ in range(2000)),),
        "2,000-char str",
    ),
    Case(
        "count-loop",
        """
        def sentence_count(review):
            count = 0
            for ch in review:
                if ch in ".!?":
                    count += 1
            return count
        """,
        "sentence_count",
        lambda: ("".join(RNG.choice("abc de.f!g?hij klm") for _ in range(1000)),),
        "1,000-char review",
    ),
    Case(
        "sum-loop",
        """
        def part_a_times_u(i, u):
            partial_sum = 0
            for j, u_j in enumerate(u):
                partial_sum += u_j / ((i + j) * (i + j + 1) // 2 + i + 1)
            return partial_sum
        """,
        "part_a_times_u",
        lambda: (7, [RNG.random() for _ in range(130)]),
        "130 terms (spectral_norm)",
    ),
    Case(
        "any-all-loop",
        """
        def any_discontinued(skus, is_discontinued):
            for sku in skus:
                if is_discontinued(sku):
                    return True
            return False
        """,
        "any_discontinued",
        lambda: ([f"K{i}" for i in range(1000)], frozenset({"K999"}).__contains__),
        "1,000 items, hit at the end",
    ),
    Case(
        "hoist-attribute-lookup",
        """
        import math

        def distances(points):
            out = []
            for x, y in points:
                out.append(math.sqrt(x * x + y * y))
            return out
        """,
        "distances",
        lambda: ([(RNG.random(), RNG.random()) for _ in range(1000)],),
        "1,000 points",
    ),
    Case(
        "scalar-replace-attributes",
        """
        class SingleByteCharSetProber:  # chardet 5.2.0 sbcharsetprober.py, abridged
            SAMPLE_SIZE = 64

            def __init__(self, char_to_order_map, language_model):
                self._char_to_order_map = char_to_order_map
                self._language_model = language_model
                self._state = "detecting"
                self._last_order = 255
                self._seq_counters = [0] * 4
                self._total_seqs = 0
                self._total_char = 0
                self._freq_char = 0

            def feed(self, byte_str):
                char_to_order_map = self._char_to_order_map
                language_model = self._language_model
                for char in byte_str:
                    order = char_to_order_map.get(char, 255)
                    if order < 251:
                        self._total_char += 1
                    if order < self.SAMPLE_SIZE:
                        self._freq_char += 1
                        if self._last_order < self.SAMPLE_SIZE:
                            self._total_seqs += 1
                            lm_cat = language_model[self._last_order][order]
                            self._seq_counters[lm_cat] += 1
                    self._last_order = order
                return self._state
        """,
        "SingleByteCharSetProber.feed",
        lambda: (
            SimpleNamespace(  # an instance as __init__ leaves it (feed takes any `self`)
                SAMPLE_SIZE=64,
                _char_to_order_map={i: (i * 7) % 256 for i in range(256)},
                _language_model=[[i % 4] * 64 for i in range(64)],
                _state="detecting",
                _last_order=255,
                _seq_counters=[0] * 4,
                _total_seqs=0,
                _total_char=0,
                _freq_char=0,
            ),
            bytes(RNG.randrange(256) for _ in range(1000)),
        ),
        "1,000 bytes",
    ),
    Case(
        "hoist-constant-attribute",
        """
        class MachineState:  # chardet 5.2.0 enums.py
            START = 0
            ERROR = 1
            ITS_ME = 2

        def count_chars(next_state, byte_str):  # the loop of chardet's UTF8Prober.feed
            chars = 0
            for c in byte_str:
                coding_state = next_state[c]
                if coding_state == MachineState.ERROR:
                    break
                if coding_state == MachineState.ITS_ME:
                    break
                if coding_state == MachineState.START:
                    chars += 1
            return chars
        """,
        "count_chars",
        lambda: (
            [0 if c < 0x80 else 3 for c in range(256)],
            bytes(RNG.randrange(256) for _ in range(1000)),
        ),
        "1,000 bytes",
    ),
    Case(
        "lambda-to-operator",
        """
        def lexer_order(lexers):  # pygments 2.17.2 sphinxext.py
            return [name for name, data in sorted(lexers.items(), key=lambda x: x[0])]
        """,
        "lexer_order",
        lambda: ({f"{RNG.choice(WORDS)}{i}Lexer": (i,) for i in range(1000)},),
        "1,000 lexers",
    ),
    Case(
        "translate-table",
        r"""
        _latex_special_chars = {  # PyLaTeX 1.4.2 pylatex/utils.py
            "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
            "}": r"\}", "~": r"\textasciitilde{}", "^": r"\^{}", "\\": r"\textbackslash{}",
            "\n": "\\newline%\n", "-": r"{-}", "\xA0": "~", "[": r"{[}", "]": r"{]}",
        }

        def escape_latex(s):
            return "".join(_latex_special_chars.get(c, c) for c in str(s))
        """,
        "escape_latex",
        lambda: ("net_income $30 R&D total Q1-Q2 5%",),
        "one 34-char table cell",
    ),
    Case(
        "char-scan-regex",
        """
        _TerminatorChars = {  # markdown-it-py 3.0.0 markdown_it/rules_inline/text.py
            "\\n", "!", "#", "$", "%", "&", "*", "+", "-", ":", "<", "=", ">", "@", "[",
            "\\\\", "]", "^", "_", "`", "{", "}", "~",
        }

        def text_end(src, pos, posMax):
            while (pos < posMax) and src[pos] not in _TerminatorChars:
                pos += 1
            return pos
        """,
        "text_end",
        lambda: ("the quick brown fox jumps over the lazy dog and keeps on going *", 0, 64),
        "one 63-char text run",
    ),
    Case(
        "int-from-bytes",
        """
        from functools import reduce

        def to_int_be(data):  # mutagen 1.47.0 flac.py
            return reduce(lambda a, b: (a << 8) + b, bytearray(data), 0)
        """,
        "to_int_be",
        lambda: (bytes(RNG.randrange(256) for _ in range(16)),),
        "16 bytes (a FLAC MD5 field)",
    ),
    Case(
        "drop-typing-cast",
        """
        from typing import Tuple, cast

        class Result:
            def __init__(self, items):
                self.items = items

            def copy(self):
                return Result(list(self.items))

        def cached(cache, key):  # pyparsing 3.1.4 ParserElement._parseCache, a cache hit
            value = cache.get(key)
            value = cast(Tuple[int, Result, int], value)
            loc, result, end = value[0], value[1].copy(), value[2]
            return loc, len(result.items), end
        """,
        "cached",
        lambda: (
            {
                ("expr", i): (i + 3, SimpleNamespace(copy=lambda: SimpleNamespace(items=[1, 2])), i)
                for i in range(50)
            },
            ("expr", 7),
        ),
        "a packrat cache hit",
    ),
    Case(
        "isinstance-abc-fast-path",
        """
        from numbers import Number

        def is_actual_number(x):  # jmespath 1.0.1 visitor.py
            if isinstance(x, bool):
                return False
            return isinstance(x, Number)
        """,
        "is_actual_number",
        lambda: (RNG.randrange(20, 70),),
        "an int (a person's age)",
    ),
    Case(
        "match-group-subscript",
        """
        import re

        WORD = re.compile(r"[A-Za-z_]+")

        def words(text):  # pyparsing 3.1.1 Word.parseImpl_regex, in a scanning loop
            loc, out = 0, []
            while loc < len(text):
                result = WORD.match(text, loc)
                if not result:
                    loc += 1
                    continue
                loc = result.end()
                out.append(result.group())
            return out
        """,
        "words",
        lambda: (" ".join(WORDS),),
        "1,000 words",
    ),
    Case(
        "hoist-global-lookup",
        """
        def total_length(words):
            total = 0
            for word in words:
                total += len(word)
            return total
        """,
        "total_length",
        lambda: (WORDS,),
        "1,000 words",
    ),
    Case(
        "cache-pure-function",
        """
        def exp_fixed(x, prec):
            s0 = s1 = 1 << prec
            k = 2
            a = x2 = (x * x) >> prec
            while a:
                a //= k; s0 += a; k += 1
                a //= k; s1 += a; k += 1
                a = (a * x2) >> prec
            return s0 + ((s1 * x) >> prec)

        def quadrature(nodes, prec):
            return sum(exp_fixed(x, prec) for x in nodes)
        """,
        "exp_fixed",
        lambda: ([(k % 20) << 150 for k in range(100)], 200),
        "100 calls, 20 distinct (mpmath shape)",
        driver="quadrature",
        state="_EXP_FIXED_RESULTS",
    ),
    Case(
        "memoize-recursive",
        """
        def ways_to_pay(amount, coins, index):
            if amount == 0:
                return 1
            if amount < 0 or index == len(coins):
                return 0
            return ways_to_pay(amount - coins[index], coins, index) + ways_to_pay(
                amount, coins, index + 1)
        """,
        "ways_to_pay",
        lambda: (60, (200, 100, 50, 20, 10, 5, 2, 1), 0),
        "60 cents, 8 coins",
    ),
]


def per_call(function: Callable[..., Any], args: tuple[Any, ...]) -> float:
    timer = timeit.Timer(lambda: function(*args))
    number, _ = timer.autorange()
    return statistics.median(t / number for t in timer.repeat(repeat=7, number=number))


def load(module_source: str, name: str) -> Callable[..., Any]:
    """The function `name` of `module_source`; `Class.method` is the plain function."""
    namespace: dict[str, Any] = {}
    exec(compile(module_source, f"<{name}>", "exec"), namespace)
    head, *rest = name.split(".")
    found = namespace[head]
    for part in rest:
        found = getattr(found, part)
    return found


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return repr(a) == repr(b) and type(a) is type(b)


def run(case: Case) -> tuple[float, float]:
    source = textwrap.dedent(case.source).lstrip("\n")
    rewritten = apply_rule(cst.parse_module(source), case.function, rule_by_id(case.rule))
    if rewritten is None:
        raise SystemExit(f"{case.rule} does not fire on its benchmark case")
    timed = case.driver or case.function
    before, after = load(source, timed), load(rewritten.module_source, timed)
    args = case.args()
    fresh = lambda: tuple(dict(a) if isinstance(a, dict) else a for a in args)  # noqa: E731
    if not same(before(*fresh()), after(*fresh())):
        raise SystemExit(f"{case.rule}: the rewrite gives another result on its benchmark input")
    if case.state is not None:  # each timed call starts with no answers kept
        kept = after.__globals__[case.state]
        cold_after = after

        def after(*call_args: Any) -> Any:
            kept.clear()
            return cold_after(*call_args)

        warm_before = before
        unused: dict[str, Any] = {}

        def before(*call_args: Any) -> Any:
            unused.clear()  # the same extra call on both sides
            return warm_before(*call_args)

    return per_call(before, args), per_call(after, args)


def main() -> None:
    wanted = set(sys.argv[1:])
    cases = [c for c in CASES if not wanted or c.rule in wanted]
    missing = {r.id for r in RULES} - {c.rule for c in CASES}
    if missing and not wanted:
        raise SystemExit(f"no benchmark case for {', '.join(sorted(missing))}")
    print(
        f"CPython {platform.python_version()}, {platform.machine()}; timeit autorange, "
        "median of 7, per call"
    )
    print(f"{'rule':24} {'input':30} {'before':>10} {'after':>10} {'speedup':>8}")
    speedups = {}
    for case in cases:
        before, after = run(case)
        speedups[case.rule] = round(before / after, 2)
        print(
            f"{case.rule:24} {case.what:30} {before * 1e6:9.2f}µ {after * 1e6:9.2f}µ "
            f"{before / after:7.2f}×"
        )
    faster = sum(1 for s in speedups.values() if s > 1.0)
    print(json.dumps({"rules": len(speedups), "faster": faster, "speedups": speedups}))


if __name__ == "__main__":
    main()
