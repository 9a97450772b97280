"""int-from-bytes: big-endian numbers assembled byte by byte become int.from_bytes."""

from __future__ import annotations

import array

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rule_testing import load, outcome, rewrite, source

from perfloop.propose.rules.int_from_bytes import IntFromBytes

RULE = IntFromBytes()

# mutagen 1.47.0, mutagen/flac.py: to_int_be, called for every STREAMINFO field.
MUTAGEN_TO_INT_BE = '''
from functools import reduce


def to_int_be(data):
    """Convert an arbitrarily-long string to a long using big-endian
    byte order."""
    return reduce(lambda a, b: (a << 8) + b, bytearray(data), 0)
'''


def test_mutagen_to_int_be() -> None:
    rewritten = rewrite(RULE, MUTAGEN_TO_INT_BE)
    assert rewritten == source(MUTAGEN_TO_INT_BE).replace(
        "reduce(lambda a, b: (a << 8) + b, bytearray(data), 0)",
        'int.from_bytes(bytearray(data), "big")',
    )
    before, after = load(source(MUTAGEN_TO_INT_BE)), load(rewritten)
    for data in [b"", b"\x00", b"\x12\x34", b"\xff" * 20, bytearray(b"\x01\x00\x00"), [1, 2]]:
        assert after(data) == before(data)
    assert outcome(before, "ab") == outcome(after, "ab") == ("raise", TypeError)


def test_where_it_differs_buffers_of_wider_items() -> None:
    """from_bytes reads an array('H') as raw memory; the loop reads its items."""
    rewritten = rewrite(RULE, LOOP)
    assert rewritten is not None
    before, after = load(source(LOOP)), load(rewritten)
    words = array.array("H", [1, 2])
    assert before(words) == (1 << 8) | 2
    assert after(words) == int.from_bytes(words.tobytes(), "big") != before(words)


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        (
            """
            def read_uint(buf):
                n = 0
                for octet in buf:
                    n = n * 256 + octet
                return n
            """,
            """
            def read_uint(buf):
                n = int.from_bytes(buf, "big")
                return n
            """,
        ),
        (  # the byte on the left, xor, inside a branch; the comment of the loop stays
            """
            def key(header, body):
                if header:
                    acc = 0
                    # the length
                    for b in body[2:6]:
                        acc = b ^ (acc << 8)
                    return acc
                return None
            """,
            """
            def key(header, body):
                if header:
                    # the length
                    acc = int.from_bytes(body[2:6], "big")
                    return acc
                return None
            """,
        ),
        (
            """
            import functools


            def digest_value(digest):
                return functools.reduce(lambda x, y: 256 * x | y, digest, 0)
            """,
            """
            import functools


            def digest_value(digest):
                return int.from_bytes(digest, "big")
            """,
        ),
        (  # little-endian: a sum over enumerate
            """
            def mbf_word(bs):
                word = sum(b << (8 * i) for i, b in enumerate(bs))
                return word, sum([b * 256 ** i for i, b in enumerate(bs[::-1])])
            """,
            """
            def mbf_word(bs):
                word = int.from_bytes(bs, "little")
                return word, int.from_bytes(bs[::-1], "little")
            """,
        ),
    ],
)
def test_rewrites(module: str, expected: str) -> None:
    assert rewrite(RULE, module) == source(expected)


@pytest.mark.parametrize(
    "module",
    [
        # not a whole byte: pypng 0.20220715.0 png.py pack_rows.make_byte packs samples of
        # `bitdepth` bits (a variable shift); networkx 3.2.1 graph6.data_to_n 6-bit units
        "def make_byte(block, bitdepth):\n    res = 0\n    for v in block:\n"
        "        res = (res << bitdepth) + v\n    return res\n",
        "def f(data):\n    n = 0\n    for u in data:\n        n = (n << 6) | u\n    return n\n",
        "def f(data):\n    n = 0\n    for u in data:\n        n = n * 255 + u\n    return n\n",
        # little-endian, or another start value
        "def f(data):\n    n = 0\n    for b in data:\n        n = n | (b << 8)\n    return n\n",
        "def f(data):\n    n = 1\n    for b in data:\n        n = (n << 8) | b\n    return n\n",
        # the loop variable is read after the loop; the accumulator is read by the iterable
        "def f(data):\n    n = 0\n    for b in data:\n        n = (n << 8) | b\n    return n, b\n",
        "def f(data):\n    n = 0\n    for b in data[n:]:\n        n = (n << 8) | b\n    return n\n",
        # more work in the loop, an else, a try around it, a global accumulator
        "def f(data):\n    n = 0\n    for b in data:\n        n = (n << 8) | b\n"
        "        print(n)\n    return n\n",
        "def f(data):\n    n = 0\n    for b in data:\n        n = (n << 8) | b\n"
        "    else:\n        n = -1\n    return n\n",
        "def f(data):\n    try:\n        n = 0\n        for b in data:\n"
        "            n = (n << 8) | b\n"
        "    except TypeError:\n        pass\n    return n\n",
        "def f(data):\n    global n\n    n = 0\n    for b in data:\n        n = (n << 8) | b\n",
        # the initialisation is not directly before the loop
        "def f(data):\n    n = 0\n    k = 1\n    for b in data:\n        n = (n << 8) | b\n"
        "    return n, k\n",
        # reduce that is not functools.reduce, or without a start of 0
        "def f(data):\n    return reduce(lambda a, b: (a << 8) + b, data, 0)\n",
        "from functools import reduce\ndef f(data):\n"
        "    return reduce(lambda a, b: (a << 8) + b, data)\n",
        "from functools import reduce\ndef f(data):\n"
        "    return reduce(lambda a, b: (a << 8) + b, data, 1)\n",
        # `int` rebound
        "int = float\ndef f(data):\n    n = 0\n    for b in data:\n        n = (n << 8) | b\n"
        "    return n\n",
        # little-endian sums over characters, from 1, or with another weight
        "def f(s):\n    return sum(ord(c) << (8 * i) for i, c in enumerate(s))\n",
        "def f(bs):\n    return sum(b << (8 * i) for i, b in enumerate(bs, 1))\n",
        "def f(bs):\n    return sum(b << (7 * i) for i, b in enumerate(bs))\n",
        "def f(bs):\n    return sum(i << (8 * b) for i, b in enumerate(bs))\n",
        "sum = max\ndef f(bs):\n    return sum(b << (8 * i) for i, b in enumerate(bs))\n",
        # fixed-width expressions: a short buffer raises IndexError, a slice would not
        "def f(b):\n    return (b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]\n",
    ],
)
def test_silent(module: str) -> None:
    assert rewrite(RULE, module) is None


LOOP = """
def f(data):
    n = 0
    for b in data:
        n = (n << 8) | b
    return n
"""


@given(st.binary(max_size=40) | st.lists(st.integers(0, 255), max_size=12))
def test_same_results_for_bytes_and_byte_values(data: bytes | list[int]) -> None:
    rewritten = rewrite(RULE, LOOP)
    assert rewritten is not None
    assert load(rewritten)(data) == load(source(LOOP))(data)


def test_where_it_differs_values_outside_a_byte() -> None:
    """256 or -1 is a number to the loop, a ValueError to int.from_bytes."""
    rewritten = rewrite(RULE, LOOP)
    assert rewritten is not None
    before, after = load(source(LOOP)), load(rewritten)
    assert outcome(before, [1, 256]) == ("return", 256)  # 256 | 256
    assert outcome(after, [1, 256]) == ("raise", ValueError)
    assert outcome(before, "ab") == outcome(after, "ab") == ("raise", TypeError)


LITTLE = """
def f(data):
    return sum(b << (8 * i) for i, b in enumerate(data))
"""


@given(st.binary(max_size=40) | st.lists(st.integers(0, 255), max_size=12))
def test_same_results_little_endian(data: bytes | list[int]) -> None:
    rewritten = rewrite(RULE, LITTLE)
    assert rewritten is not None
    assert load(rewritten)(data) == load(source(LITTLE))(data)
