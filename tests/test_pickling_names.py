"""Named values travel by name across many dumps, and never by a name they lost."""

from __future__ import annotations

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
