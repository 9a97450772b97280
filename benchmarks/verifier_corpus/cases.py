# ruff: noqa: E501  (the corpus is source code in strings; its lines are kept whole)
"""The verifier-strength corpus: originals, a typical workload, small tests, and candidates.

Every case is one small module `target` with one function. Its workload calls
the function with "typical" inputs only (no empty lists, no negatives, no
duplicates, no NaN...), so replaying the captured calls sees nothing wrong with
the non-equivalent candidates: each of them differs only on an edge case (empty
input, negative values, duplicates, float accumulation order, exception type,
in-place mutation, aliasing, stdout, unicode, a boundary). The equivalent
candidates are written differently but behave the same on every input, under
perfloop's equivalence relation (exception types, argument state, aliasing and
output included).

A candidate is a whole module source, like the ones perfloop's proposers make.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Pair:
    label: str
    source: str
    equivalent: bool
    category: str  # what the non-equivalent one gets wrong; "rewrite" for equivalent ones


@dataclass(frozen=True)
class Case:
    name: str
    function: str
    original: str
    workload: str  # statements, with `from target import *` before them
    tests: str  # pytest functions, with `from target import *` before them
    pairs: tuple[Pair, ...]


def ne(category: str, source: str) -> Pair:
    return Pair(category, source, False, category)


def eq(label: str, source: str) -> Pair:
    return Pair(label, source, True, "rewrite")


CASES: tuple[Case, ...] = (
    Case(
        "largest",
        "largest",
        "def largest(xs):\n    return max(xs)\n",
        "for n in range(2, 30):\n    largest([(i * 7) % 23 for i in range(n)])\n",
        "def test_largest():\n    assert largest([3, 9, 2]) == 9\n",
        (
            ne(
                "empty input: IndexError, not ValueError",
                "def largest(xs):\n    return sorted(xs)[-1]\n",
            ),
            eq(
                "explicit loop",
                "def largest(xs):\n    if not xs:\n        raise ValueError('max() arg is an empty sequence')\n"
                "    best = xs[0]\n    for x in xs[1:]:\n        if x > best:\n            best = x\n"
                "    return best\n",
            ),
        ),
    ),
    Case(
        "positive_total",
        "positive_total",
        "def positive_total(xs):\n    return sum(x for x in xs if x > 0)\n",
        "for n in range(1, 25):\n    positive_total([i * 3 + 1 for i in range(n)])\n",
        "def test_total():\n    assert positive_total([1, 2, 3]) == 6\n",
        (
            ne("negative values", "def positive_total(xs):\n    return sum(xs)\n"),
            eq(
                "loop",
                "def positive_total(xs):\n    total = 0\n    for x in xs:\n        if x > 0:\n"
                "            total += x\n    return total\n",
            ),
        ),
    ),
    Case(
        "count_unique",
        "count_unique",
        "def count_unique(xs):\n    return len(set(xs))\n",
        "for n in range(1, 25):\n    count_unique(list(range(n, 3 * n)))\n",
        "def test_unique():\n    assert count_unique([1, 2, 3]) == 3\n",
        (
            ne("duplicates", "def count_unique(xs):\n    return len(xs)\n"),
            eq(
                "set built in a loop",
                "def count_unique(xs):\n    seen = set()\n    for x in xs:\n        seen.add(x)\n"
                "    return len(seen)\n",
            ),
        ),
    ),
    Case(
        "mean",
        "mean",
        "def mean(xs):\n    return sum(xs) / len(xs)\n",
        "for n in range(1, 25):\n    mean([float(i % 7 + 1) for i in range(n)])\n",
        "def test_mean():\n    assert mean([1.0, 2.0, 3.0]) == 2.0\n",
        (
            ne(
                "float accumulation order",
                "def mean(xs):\n    return sum(sorted(xs, reverse=True)) / len(xs)\n",
            ),
            eq("named parts", "def mean(xs):\n    count = len(xs)\n    return sum(xs) / count\n"),
        ),
    ),
    Case(
        "normalize",
        "normalize",
        "def normalize(names):\n    return [n.strip().lower() for n in names]\n",
        "for n in range(1, 15):\n    normalize(['ann', 'bob', 'cy'][: n % 3 + 1] * n)\n",
        "def test_normalize():\n    assert normalize(['ann']) == ['ann']\n",
        (
            ne(
                "in-place mutation of the argument",
                "def normalize(names):\n    for i, n in enumerate(names):\n        cleaned = n.strip().lower()\n"
                "        if cleaned != n:\n            names[i] = cleaned\n    return list(names)\n",
            ),
            eq(
                "append loop",
                "def normalize(names):\n    out = []\n    for n in names:\n        out.append(n.strip().lower())\n"
                "    return out\n",
            ),
        ),
    ),
    Case(
        "sorted_copy",
        "sorted_copy",
        "def sorted_copy(xs):\n    return sorted(xs)\n",
        "for n in range(2, 25):\n    sorted_copy([(i * 5) % 11 for i in range(n)])\n",
        "def test_sorted():\n    assert sorted_copy([3, 1, 2]) == [1, 2, 3]\n",
        (
            ne(
                "aliasing: returns its argument for short lists",
                "def sorted_copy(xs):\n    if len(xs) <= 1:\n        return xs\n    return sorted(xs)\n",
            ),
            eq(
                "copy then sort",
                "def sorted_copy(xs):\n    ys = list(xs)\n    ys.sort()\n    return ys\n",
            ),
        ),
    ),
    Case(
        "ratio",
        "ratio",
        "def ratio(a, b):\n    return a / b if b else 0.0\n",
        "for a in range(1, 10):\n    for b in range(1, 6):\n        ratio(a, b)\n",
        "def test_ratio():\n    assert ratio(6, 3) == 2.0\n",
        (
            ne(
                "stdout: prints a warning on b == 0",
                "def ratio(a, b):\n    if b == 0:\n        print('warning: division by zero')\n"
                "        return 0.0\n    return a / b\n",
            ),
            eq(
                "early return",
                "def ratio(a, b):\n    if not b:\n        return 0.0\n    return a / b\n",
            ),
        ),
    ),
    Case(
        "first_word",
        "first_word",
        "def first_word(s):\n    parts = s.split()\n    return parts[0] if parts else ''\n",
        "for s in ['hello world', 'a b c', 'one', 'red green blue'] * 3:\n    first_word(s)\n",
        "def test_first_word():\n    assert first_word('hello world') == 'hello'\n",
        (
            ne("whitespace edge cases", "def first_word(s):\n    return s.split(' ')[0]\n"),
            eq(
                "loop over the split",
                "def first_word(s):\n    for part in s.split():\n        return part\n    return ''\n",
            ),
        ),
    ),
    Case(
        "fold_key",
        "fold_key",
        "def fold_key(s):\n    return s.lower()\n",
        "for s in ['Apple', 'BANANA', 'cherry', 'Date'] * 3:\n    fold_key(s)\n",
        "def test_fold():\n    assert fold_key('ABC') == 'abc'\n",
        (
            ne("unicode: casefold differs on 'ß'", "def fold_key(s):\n    return s.casefold()\n"),
            eq("str.lower through the type", "def fold_key(s):\n    return str.lower(s)\n"),
        ),
    ),
    Case(
        "count_vowels",
        "count_vowels",
        "def count_vowels(s):\n    n = 0\n    for ch in s:\n        if ch in 'aeiou':\n            n += 1\n"
        "    return n\n",
        "for s in ['hello', 'banana', 'sky', 'queue'] * 3:\n    count_vowels(s)\n",
        "def test_vowels():\n    assert count_vowels('banana') == 3\n",
        (
            ne(
                "upper-case vowels",
                "def count_vowels(s):\n    return sum(1 for ch in s.lower() if ch in 'aeiou')\n",
            ),
            eq(
                "str.count per vowel",
                "def count_vowels(s):\n    return sum(s.count(v) for v in 'aeiou')\n",
            ),
        ),
    ),
    Case(
        "is_sorted",
        "is_sorted",
        "def is_sorted(xs):\n    return all(xs[i] <= xs[i + 1] for i in range(len(xs) - 1))\n",
        "for n in range(2, 20):\n    is_sorted(list(range(n)))\n    is_sorted(list(range(n, 0, -1)))\n",
        "def test_sorted():\n    assert is_sorted([1, 2, 3])\n",
        (
            ne(
                "duplicates: strict comparison",
                "def is_sorted(xs):\n    return all(a < b for a, b in zip(xs, xs[1:]))\n",
            ),
            eq(
                "zip pairs",
                "def is_sorted(xs):\n    return all(a <= b for a, b in zip(xs, xs[1:]))\n",
            ),
        ),
    ),
    Case(
        "dedupe",
        "dedupe",
        "def dedupe(xs):\n    seen = set()\n    out = []\n    for x in xs:\n        if x not in seen:\n"
        "            seen.add(x)\n            out.append(x)\n    return out\n",
        "for n in range(1, 20):\n    dedupe(sorted([i // 2 for i in range(n)]))\n",
        "def test_dedupe():\n    assert dedupe([1, 1, 2]) == [1, 2]\n",
        (
            ne("order of unsorted input", "def dedupe(xs):\n    return sorted(set(xs))\n"),
            eq("dict.fromkeys", "def dedupe(xs):\n    return list(dict.fromkeys(xs))\n"),
        ),
    ),
    Case(
        "half",
        "half",
        "def half(n):\n    return n // 2\n",
        "for n in range(1, 40):\n    half(n)\n",
        "def test_half():\n    assert half(9) == 4\n",
        (
            ne("negative values and large ints", "def half(n):\n    return int(n / 2)\n"),
            eq("shift", "def half(n):\n    return n >> 1\n"),
        ),
    ),
    Case(
        "wrap",
        "wrap",
        "def wrap(i, n):\n    return i % n\n",
        "for i in range(0, 30):\n    wrap(i, 7)\n",
        "def test_wrap():\n    assert wrap(9, 7) == 2\n",
        (
            ne("negative values", "def wrap(i, n):\n    return i - n * int(i / n)\n"),
            eq("divmod", "def wrap(i, n):\n    return divmod(i, n)[1]\n"),
        ),
    ),
    Case(
        "to_cents",
        "to_cents",
        "def to_cents(x):\n    return round(x * 100)\n",
        "for x in [1.23, 4.56, 7.89, 10.01, 0.42, 3.33]:\n    to_cents(x)\n",
        "def test_cents():\n    assert to_cents(1.23) == 123\n",
        (
            ne("negative values and halves", "def to_cents(x):\n    return int(x * 100 + 0.5)\n"),
            eq("int of round", "def to_cents(x):\n    return int(round(x * 100))\n"),
        ),
    ),
    Case(
        "clamp",
        "clamp",
        "def clamp(x, lo, hi):\n    return max(lo, min(x, hi))\n",
        "for x in range(-5, 20):\n    clamp(x, 0, 10)\n",
        "def test_clamp():\n    assert clamp(15, 0, 10) == 10\n",
        (
            ne(
                "bounds given the wrong way round",
                "def clamp(x, lo, hi):\n    if x < lo:\n        return lo\n    if x > hi:\n        return hi\n"
                "    return x\n",
            ),
            eq(
                "min of max, guarded",
                "def clamp(x, lo, hi):\n    return min(max(x, lo), hi) if lo <= hi else lo\n",
            ),
        ),
    ),
    Case(
        "parse_qty",
        "parse_qty",
        "def parse_qty(s):\n    return int(s)\n",
        "for s in ['1', '12', '7', '300', '42'] * 2:\n    parse_qty(s)\n",
        "def test_qty():\n    assert parse_qty('12') == 12\n",
        (
            ne(
                "exception type on bad input",
                "def parse_qty(s):\n    if not s.strip().isdigit():\n        raise TypeError('bad quantity')\n"
                "    return int(s)\n",
            ),
            eq("strip first", "def parse_qty(s):\n    return int(s.strip())\n"),
        ),
    ),
    Case(
        "index_by_id",
        "index_by_id",
        "def index_by_id(rows):\n    return {key: value for key, value in rows}\n",
        "for n in range(1, 15):\n    index_by_id([(i, f'item{i}') for i in range(n)])\n",
        "def test_index():\n    assert index_by_id([(1, 'a')]) == {1: 'a'}\n",
        (
            ne(
                "duplicate keys: first wins",
                "def index_by_id(rows):\n    d = {}\n    for key, value in rows:\n        d.setdefault(key, value)\n"
                "    return d\n",
            ),
            eq("dict()", "def index_by_id(rows):\n    return dict(rows)\n"),
        ),
    ),
    Case(
        "by_score",
        "by_score",
        "def by_score(items):\n    return sorted(items, key=lambda t: t[1])\n",
        "for n in range(1, 15):\n    by_score([(f'n{i}', (i * 7) % 17) for i in range(n)])\n",
        "def test_by_score():\n    assert by_score([('a', 2), ('b', 1)]) == [('b', 1), ('a', 2)]\n",
        (
            ne(
                "ties: stability",
                "def by_score(items):\n    return sorted(items, key=lambda t: t[1], reverse=True)[::-1]\n",
            ),
            eq(
                "itemgetter",
                "import operator\n\n\ndef by_score(items):\n    return sorted(items, key=operator.itemgetter(1))\n",
            ),
        ),
    ),
    Case(
        "label",
        "label",
        "def label(x):\n    return 'none' if x is None else str(x)\n",
        "for x in [1, 5, None, 12, 99, None, 3]:\n    label(x)\n",
        "def test_label():\n    assert label(None) == 'none'\n",
        (
            ne("zero is falsy", "def label(x):\n    return str(x) if x else 'none'\n"),
            eq(
                "f-string",
                "def label(x):\n    if x is None:\n        return 'none'\n    return f'{x}'\n",
            ),
        ),
    ),
    Case(
        "pairs",
        "pairs",
        "def pairs(xs):\n    return list(zip(xs[::2], xs[1::2]))\n",
        "for n in range(2, 30, 2):\n    pairs(list(range(n)))\n",
        "def test_pairs():\n    assert pairs([1, 2, 3, 4]) == [(1, 2), (3, 4)]\n",
        (
            ne(
                "odd length",
                "def pairs(xs):\n    return [(xs[i], xs[i + 1]) for i in range(0, len(xs), 2)]\n",
            ),
            eq(
                "one iterator twice",
                "def pairs(xs):\n    it = iter(xs)\n    return list(zip(it, it))\n",
            ),
        ),
    ),
    Case(
        "title",
        "title",
        "def title(s):\n    return ' '.join(w.capitalize() for w in s.split(' '))\n",
        "for s in ['hello world', 'big red dog', 'one'] * 3:\n    title(s)\n",
        "def test_title():\n    assert title('big dog') == 'Big Dog'\n",
        (
            ne("apostrophes and hyphens", "def title(s):\n    return s.title()\n"),
            eq("map", "def title(s):\n    return ' '.join(map(str.capitalize, s.split(' ')))\n"),
        ),
    ),
    Case(
        "is_number",
        "is_number",
        "def is_number(s):\n    return s.isdigit()\n",
        "for s in ['12', '7', 'abc', '300', 'x1'] * 2:\n    is_number(s)\n",
        "def test_number():\n    assert is_number('12') and not is_number('a')\n",
        (
            ne("unicode digits like '²'", "def is_number(s):\n    return s.isdecimal()\n"),
            eq(
                "per character",
                "def is_number(s):\n    return bool(s) and all(ch.isdigit() for ch in s)\n",
            ),
        ),
    ),
    Case(
        "peak",
        "peak",
        "def peak(a, b):\n    return max(a, b)\n",
        "for a, b in [(1.5, 2.5), (3.25, 0.5), (7.0, 9.75), (2.0, 1.0)] * 3:\n    peak(a, b)\n",
        "def test_peak():\n    assert peak(1.0, 2.0) == 2.0\n",
        (
            ne("NaN and signed zeros", "def peak(a, b):\n    return a if a > b else b\n"),
            eq("max's own rule", "def peak(a, b):\n    return b if b > a else a\n"),
        ),
    ),
    Case(
        "magnitude",
        "magnitude",
        "def magnitude(x):\n    return abs(x)\n",
        "for x in [1.5, -2.25, 3.0, -0.5, 10.0]:\n    magnitude(x)\n",
        "def test_magnitude():\n    assert magnitude(-2.0) == 2.0\n",
        (
            ne("negative zero", "def magnitude(x):\n    return x if x >= 0 else -x\n"),
            eq("math.fabs", "import math\n\n\ndef magnitude(x):\n    return math.fabs(x)\n"),
        ),
    ),
    Case(
        "root",
        "root",
        "import math\n\n\ndef root(n):\n    return math.isqrt(n)\n",
        "for n in [1, 4, 9, 16, 25, 36, 49, 100, 144]:\n    root(n)\n",
        "def test_root():\n    assert root(49) == 7\n",
        (
            ne(
                "large ints and negatives",
                "import math\n\n\ndef root(n):\n    return int(n ** 0.5)\n",
            ),
            eq(
                "Newton's method",
                "import math\n\n\ndef root(n):\n    if n < 0:\n        raise ValueError('isqrt() argument must be nonnegative')\n"
                "    if n == 0:\n        return 0\n    x = 1 << ((n.bit_length() + 1) // 2)\n    while True:\n"
                "        y = (x + n // x) // 2\n        if y >= x:\n            return x\n        x = y\n",
            ),
        ),
    ),
    Case(
        "evens",
        "evens",
        "def evens(xs):\n    return [x for x in xs if x % 2 == 0]\n",
        "for n in range(1, 25):\n    evens(list(range(1, n + 1)))\n",
        "def test_evens():\n    assert evens([1, 2, 3, 4]) == [2, 4]\n",
        (
            ne(
                "zero and negatives",
                "def evens(xs):\n    return [x for x in xs if x % 2 == 0 and x > 0]\n",
            ),
            eq("filter", "def evens(xs):\n    return list(filter(lambda x: x % 2 == 0, xs))\n"),
        ),
    ),
    Case(
        "word_counts",
        "word_counts",
        "def word_counts(text):\n    counts = {}\n    for w in text.split():\n        counts[w] = counts.get(w, 0) + 1\n"
        "    return counts\n",
        "for t in ['apple banana cherry apple', 'red green blue', 'dog cat dog cat'] * 3:\n    word_counts(t)\n",
        "def test_counts():\n    assert word_counts('a b a') == {'a': 2, 'b': 1}\n",
        (
            ne(
                "substrings counted as words",
                "def word_counts(text):\n    return {w: text.count(w) for w in text.split()}\n",
            ),
            eq(
                "if/else increment",
                "def word_counts(text):\n    counts = {}\n    for w in text.split():\n        if w in counts:\n"
                "            counts[w] += 1\n        else:\n            counts[w] = 1\n    return counts\n",
            ),
        ),
    ),
    Case(
        "windows",
        "windows",
        "def windows(xs, k):\n    return [xs[i : i + k] for i in range(len(xs) - k + 1)]\n",
        "for n in range(3, 15):\n    windows(list(range(n)), 1 + n % 3)\n",
        "def test_windows():\n    assert windows([1, 2, 3], 2) == [[1, 2], [2, 3]]\n",
        (
            ne(
                "window size zero or negative",
                "def windows(xs, k):\n    if k <= 0:\n        return []\n"
                "    return [xs[i : i + k] for i in range(len(xs) - k + 1)]\n",
            ),
            eq(
                "while loop",
                "def windows(xs, k):\n    out = []\n    i = 0\n    while i + k <= len(xs):\n"
                "        out.append(xs[i : i + k])\n        i += 1\n    return out\n",
            ),
        ),
    ),
    Case(
        "first",
        "first",
        "def first(xs):\n    return xs[0]\n",
        "for n in range(1, 20):\n    first(list(range(n, 0, -1)))\n",
        "def test_first():\n    assert first([5, 6]) == 5\n",
        (
            ne(
                "empty input: StopIteration, not IndexError",
                "def first(xs):\n    return next(iter(xs))\n",
            ),
            eq(
                "explicit check",
                "def first(xs):\n    if not xs:\n        raise IndexError('list index out of range')\n    return xs[0]\n",
            ),
        ),
    ),
    Case(
        "shipping",
        "shipping",
        "def shipping(total):\n    return 0 if total >= 50 else 5\n",
        "for total in [10, 20, 35, 75, 120, 99, 12]:\n    shipping(total)\n",
        "def test_shipping():\n    assert shipping(50) == 0\n    assert shipping(49) == 5\n",
        (
            ne(
                "boundary: > instead of >=",
                "def shipping(total):\n    return 0 if total > 50 else 5\n",
            ),
            eq(
                "early return",
                "def shipping(total):\n    if total < 50:\n        return 5\n    return 0\n",
            ),
        ),
    ),
    Case(
        "dot",
        "dot",
        "def dot(a, b):\n    return sum(x * y for x, y in zip(a, b))\n",
        "for n in range(1, 15):\n    dot([float(i) for i in range(n)], [2.0] * n)\n",
        "def test_dot():\n    assert dot([1.0, 2.0], [3.0, 4.0]) == 11.0\n",
        (
            ne(
                "float accumulation order",
                "def dot(a, b):\n    return sum(x * y for x, y in zip(reversed(a), reversed(b)))\n",
            ),
            eq(
                "list comprehension",
                "def dot(a, b):\n    return sum([x * y for x, y in zip(a, b)])\n",
            ),
        ),
    ),
    Case(
        "show",
        "show",
        "def show(items):\n    for item in items:\n        print(item)\n",
        "for n in range(1, 8):\n    show([f'line {i}' for i in range(n)])\n",
        "def test_show(capsys):\n    show(['a'])\n    assert capsys.readouterr().out == 'a\\n'\n",
        (
            ne(
                "stdout on empty input",
                "def show(items):\n    if not items:\n        print('(none)')\n    for item in items:\n        print(item)\n",
            ),
            eq(
                "one write",
                "import sys\n\n\ndef show(items):\n    sys.stdout.write(''.join(f'{item}\\n' for item in items))\n",
            ),
        ),
    ),
    Case(
        "discount",
        "discount",
        "def discount(code, price):\n    if code == 'VIP2024':\n        return price * 8 // 10\n    return price\n",
        "for code in ['SAVE', 'HELLO', 'WELCOME']:\n    for price in [100, 250, 999]:\n        discount(code, price)\n",
        "def test_vip():\n    assert discount('VIP2024', 100) == 80\n",
        (
            ne(
                "a special case dropped",
                "def discount(code, price):\n    return price\n",
            ),
            eq(
                "conditional expression",
                "def discount(code, price):\n    return price * 8 // 10 if code == 'VIP2024' else price\n",
            ),
        ),
    ),
    Case(
        "bucket",
        "bucket",
        "def bucket(age):\n    if age < 13:\n        return 'child'\n    if age < 20:\n        return 'teen'\n"
        "    return 'adult'\n",
        "for age in [5, 8, 15, 17, 30, 45, 70]:\n    bucket(age)\n",
        "def test_bucket():\n    assert bucket(13) == 'teen'\n    assert bucket(20) == 'adult'\n",
        (
            ne(
                "boundary: <= instead of <",
                "def bucket(age):\n    if age <= 13:\n        return 'child'\n    if age < 20:\n        return 'teen'\n"
                "    return 'adult'\n",
            ),
            eq(
                "table lookup",
                "def bucket(age):\n    for limit, name in ((13, 'child'), (20, 'teen')):\n        if age < limit:\n"
                "            return name\n    return 'adult'\n",
            ),
        ),
    ),
    Case(
        "merge_counts",
        "merge_counts",
        "def merge_counts(a, b):\n    out = dict(a)\n    for k, v in b.items():\n        out[k] = out.get(k, 0) + v\n"
        "    return out\n",
        "for n in range(1, 10):\n    merge_counts({f'k{i}': i for i in range(n)}, {f'x{i}': 1 for i in range(n)})\n",
        "def test_merge():\n    assert merge_counts({'a': 1}, {'a': 2}) == {'a': 3}\n",
        (
            ne(
                "shared keys: replaced, not added",
                "def merge_counts(a, b):\n    return {**a, **b}\n",
            ),
            eq(
                "copy then update in a loop",
                "def merge_counts(a, b):\n    out = a.copy()\n    for k in b:\n        out[k] = out.get(k, 0) + b[k]\n"
                "    return out\n",
            ),
        ),
    ),
)
