"""JSON pointers and local ``$ref``s (``engine.pointers``): what they name, and the errors in words."""

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import PointerToNowhere, ReferenceCycle, UnresolvableReference
from engine.pointers import escape, follow, holds, locate, pointer, reference, resolve, tokens, unescape

# Keys made of the characters pointers and URIs treat specially, mixed with plain and non-ASCII ones.
KEYS = st.text(st.sampled_from("~/%01 #aé?"), max_size=6) | st.text(max_size=6)
SCALARS = st.none() | st.booleans() | st.integers() | st.text(max_size=4)
DOCUMENTS = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=4).map(tuple)  # a definition's frozen lists are tuples
        | st.dictionaries(KEYS, inner, max_size=4)
    ),
    max_leaves=24,
)


@st.composite
def documents_and_paths(draw: st.DrawFn) -> tuple[Any, tuple[str | int, ...], Any]:
    """A document, the path of one of its nodes (the root included) and that node."""
    document = draw(DOCUMENTS)
    path: list[str | int] = []
    node = document
    while draw(st.booleans()):
        if isinstance(node, dict) and node:
            key = draw(st.sampled_from(sorted(node)))
        elif isinstance(node, (list, tuple)) and node:
            key = draw(st.integers(0, len(node) - 1))
        else:
            break
        path.append(key)
        node = node[key]
    return document, tuple(path), node


@settings(max_examples=300, deadline=None)
@given(key=KEYS)
def test_a_key_escaped_reads_back_as_itself(key: str) -> None:
    assert unescape(escape(key)) == key
    assert "/" not in escape(key)
    assert tokens(reference([key])) == (key,)


@settings(max_examples=300, deadline=None)
@given(found=documents_and_paths())
def test_a_reference_to_a_node_resolves_to_that_node(found: tuple[Any, tuple[str | int, ...], Any]) -> None:
    document, path, node = found
    assert locate(document, reference(path)) == path
    assert resolve(document, reference(path)) is node
    assert resolve(document, "#" + pointer(path).replace("%", "%25")) is node


def test_pointers_follow_rfc_6901() -> None:
    document = {"a/b": 1, "m~n": 2, "": 3, "~1": 4, "list": [10, 20], "é x": 5}
    assert pointer(["a/b", "m~n", 0]) == "/a~1b/m~0n/0"
    assert resolve(document, "#") is document
    assert resolve(document, "#/") == 3  # the key "", not the root
    assert resolve(document, "#/a~1b") == 1
    assert resolve(document, "#/m~0n") == 2
    assert resolve(document, "#/~01") == 4  # `~01` is `~1`, never `/`
    assert resolve(document, "#/list/1") == 20
    assert resolve(document, "#/%C3%A9%20x") == 5  # the fragment is decoded first
    assert reference(["é x", "a/b"]) == "#/%C3%A9%20x/a~1b"


@pytest.mark.parametrize(
    ("ref", "found", "message"),
    [
        ("#/records/repair_ordr/fields", ("records",), "there is no `repair_ordr` under `/records`"),
        ("#/nothing", (), "there is no `nothing` at the top level"),
        ("#/records/repair/tags/2", ("records", "repair", "tags"), "there is no `2` under `/records/repair/tags`"),
        ("#/records/repair/tags/01", ("records", "repair", "tags"), "there is no `01`"),
        ("#/records/repair/tags/-", ("records", "repair", "tags"), "there is no `-`"),
        (
            "#/records/repair/tags/0/x",
            ("records", "repair", "tags", 0),
            "there is no `x` under `/records/repair/tags/0`",
        ),
    ],
    ids=["missing-key", "missing-at-top", "past-the-end", "leading-zero", "dash", "into-a-scalar"],
)
def test_a_pointer_to_nothing_says_where_it_stops(ref: str, found: tuple[str | int, ...], message: str) -> None:
    document = {"records": {"repair": {"tags": ["a", "b"]}}}
    with pytest.raises(PointerToNowhere) as raised:
        resolve(document, ref)
    assert raised.value.ref == ref
    assert raised.value.found == found
    assert f"`$ref` `{ref}` points to nothing in this file: {message}" in str(raised.value)


@pytest.mark.parametrize("ref", ["https://example.com/s.json", "other.json#/a", "#anchor", "", "a/b"])
def test_only_references_inside_the_document_are_followed(ref: str) -> None:
    with pytest.raises(UnresolvableReference) as raised:
        resolve({"a": 1, "anchor": 2}, ref)
    assert not isinstance(raised.value, PointerToNowhere)
    assert "may point only inside this file" in str(raised.value) and "`#/records/<record>/fields`" in str(raised.value)


def test_references_that_come_back_before_a_schema_are_a_cycle() -> None:
    document = {"a": {"$ref": "#/b"}, "b": {"$ref": "#/a"}}
    with pytest.raises(ReferenceCycle) as raised:
        follow(document, {"$ref": "#/a"})
    assert raised.value.chain == ("#/a", "#/b", "#/a")
    assert str(raised.value) == "`$ref` `#/a` leads back to itself (`#/a` → `#/b` → `#/a`) without reaching a schema"


def test_following_stops_at_a_schema_even_one_that_refers_to_itself_inside() -> None:
    tree = {"type": "object", "properties": {"children": {"type": "array", "items": {"$ref": "#/tree"}}}}
    document = {"tree": tree, "alias": {"$ref": "#/tree"}}
    assert follow(document, {"$ref": "#/alias"}) == ({"$ref": "#/alias"}, {"$ref": "#/tree"}, tree)
    assert follow(document, tree) == (tree,)
    assert follow(document, {"$ref": "https://json-schema.org/draft/2020-12/schema"})[-1] == {
        "$ref": "https://json-schema.org/draft/2020-12/schema"
    }


def test_holds_says_whether_a_node_is_there() -> None:
    document = {"states": {"a": {"roles": ["clerk"]}}, "list": [0, {"x": None}]}
    assert holds(document, ("states", "a", "roles", 0))
    assert holds(document, ("list", 1, "x"))
    assert holds(document, ())
    assert not holds(document, ("states", "b"))
    assert not holds(document, ("list", 2))
    assert not holds(document, ("list", -1))
    assert not holds(document, ("states", "a", "roles", "0"))
    assert not holds(document, ("list", 1, "x", "y"))
