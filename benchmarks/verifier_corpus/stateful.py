# ruff: noqa: E501  (the corpus is source code in strings; its lines are kept whole)
"""The stateful part of the verifier-strength corpus: methods of classes that keep state.

Every case is one small module `target` with one class, and the target is one of its
methods. The workload drives a few dozen instances the way real code does (a prober fed
chunk after chunk and reset between files, a lexer advancing its position, a resolver with
a cache, running statistics, a tokenizer with a pushback buffer, ...) and prints what
it computed, as a real workload does. A candidate is a whole module source: it may change
the target and anything else of its class (its constructor, the attributes it keeps).

The non-equivalent candidates get state wrong in the ways real rewrites do: kept across
calls wrong (from the second chunk on), kept outside the instance (a module dict keyed by
the instance, a shared default), a cache never invalidated, a counter off at a boundary,
or an edge case the workload never makes. Per-call replay starts every call from the
instance as the workload had it (a fresh copy of it), so it cannot see several of them.
The equivalent candidates change how the state is kept (counters in locals, a cache
inside the instance, another container) and behave the same for every caller: the same
results, exceptions and public attributes after any sequence of calls, for arguments of
the types the workload passes (counters kept in locals and written back once leave other
partial state than the original when an element of a chunk raises halfway).
"""

from __future__ import annotations

import textwrap

from verifier_corpus.cases import Case, Pair, eq, ne


def edit(source: str, *changes: tuple[str, str]) -> str:
    """`source` with each (old, new) replaced; each old text must occur exactly once."""
    for old, new in changes:
        assert source.count(old) == 1, f"not exactly once in the original: {old!r}"
        source = source.replace(old, new)
    return source


def indented(text: str, spaces: int) -> str:
    return textwrap.indent(textwrap.dedent(text), " " * spaces)


def case(
    name: str, function: str, original: str, workload: str, tests: str, pairs: tuple[Pair, ...]
) -> Case:
    return Case(
        name,
        function,
        textwrap.dedent(original).lstrip(),
        textwrap.dedent(workload).lstrip(),
        textwrap.dedent(tests).lstrip(),
        pairs,
    )


# --- a prober fed chunk after chunk ------------------------------------------------------

PROBER = """
    class HighByteProber:
        \"\"\"How likely a byte stream is Latin-1 text: fed in chunks, reset between files.\"\"\"

        def __init__(self, threshold=0.3):
            self.threshold = threshold
            self.reset()

        def reset(self):
            self._total = 0
            self._high = 0
            self._pairs = 0
            self._last_high = False
            self.state = "detecting"

        def feed(self, chunk):
            for byte in chunk:
                self._total += 1
                high = byte >= 0x80
                if high:
                    self._high += 1
                    if self._last_high:
                        self._pairs += 1
                self._last_high = high
            if self.state == "detecting" and self._total >= 64:
                if self.confidence() > self.threshold:
                    self.state = "found"
            return self.state

        def confidence(self):
            if not self._high:
                return 0.01
            return min(0.99, (self._high + 2 * self._pairs) / self._total)
"""

PROBER_WORKLOAD = """
    texts = [
        "caf\\u00e9 cr\\u00e8me br\\u00fbl\\u00e9e " * 6,
        "plain ascii words only, nothing else here " * 4,
        "na\\u00efve r\\u00e9sum\\u00e9 \\u00e0 la fa\\u00e7on " * 5,
        "\\u00e9\\u00e8\\u00ea\\u00eb\\u00e0\\u00e2 d\\u00e9j\\u00e0 vu " * 8,
    ]
    prober = HighByteProber()
    for round_ in range(6):
        for number, text in enumerate(texts):
            data = text.encode("latin-1")
            prober.reset()
            size = 16 + 8 * ((number + round_) % 4)
            for start in range(0, len(data), size):
                prober.feed(data[start : start + size])
            print(number, size, prober.state, round(prober.confidence(), 6))
"""

PROBER_TESTS = """
    def test_latin1_found():
        p = HighByteProber()
        p.feed("d\\u00e9j\\u00e0 \\u00e9t\\u00e9 ".encode("latin-1") * 10)
        assert p.state == "found"


    def test_ascii_not_found():
        p = HighByteProber()
        p.feed(b"hello world " * 10)
        assert p.state == "detecting"
"""

PROBER_LOCALS = edit(
    textwrap.dedent(PROBER),
    (
        """\
        for byte in chunk:
            self._total += 1
            high = byte >= 0x80
            if high:
                self._high += 1
                if self._last_high:
                    self._pairs += 1
            self._last_high = high
""",
        """\
        high_count, pairs, last_high = self._high, self._pairs, self._last_high
        for byte in chunk:
            high = byte >= 0x80
            if high:
                high_count += 1
                if last_high:
                    pairs += 1
            last_high = high
        self._total += len(chunk)
        self._high, self._pairs, self._last_high = high_count, pairs, last_high
""",
    ),
)

PROBER_CASE = case(
    "prober",
    "HighByteProber.feed",
    PROBER,
    PROBER_WORKLOAD,
    PROBER_TESTS,
    (
        ne(
            "state outside the instance: a count kept beside it survives reset()",
            edit(
                PROBER_LOCALS,
                (
                    "class HighByteProber:",
                    "import weakref\n\n_HIGH = weakref.WeakKeyDictionary()\n\n\nclass HighByteProber:",
                ),
                (
                    "        high_count, pairs, last_high = self._high, self._pairs, self._last_high\n",
                    "        high_count = _HIGH.get(self, self._high)\n"
                    "        pairs, last_high = self._pairs, self._last_high\n",
                ),
                (
                    "        self._high, self._pairs, self._last_high = high_count, pairs, last_high\n",
                    "        _HIGH[self] = self._high = high_count\n"
                    "        self._pairs, self._last_high = pairs, last_high\n",
                ),
            ),
        ),
        ne(
            "a pair across a chunk boundary is not counted",
            edit(
                PROBER_LOCALS,
                (
                    "high_count, pairs, last_high = self._high, self._pairs, self._last_high",
                    "high_count, pairs, last_high = self._high, self._pairs, False",
                ),
            ),
        ),
        eq("counters in locals, written back once", PROBER_LOCALS),
        eq(
            "high bytes flagged by translate, pairs by zip",
            edit(
                textwrap.dedent(PROBER),
                (
                    """\
        for byte in chunk:
            self._total += 1
            high = byte >= 0x80
            if high:
                self._high += 1
                if self._last_high:
                    self._pairs += 1
            self._last_high = high
""",
                    """\
        if chunk:
            flags = bytes(chunk).translate(_HIGH_FLAGS)
            self._total += len(flags)
            self._high += flags.count(1)
            self._pairs += sum(1 for a, b in zip(flags, flags[1:]) if a and b)
            self._pairs += self._last_high and flags[0] == 1
            self._last_high = flags[-1] == 1
""",
                ),
                (
                    "class HighByteProber:",
                    "_HIGH_FLAGS = bytes(1 if b >= 0x80 else 0 for b in range(256))\n\n\n"
                    "class HighByteProber:",
                ),
            ),
        ),
    ),
)


# --- a lexer advancing a position --------------------------------------------------------

LEXER = """
    class Lexer:
        \"\"\"Numbers, names and symbols of a small language, one token per call.\"\"\"

        def __init__(self, text=""):
            self.reset(text)

        def reset(self, text):
            self.text = text
            self.pos = 0
            self.line = 1

        def next_token(self):
            text, pos = self.text, self.pos
            while pos < len(text) and text[pos] in " \\t\\n":
                if text[pos] == "\\n":
                    self.line += 1
                pos += 1
            if pos >= len(text):
                self.pos = pos
                return None
            start = pos
            if text[pos].isdigit():
                while pos < len(text) and text[pos].isdigit():
                    pos += 1
                kind = "number"
            elif text[pos].isalpha() or text[pos] == "_":
                while pos < len(text) and (text[pos].isalnum() or text[pos] == "_"):
                    pos += 1
                kind = "name"
            else:
                pos += 1
                kind = "symbol"
            self.pos = pos
            return (kind, text[start:pos], self.line)
"""

LEXER_WORKLOAD = """
    programs = [
        "let x = 42\\nlet y = x * 7\\nprint(x + y)\\n",
        "for i in range(10):\\n    total = total + i\\n",
        "if a1 > b2:\\n\\tswap(a1, b2)\\nelse:\\n\\tpass\\n",
    ]
    for round_ in range(8):
        lexer = Lexer()
        for source in programs:
            lexer.reset(source * (1 + round_ % 3))
            kinds = {}
            while True:
                token = lexer.next_token()
                if token is None:
                    break
                kinds[token[0]] = kinds.get(token[0], 0) + 1
            print(sorted(kinds.items()), lexer.line, lexer.pos)
"""

LEXER_TESTS = """
    def test_tokens():
        lexer = Lexer("x = 12\\ny")
        assert lexer.next_token() == ("name", "x", 1)
        assert lexer.next_token() == ("symbol", "=", 1)
        assert lexer.next_token() == ("number", "12", 1)
        assert lexer.next_token() == ("name", "y", 2)
        assert lexer.next_token() is None
"""

LEXER_LOCALS = edit(
    textwrap.dedent(LEXER),
    (
        """\
        text, pos = self.text, self.pos
        while pos < len(text) and text[pos] in " \\t\\n":
            if text[pos] == "\\n":
                self.line += 1
            pos += 1
""",
        """\
        text, pos = self.text, self.pos
        size = len(text)
        skipped = pos
        while pos < size and text[pos] in " \\t\\n":
            pos += 1
        if pos > skipped:
            self.line += text[skipped:pos].count("\\n")
""",
    ),
)

LEXER_CASE = case(
    "lexer",
    "Lexer.next_token",
    LEXER,
    LEXER_WORKLOAD,
    LEXER_TESTS,
    (
        ne(
            "state outside the instance: the text's length cached beside it, not renewed by reset()",
            edit(
                LEXER_LOCALS,
                (
                    "class Lexer:",
                    "import weakref\n\n_SIZES = weakref.WeakKeyDictionary()\n\n\nclass Lexer:",
                ),
                (
                    "        size = len(text)\n",
                    "        size = _SIZES.setdefault(self, len(text))\n",
                ),
            ),
        ),
        ne(
            "digits: only ASCII ones start a number ('\\u00b2' is a digit to isdigit)",
            edit(
                textwrap.dedent(LEXER),
                ("        if text[pos].isdigit():\n", "        if '0' <= text[pos] <= '9':\n"),
            ),
        ),
        eq("newlines counted with str.count once whitespace is skipped", LEXER_LOCALS),
        eq(
            "the line kept in a local, written back",
            edit(
                textwrap.dedent(LEXER),
                (
                    """\
        text, pos = self.text, self.pos
        while pos < len(text) and text[pos] in " \\t\\n":
            if text[pos] == "\\n":
                self.line += 1
            pos += 1
""",
                    """\
        text, pos, line = self.text, self.pos, self.line
        end = len(text)
        while pos < end and text[pos] in " \\t\\n":
            if text[pos] == "\\n":
                line += 1
            pos += 1
        self.line = line
""",
                ),
            ),
        ),
    ),
)


# --- a cache inside an instance ----------------------------------------------------------

RESOLVER = """
    class Resolver:
        \"\"\"Longest-prefix routing: which handler serves a path.\"\"\"

        def __init__(self):
            self._routes = []

        def add(self, prefix, handler):
            self._routes.append((prefix, handler))

        def resolve(self, path):
            best, best_len = None, -1
            for prefix, handler in self._routes:
                if path.startswith(prefix) and len(prefix) > best_len:
                    best, best_len = handler, len(prefix)
            return best
"""

RESOLVER_WORKLOAD = """
    paths = ["/api/users/7", "/api/items", "/static/app.js", "/", "/api/users", "/docs/intro"]
    for site in range(12):
        resolver = Resolver()
        resolver.add("/", "index")
        resolver.add("/api", "api")
        for path in paths * 3:
            resolver.resolve(path)
        resolver.add("/api/users", f"users{site}")
        resolver.add("/static", "files")
        print(site, [resolver.resolve(path) for path in paths])
"""

RESOLVER_TESTS = """
    def test_longest_prefix():
        r = Resolver()
        r.add("/", "index")
        r.add("/api", "api")
        assert r.resolve("/api/x") == "api"
        assert r.resolve("/x") == "index"
"""

CACHED = edit(
    textwrap.dedent(RESOLVER),
    ("        self._routes = []\n", "        self._routes = []\n        self._cache = {}\n"),
    (
        "        self._routes.append((prefix, handler))\n",
        "        self._routes.append((prefix, handler))\n        self._cache.clear()\n",
    ),
    (
        "        best, best_len = None, -1\n",
        "        if type(path) is str and path in self._cache:\n"
        "            return self._cache[path]\n        best, best_len = None, -1\n",
    ),
    (
        "                best, best_len = handler, len(prefix)\n        return best\n",
        "                best, best_len = handler, len(prefix)\n"
        "        if type(path) is str:\n            self._cache[path] = best\n        return best\n",
    ),
)

RESOLVER_CASE = case(
    "resolver",
    "Resolver.resolve",
    RESOLVER,
    RESOLVER_WORKLOAD,
    RESOLVER_TESTS,
    (
        ne(
            "a cache beside the instance, never invalidated by add()",
            edit(
                CACHED,
                ("        self._cache = {}\n", ""),
                ("        self._cache.clear()\n", ""),
                (
                    "class Resolver:",
                    "import weakref\n\n_CACHES = weakref.WeakKeyDictionary()\n\n\nclass Resolver:",
                ),
                (
                    "        if type(path) is str and path in self._cache:\n            return self._cache[path]\n",
                    "        cache = _CACHES.setdefault(self, {})\n"
                    "        if type(path) is str and path in cache:\n            return cache[path]\n",
                ),
                ("            self._cache[path] = best\n", "            cache[path] = best\n"),
            ),
        ),
        ne(
            "a cache inside the instance, never invalidated by add()",
            edit(CACHED, ("        self._cache.clear()\n", "")),
        ),
        eq("a cache inside the instance, cleared by add()", CACHED),
        eq(
            "routes also kept longest first; the first match wins",
            edit(
                textwrap.dedent(RESOLVER),
                (
                    "        self._routes = []\n",
                    "        self._routes = []\n        self._longest_first = []\n",
                ),
                (
                    "        self._routes.append((prefix, handler))\n",
                    "        self._routes.append((prefix, handler))\n"
                    "        self._longest_first = sorted(self._routes, key=lambda r: -len(r[0]))\n",
                ),
                (
                    """\
        best, best_len = None, -1
        for prefix, handler in self._routes:
            if path.startswith(prefix) and len(prefix) > best_len:
                best, best_len = handler, len(prefix)
        return best
""",
                    """\
        for prefix, handler in self._longest_first:
            if path.startswith(prefix):
                return handler
        return None
""",
                ),
            ),
        ),
    ),
)


# --- an accumulator with running statistics ----------------------------------------------

STATS = """
    import math


    class RunningStats:
        \"\"\"Count, mean, spread and range of a stream of readings (Welford).\"\"\"

        def __init__(self):
            self.n = 0
            self.mean = 0.0
            self._m2 = 0.0
            self.low = math.inf
            self.high = -math.inf

        def push(self, x):
            self.n += 1
            delta = x - self.mean
            self.mean += delta / self.n
            self._m2 += delta * (x - self.mean)
            if x < self.low:
                self.low = x
            if x > self.high:
                self.high = x

        def variance(self):
            return self._m2 / (self.n - 1) if self.n > 1 else 0.0
"""

STATS_WORKLOAD = """
    for sensor in range(15):
        stats = RunningStats()
        for i in range(4 + sensor % 5):
            stats.push(float((i * 13 + sensor * 7) % 17) + 0.5)
            if i % 2:
                stats.variance()
        print(sensor, stats.n, round(stats.mean, 9), round(stats.variance(), 9), stats.low, stats.high)
"""

STATS_TESTS = """
    def test_mean_and_range():
        s = RunningStats()
        for x in (1.0, 2.0, 3.0):
            s.push(x)
        assert s.mean == 2.0 and s.low == 1.0 and s.high == 3.0
        assert s.variance() == 1.0
"""

STATS_CACHED = edit(
    textwrap.dedent(STATS),
    (
        "        self.high = -math.inf\n",
        "        self.high = -math.inf\n        self._variance = None\n",
    ),
    ("        self.n += 1\n", "        self.n += 1\n        self._variance = None\n"),
    (
        "        return self._m2 / (self.n - 1) if self.n > 1 else 0.0\n",
        "        if self._variance is None:\n"
        "            self._variance = self._m2 / (self.n - 1) if self.n > 1 else 0.0\n"
        "        return self._variance\n",
    ),
)

STATS_CASE = case(
    "running_stats",
    "RunningStats.push",
    STATS,
    STATS_WORKLOAD,
    STATS_TESTS,
    (
        ne(
            "the maximum starts at 0.0: wrong for a stream of negative readings",
            edit(
                textwrap.dedent(STATS),
                ("        self.high = -math.inf\n", "        self.high = 0.0\n"),
            ),
        ),
        ne(
            "the cached variance is not invalidated by push()",
            edit(
                STATS_CACHED,
                ("        self.n += 1\n        self._variance = None\n", "        self.n += 1\n"),
            ),
        ),
        eq("the variance cached, invalidated by push()", STATS_CACHED),
        eq(
            "the range kept with min() and max()",
            edit(
                textwrap.dedent(STATS),
                (
                    """\
        if x < self.low:
            self.low = x
        if x > self.high:
            self.high = x
""",
                    """\
        self.low = min(self.low, x)
        self.high = max(self.high, x)
""",
                ),
            ),
        ),
    ),
)


# --- a tokenizer with a pushback buffer --------------------------------------------------

TOKENS = """
    class Tokens:
        \"\"\"The words of a text one at a time, with pushback for a parser's lookahead.\"\"\"

        def __init__(self, text):
            self._words = text.split()
            self._index = 0
            self._pushed = []
            self.consumed = 0

        def next(self):
            if self._pushed:
                word = self._pushed.pop()
            elif self._index < len(self._words):
                word = self._words[self._index]
                self._index += 1
            else:
                return None
            self.consumed += 1
            return word

        def push_back(self, word):
            self._pushed.append(word)
            self.consumed -= 1
"""

TOKENS_WORKLOAD = """
    sentences = [
        "set x to 4 then print x",
        "if y is big then set y to 0 else print y",
        "print the answer then stop",
    ]
    for round_ in range(10):
        for sentence in sentences:
            tokens = Tokens(sentence * (1 + round_ % 2))
            clauses = 0
            while True:
                word = tokens.next()
                if word is None:
                    break
                if word in ("then", "else"):
                    following = tokens.next()
                    if following is not None:
                        tokens.push_back(following)
                    clauses += 1
            print(clauses, tokens.consumed)
"""

TOKENS_TESTS = """
    def test_pushback():
        t = Tokens("a b c")
        assert t.next() == "a"
        t.push_back("a")
        assert t.next() == "a" and t.next() == "b"
        assert t.consumed == 2
"""

TOKENS_CASE = case(
    "tokens",
    "Tokens.next",
    TOKENS,
    TOKENS_WORKLOAD,
    TOKENS_TESTS,
    (
        ne(
            "pushed words read from the front: two pushed back come out in the wrong order",
            edit(
                textwrap.dedent(TOKENS),
                (
                    "            word = self._pushed.pop()\n",
                    "            word = self._pushed.pop(0)\n",
                ),
            ),
        ),
        ne(
            "pushed words read only after the remaining words",
            edit(
                textwrap.dedent(TOKENS),
                (
                    """\
        if self._pushed:
            word = self._pushed.pop()
        elif self._index < len(self._words):
            word = self._words[self._index]
            self._index += 1
""",
                    """\
        if self._index < len(self._words):
            word = self._words[self._index]
            self._index += 1
        elif self._pushed:
            word = self._pushed.pop()
""",
                ),
            ),
        ),
        eq(
            "pushback in a deque",
            edit(
                textwrap.dedent(TOKENS),
                ("class Tokens:", "from collections import deque\n\n\nclass Tokens:"),
                ("        self._pushed = []\n", "        self._pushed = deque()\n"),
            ),
        ),
        eq(
            "the words as an iterator, no index",
            edit(
                textwrap.dedent(TOKENS),
                (
                    "        self._words = text.split()\n        self._index = 0\n",
                    "        self._words = iter(text.split())\n",
                ),
                (
                    """\
        elif self._index < len(self._words):
            word = self._words[self._index]
            self._index += 1
        else:
            return None
""",
                    """\
        else:
            word = next(self._words, None)
            if word is None:
                return None
""",
                ),
            ),
        ),
    ),
)


# --- a line buffer fed chunks of a stream ------------------------------------------------

LINES = """
    class LineBuffer:
        \"\"\"Complete lines out of a stream of text chunks; the partial last line waits.\"\"\"

        def __init__(self):
            self._tail = ""
            self.lines_out = 0

        def feed(self, chunk):
            text = self._tail + chunk
            lines = text.split("\\n")
            self._tail = lines.pop()
            self.lines_out += len(lines)
            return lines

        def flush(self):
            tail, self._tail = self._tail, ""
            return [tail] if tail else []
"""

LINES_WORKLOAD = """
    log = "".join(f"GET /page/{i} 200 {i * 37 % 1000}ms\\n" for i in range(60))
    for size in (17, 23, 40, 64, 101):
        buffer = LineBuffer()
        slow = 0
        for start in range(0, len(log), size):
            for line in buffer.feed(log[start : start + size]):
                if int(line.rsplit(" ", 1)[1][:-2]) > 500:
                    slow += 1
        print(size, buffer.lines_out, slow, buffer.flush())
"""

LINES_TESTS = """
    def test_lines_across_chunks():
        b = LineBuffer()
        assert b.feed("ab\\ncd") == ["ab"]
        assert b.feed("e\\n") == ["cde"]
        assert b.flush() == []
"""

LINES_CASE = case(
    "line_buffer",
    "LineBuffer.feed",
    LINES,
    LINES_WORKLOAD,
    LINES_TESTS,
    (
        ne(
            "a chunk without a newline replaces the waiting line instead of extending it",
            edit(
                textwrap.dedent(LINES),
                (
                    "        text = self._tail + chunk\n",
                    '        if "\\n" not in chunk:\n            self._tail = chunk\n            return []\n'
                    "        text = self._tail + chunk\n",
                ),
            ),
        ),
        ne(
            "splitlines(): '\\r' and other line boundaries split too",
            edit(
                textwrap.dedent(LINES),
                (
                    '        lines = text.split("\\n")\n        self._tail = lines.pop()\n',
                    "        lines = text.splitlines()\n"
                    '        self._tail = lines.pop() if lines and not text.endswith("\\n") else ""\n',
                ),
            ),
        ),
        eq(
            "rpartition: only the complete part is split",
            edit(
                textwrap.dedent(LINES),
                (
                    '        lines = text.split("\\n")\n        self._tail = lines.pop()\n',
                    '        done, newline, self._tail = text.rpartition("\\n")\n'
                    '        lines = done.split("\\n") if newline else []\n',
                ),
            ),
        ),
        eq(
            "the waiting line kept as a list of pieces, joined when a newline comes",
            edit(
                textwrap.dedent(LINES),
                (
                    '        self._tail = ""\n        self.lines_out = 0\n',
                    "        self._pieces = []\n        self.lines_out = 0\n",
                ),
                (
                    "        text = self._tail + chunk\n",
                    '        if type(chunk) is str and "\\n" not in chunk:\n'
                    "            self._pieces.append(chunk)\n            return []\n"
                    '        text = "".join(self._pieces) + chunk\n',
                ),
                ("        self._tail = lines.pop()\n", "        self._pieces = [lines.pop()]\n"),
                (
                    '        tail, self._tail = self._tail, ""\n',
                    '        tail, self._pieces = "".join(self._pieces), []\n',
                ),
            ),
        ),
    ),
)


# --- a least-recently-used cache ---------------------------------------------------------

LRU = """
    from collections import OrderedDict


    def render(key):
        return f"<p>{key.upper()}:{sum(map(ord, key)) % 97}</p>"


    class LRU:
        \"\"\"Rendered fragments, the `capacity` most recently used kept.\"\"\"

        def __init__(self, capacity):
            self.capacity = capacity
            self._data = OrderedDict()
            self.hits = 0
            self.misses = 0

        def get(self, key):
            if key in self._data:
                self._data.move_to_end(key)
                self.hits += 1
                return self._data[key]
            self.misses += 1
            value = render(key)
            self._data[key] = value
            if len(self._data) > self.capacity:
                self._data.popitem(last=False)
            return value
"""

LRU_WORKLOAD = """
    keys = [f"item{i % 13}" for i in range(0, 200, 3)] + [f"item{i % 5}" for i in range(40)]
    for capacity in (2, 4, 8, 16):
        for run in range(2):
            cache = LRU(capacity)
            for key in keys[run:]:
                cache.get(key)
            print(capacity, run, cache.hits, cache.misses)
"""

LRU_TESTS = """
    def test_evicts_least_recent():
        c = LRU(2)
        c.get("a"); c.get("b"); c.get("a"); c.get("c")
        c.get("a")
        assert (c.hits, c.misses) == (2, 3)
"""

LRU_CASE = case(
    "lru",
    "LRU.get",
    LRU,
    LRU_WORKLOAD,
    LRU_TESTS,
    (
        ne(
            "a hit does not make the key most recent",
            edit(textwrap.dedent(LRU), ("            self._data.move_to_end(key)\n", "")),
        ),
        ne(
            "state outside the instance: one dict shared by every cache (a class attribute)",
            edit(
                textwrap.dedent(LRU),
                (
                    "    def __init__(self, capacity):\n        self.capacity = capacity\n        self._data = OrderedDict()\n",
                    "    _data = OrderedDict()\n\n    def __init__(self, capacity):\n        self.capacity = capacity\n",
                ),
            ),
        ),
        eq(
            "a plain dict, moved to the end by pop and reinsert",
            edit(
                textwrap.dedent(LRU),
                ("        self._data = OrderedDict()\n", "        self._data = {}\n"),
                (
                    "            self._data.move_to_end(key)\n            self.hits += 1\n            return self._data[key]\n",
                    "            value = self._data.pop(key)\n            self._data[key] = value\n"
                    "            self.hits += 1\n            return value\n",
                ),
                (
                    "            self._data.popitem(last=False)\n",
                    "            del self._data[next(iter(self._data))]\n",
                ),
            ),
        ),
        eq(
            "one lookup: try/except KeyError",
            edit(
                textwrap.dedent(LRU),
                (
                    """\
        if key in self._data:
            self._data.move_to_end(key)
            self.hits += 1
            return self._data[key]
""",
                    """\
        try:
            value = self._data[key]
        except KeyError:
            pass
        else:
            self._data.move_to_end(key)
            self.hits += 1
            return value
""",
                ),
            ),
        ),
    ),
)


# --- a sliding window of events ----------------------------------------------------------

WINDOW = """
    from collections import deque


    class Window:
        \"\"\"How many events happened in the last `span` seconds, as each one comes in.\"\"\"

        def __init__(self, span):
            self.span = span
            self._times = deque()

        def add(self, t):
            self._times.append(t)
            while self._times[0] <= t - self.span:
                self._times.popleft()
            return len(self._times)
"""

WINDOW_WORKLOAD = """
    for span in (1.5, 4.0, 10.0):
        window = Window(span)
        peak = 0
        t = 0.0
        for i in range(120):
            t += 0.1 + (i * 7 % 11) / 13
            peak = max(peak, window.add(round(t, 6)))
        print(span, peak)
"""

WINDOW_TESTS = """
    def test_window():
        w = Window(2.5)
        assert [w.add(t) for t in (0.0, 1.0, 2.0, 3.0, 3.25)] == [1, 2, 3, 3, 4]
"""

WINDOW_CASE = case(
    "window",
    "Window.add",
    WINDOW,
    WINDOW_WORKLOAD,
    WINDOW_TESTS,
    (
        ne(
            "boundary: an event exactly `span` old is kept",
            edit(
                textwrap.dedent(WINDOW),
                (
                    "        while self._times[0] <= t - self.span:\n",
                    "        while self._times[0] < t - self.span:\n",
                ),
            ),
        ),
        ne(
            "the count taken before old events are dropped",
            edit(
                textwrap.dedent(WINDOW),
                (
                    """\
        self._times.append(t)
        while self._times[0] <= t - self.span:
            self._times.popleft()
        return len(self._times)
""",
                    """\
        self._times.append(t)
        count = len(self._times)
        while self._times[0] <= t - self.span:
            self._times.popleft()
        return count
""",
                ),
            ),
        ),
        eq(
            "a list and a start index instead of a deque",
            edit(
                textwrap.dedent(WINDOW),
                (
                    "        self._times = deque()\n",
                    "        self._times = []\n        self._start = 0\n",
                ),
                (
                    """\
        self._times.append(t)
        while self._times[0] <= t - self.span:
            self._times.popleft()
        return len(self._times)
""",
                    """\
        times = self._times
        times.append(t)
        start, limit = self._start, t - self.span
        try:
            while times[start] <= limit:
                start += 1
        finally:  # an emptied window raises IndexError as the deque does, and stays empty
            self._start = start
        return len(times) - start
""",
                ),
            ),
        ),
        eq(
            "the limit computed once, the deque in a local",
            edit(
                textwrap.dedent(WINDOW),
                (
                    """\
        self._times.append(t)
        while self._times[0] <= t - self.span:
            self._times.popleft()
        return len(self._times)
""",
                    """\
        times = self._times
        times.append(t)
        limit = t - self.span
        popleft = times.popleft
        while times[0] <= limit:
            popleft()
        return len(times)
""",
                ),
            ),
        ),
    ),
)


# --- an interner handing out ids ---------------------------------------------------------

INTERNER = """
    class Interner:
        \"\"\"Small integer ids for names, in the order they were first seen.\"\"\"

        def __init__(self):
            self._ids = {}
            self.names = []

        def intern(self, name):
            found = self._ids.get(name)
            if found is None:
                found = len(self.names)
                self._ids[name] = found
                self.names.append(name)
            return found
"""

INTERNER_WORKLOAD = """
    words = "the cat sat on the mat and the dog sat on the log".split()
    for doc in range(10):
        interner = Interner()
        ids = [interner.intern(w) for w in words[doc % 4 :] + words[: doc % 4]]
        print(doc, ids, len(interner.names))
"""

INTERNER_TESTS = """
    def test_ids():
        i = Interner()
        assert [i.intern(w) for w in "a b a c".split()] == [0, 1, 0, 2]
"""

INTERNER_CASE = case(
    "interner",
    "Interner.intern",
    INTERNER,
    INTERNER_WORKLOAD,
    INTERNER_TESTS,
    (
        ne(
            "state outside the instance: the next id from a module-level counter",
            edit(
                textwrap.dedent(INTERNER),
                (
                    "class Interner:",
                    "import itertools\n\n_NEXT = itertools.count()\n\n\nclass Interner:",
                ),
                ("            found = len(self.names)\n", "            found = next(_NEXT)\n"),
            ),
        ),
        ne(
            "id 0 taken for missing: `if not found`",
            edit(
                textwrap.dedent(INTERNER),
                ("        if found is None:\n", "        if not found:\n"),
            ),
        ),
        eq(
            "setdefault",
            edit(
                textwrap.dedent(INTERNER),
                (
                    """\
        found = self._ids.get(name)
        if found is None:
            found = len(self.names)
            self._ids[name] = found
            self.names.append(name)
        return found
""",
                    """\
        count = len(self.names)
        found = self._ids.setdefault(name, count)
        if found == count:
            self.names.append(name)
        return found
""",
                ),
            ),
        ),
        eq(
            "one lookup: try/except KeyError",
            edit(
                textwrap.dedent(INTERNER),
                (
                    """\
        found = self._ids.get(name)
        if found is None:
            found = len(self.names)
            self._ids[name] = found
            self.names.append(name)
        return found
""",
                    """\
        try:
            return self._ids[name]
        except KeyError:
            found = self._ids[name] = len(self.names)
            self.names.append(name)
            return found
""",
                ),
            ),
        ),
    ),
)


# --- word pairs counted across chunks ----------------------------------------------------

BIGRAMS = """
    class Bigrams:
        \"\"\"Counts of adjacent word pairs in a text that arrives in pieces.\"\"\"

        def __init__(self):
            self.counts = {}
            self._last = None

        def feed(self, words):
            last = self._last
            for word in words:
                if last is not None:
                    pair = (last, word)
                    self.counts[pair] = self.counts.get(pair, 0) + 1
                last = word
            self._last = last
            return len(self.counts)
"""

BIGRAMS_WORKLOAD = """
    text = "to be or not to be that is the question to be sure".split()
    for piece in (2, 3, 5):
        bigrams = Bigrams()
        for start in range(0, len(text) * 3, piece):
            bigrams.feed((text * 3)[start : start + piece])
        top = sorted(bigrams.counts.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        print(piece, len(bigrams.counts), top)
"""

BIGRAMS_TESTS = """
    def test_pairs_across_pieces():
        b = Bigrams()
        b.feed(["a", "b"])
        b.feed(["a"])
        assert b.counts == {("a", "b"): 1, ("b", "a"): 1}
"""

BIGRAMS_CASE = case(
    "bigrams",
    "Bigrams.feed",
    BIGRAMS,
    BIGRAMS_WORKLOAD,
    BIGRAMS_TESTS,
    (
        ne(
            "no pair across pieces: the last word is written but never read",
            edit(
                textwrap.dedent(BIGRAMS), ("        last = self._last\n", "        last = None\n")
            ),
        ),
        ne(
            "state outside the instance: the last word in a module global",
            edit(
                textwrap.dedent(BIGRAMS),
                ("class Bigrams:", "_LAST = [None]\n\n\nclass Bigrams:"),
                (
                    "        last = self._last\n",
                    "        last = _LAST[0] if _LAST[0] is not None else self._last\n",
                ),
                ("        self._last = last\n", "        self._last = _LAST[0] = last\n"),
            ),
        ),
        eq(
            "pairs from zip, None words skipped as before",
            edit(
                textwrap.dedent(BIGRAMS),
                (
                    """\
        last = self._last
        for word in words:
            if last is not None:
                pair = (last, word)
                self.counts[pair] = self.counts.get(pair, 0) + 1
            last = word
        self._last = last
""",
                    """\
        words = list(words)
        sequence = [self._last, *words]
        counts = self.counts
        for pair in zip(sequence, words):
            if pair[0] is not None:
                counts[pair] = counts.get(pair, 0) + 1
        if words:
            self._last = words[-1]
""",
                ),
            ),
        ),
        eq(
            "the counts' get bound once",
            edit(
                textwrap.dedent(BIGRAMS),
                (
                    """\
        last = self._last
        for word in words:
            if last is not None:
                pair = (last, word)
                self.counts[pair] = self.counts.get(pair, 0) + 1
""",
                    """\
        last = self._last
        counts = self.counts
        get = counts.get
        for word in words:
            if last is not None:
                pair = (last, word)
                counts[pair] = get(pair, 0) + 1
""",
                ),
            ),
        ),
    ),
)


STATEFUL_CASES: tuple[Case, ...] = (
    PROBER_CASE,
    LEXER_CASE,
    RESOLVER_CASE,
    STATS_CASE,
    TOKENS_CASE,
    LINES_CASE,
    LRU_CASE,
    WINDOW_CASE,
    INTERNER_CASE,
    BIGRAMS_CASE,
)
