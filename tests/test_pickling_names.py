"""Named values travel by name across many dumps, and never by a name they lost."""

from __future__ import annotations

import importlib.util
import pickle
import sys
import types

import pytest

from perfloop.runtime import pickling


@pytest.fixture
def colours() -> types.ModuleType:
    module = types.ModuleType("perfloop_test_colours")
    exec(  # a class of values compared with `is`, like sqlparse's token types
        "class Kind(tuple):\n    pass\n\nRED = Kind(('red',))\nPALETTE = (RED, Kind(('grey',)))\n",
        module.__dict__,
    )
    sys.modules[module.__name__] = module
    yield module
    del sys.modules[module.__name__]


def test_a_named_value_loads_as_itself_in_every_dump(colours: types.ModuleType) -> None:
    for _ in range(3):
        palette = pickle.loads(pickling.dumps(colours.PALETTE))
        assert palette[0] is colours.RED  # by name
        assert palette[1] == ("grey",) and palette[1] is not colours.PALETTE[1]  # by value


def test_a_value_rebound_since_an_earlier_dump_travels_by_value(
    colours: types.ModuleType,
) -> None:
    old = colours.RED
    assert pickle.loads(pickling.dumps(old)) is old
    colours.RED = colours.Kind(("crimson",))
    loaded = pickle.loads(pickling.dumps(old))
    assert loaded == ("red",) and loaded is not colours.RED
    assert pickle.loads(pickling.dumps(colours.RED)) is colours.RED  # the new one by name


@pytest.fixture
def characters() -> types.ModuleType:
    """tomlkit 0.13.2's shape: `TOMLChar(str)`, and `Source.EOF = TOMLChar("\\0")` kept on a
    class; a source holds an iterator over thousands of characters, and the EOF itself."""
    module = types.ModuleType("perfloop_test_characters")
    module.__spec__ = importlib.util.spec_from_loader(module.__name__, loader=None)
    exec(
        "class Char(str):\n    pass\n\n"
        "class Source(str):\n    EOF = Char('\\0')\n\n"
        "    def __init__(self, text):\n"
        "        self.chars = [Char(c) for c in self]\n"
        "        self.current = self.EOF\n",
        module.__dict__,
    )
    sys.modules[module.__name__] = module
    yield module
    del sys.modules[module.__name__]


def test_a_named_instance_among_thousands_of_its_class_keeps_its_identity(
    characters: types.ModuleType,
) -> None:
    """Each character is asked whether it is the named one by a lookup of its identity, and
    the class is looked through once: the EOF loads as itself, the others by value, in
    every dump, including after the EOF is rebound."""
    source = characters.Source("key = 'value'\n" * 200)
    for faithful in (False, True, True):
        loaded = pickle.loads(pickling.dumps(source, faithful=faithful))
        assert loaded.current is characters.Source.EOF
        assert loaded.chars == source.chars and type(loaded.chars[0]) is characters.Char
        assert loaded.chars[0] is not source.chars[0]
    characters.Source.EOF = characters.Char("\0")
    loaded = pickle.loads(pickling.dumps(source, faithful=True))
    assert loaded.current == "\0" and loaded.current is not characters.Source.EOF
