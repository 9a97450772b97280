"""Values from real libraries that the comparison must walk correctly."""

from __future__ import annotations

import pickle
from collections.abc import Mapping, MutableMapping, MutableSequence

from perfloop.verification.compare import DEFAULT_POLICY, compare_values


class Node:
    """Hashes by identity, like ElementTree elements (Markdown 3.5.2's parent_map keys)."""

    def __init__(self, tag: str) -> None:
        self.tag = tag


class Results:
    """Shaped like pyparsing 3.1.2's ParseResults: registered as a mapping and a sequence;
    iterating yields its tokens, keys() its names."""

    def __init__(self, tokens: list[str], names: dict[str, str]) -> None:
        self._tokens = tokens
        self._names = names

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._tokens)

    def __len__(self) -> int:
        return len(self._tokens)

    def __getitem__(self, key: str) -> str:
        return self._names[key]

    def keys(self):  # type: ignore[no-untyped-def]
        return self._names.keys()


MutableMapping.register(Results)
MutableSequence.register(Results)


def test_a_dict_with_many_identity_hashed_keys_equals_its_copy() -> None:
    parent = Node("div")
    parent_map = {Node("p" if i % 2 else "a"): parent for i in range(150)}
    data = pickle.dumps(parent_map)
    assert compare_values(pickle.loads(data), pickle.loads(data), "x", DEFAULT_POLICY) is None


def test_a_dict_with_many_identity_hashed_keys_differs_when_one_key_does() -> None:
    parent = Node("div")
    data = pickle.dumps({Node("p"): parent for _ in range(150)})
    changed = pickle.loads(data)
    next(iter(changed)).tag = "q"
    assert compare_values(pickle.loads(data), changed, "x", DEFAULT_POLICY) is not None


def test_a_mapping_that_iterates_its_tokens_is_compared_by_its_keys() -> None:
    same = compare_values(
        Results(["a", "1"], {"w": "a"}), Results(["a", "1"], {"w": "a"}), "r", DEFAULT_POLICY
    )
    assert same is None
    different = compare_values(
        Results(["a", "1"], {"w": "a"}), Results(["a", "2"], {"w": "a"}), "r", DEFAULT_POLICY
    )
    assert different is not None and "_tokens" in different.path


def test_elementtree_elements_are_compared_by_their_content() -> None:
    """C elements have no __dict__ and a repr with an address: Markdown 3.5.2's output
    trees were equal whatever their tags and text until their pickled state was compared."""
    import xml.etree.ElementTree as ET

    tree = ET.Element("div")
    ET.SubElement(tree, "p").text = "hi"
    copy = pickle.loads(pickle.dumps(tree))
    assert compare_values(tree, copy, "tree", DEFAULT_POLICY) is None
    copy[0].text = "ho"
    different = compare_values(tree, copy, "tree", DEFAULT_POLICY)
    assert different is not None and "['text']" in different.path
    renamed = pickle.loads(pickle.dumps(tree))
    renamed.tag = "span"
    assert compare_values(tree, renamed, "tree", DEFAULT_POLICY) is not None


class Element:
    """Shaped like pyparsing 3.1.4's ParserElement: `==` compares vars(), so around a
    Forward's cycle it recurses until RecursionError whenever the two sides are not the
    same object (a recorded grammar and its replayed copy never are)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.exprs: list[Element] = []

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        return isinstance(other, Element) and vars(self) == vars(other)

    __hash__ = object.__hash__


def _grammar(last: str) -> Element:
    term, expression = Element("term"), Element("expression")
    term.exprs = [Element("number"), expression]  # the cycle a Forward makes
    expression.exprs = [term, Element(last)]
    return expression


def test_a_cyclic_grammar_whose_eq_recurses_forever_equals_its_copy() -> None:
    grammar = _grammar("+ | -")
    assert compare_values(grammar, pickle.loads(pickle.dumps(grammar))) is None


def test_a_cyclic_grammar_whose_eq_recurses_forever_still_shows_a_difference() -> None:
    mismatch = compare_values(_grammar("+ | -"), _grammar("* | /"))
    assert mismatch is not None
    expected = "result.exprs[1].name: expected '+ | -', got '* | /' (values differ)"
    assert mismatch.describe() == expected


_HIDDEN: dict[int, tuple[dict[str, object], list[str]]] = {}


class HiddenMap(Mapping):  # type: ignore[type-arg]
    """Shaped like rpds's HashTrieMap (jsonschema 4.21 keeps one in every validator's
    registry): a mapping whose state is in neither `__dict__` nor slots, whose `==`
    compares items with `==`, and whose repr lists them in hash order, which for str
    keys differs from one process to the next."""

    __slots__ = ()

    def __init__(self, items: dict[str, object], order: list[str]) -> None:
        _HIDDEN[id(self)] = (dict(items), order)

    def __getitem__(self, key: str) -> object:
        return _HIDDEN[id(self)][0][key]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(_HIDDEN[id(self)][1])

    def __len__(self) -> int:
        return len(_HIDDEN[id(self)][1])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HiddenMap) and dict(self.items()) == dict(other.items())

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "HiddenMap({" + ", ".join(f"{k!r}: {self[k]!r}" for k in self) + "})"


class Resource:
    """referencing's Resource after a round trip: equal only to itself under `==` (its
    specification holds functions), the same state."""

    def __init__(self, contents: dict[str, str]) -> None:
        self.contents = contents

    def __repr__(self) -> str:
        return f"Resource(contents={self.contents!r})"


def test_a_mapping_with_hidden_state_is_compared_item_by_item() -> None:
    """jsonschema 4.21's `contains` keyword: 'replaying the original does not reproduce its
    recorded calls (... args[0]._registry._resources: expected HashTrieMap({...draft-06...
    got HashTrieMap({...2019-09... (values differ (their reprs differ)))'."""
    recorded = HiddenMap({"a": Resource({"$id": "a"}), "b": Resource({"$id": "b"})}, ["a", "b"])
    replayed = HiddenMap({"a": Resource({"$id": "a"}), "b": Resource({"$id": "b"})}, ["b", "a"])
    assert recorded != replayed and repr(recorded) != repr(replayed)
    assert compare_values(recorded, replayed, "registry", DEFAULT_POLICY) is None
    changed = HiddenMap({"a": Resource({"$id": "a"}), "b": Resource({"$id": "c"})}, ["b", "a"])
    found = compare_values(recorded, changed, "registry", DEFAULT_POLICY)
    assert found is not None and "registry['b'].contents['$id']" in found.describe()
    fewer = HiddenMap({"a": Resource({"$id": "a"})}, ["a"])
    assert (
        "missing key 'b'" in compare_values(recorded, fewer, "registry", DEFAULT_POLICY).describe()
    )
