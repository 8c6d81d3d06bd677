"""The checks' graph answers as networkx, which it replaced on the validate path, answers for the same graph."""

import networkx as nx
from hypothesis import given
from hypothesis import strategies as st

from engine.digraph import Digraph

NODES = [f"s{i}" for i in range(8)]
graphs = st.lists(st.tuples(st.sampled_from(NODES), st.sampled_from(NODES)), max_size=20)


def both(edges: list[tuple[str, str]]) -> tuple[Digraph, "nx.DiGraph[str]"]:
    ours, theirs = Digraph(NODES), nx.DiGraph()
    theirs.add_nodes_from(NODES)
    for source, dest in edges:
        ours.add_edge(source, dest)
        theirs.add_edge(source, dest)
    return ours, theirs


@given(graphs, st.sampled_from(NODES))
def test_reach_from_and_to_a_node_as_networkx(edges, node):
    ours, theirs = both(edges)
    assert ours.descendants(node) == nx.descendants(theirs, node)
    assert ours.ancestors(node) == nx.ancestors(theirs, node)
    assert ours.reach([node]) == nx.descendants(theirs, node) | {node}
    assert ours.successors(node) == list(theirs.successors(node))
    assert ours.predecessors(node) == list(theirs.predecessors(node))


@given(graphs, st.sampled_from(NODES), st.sampled_from(NODES))
def test_a_shortest_path_is_a_path_as_short_as_networkx_finds(edges, source, target):
    ours, theirs = both(edges)
    path = ours.shortest_path(source, target) or []
    shortest = nx.shortest_path_length(theirs, source, target) if nx.has_path(theirs, source, target) else None
    assert (len(path) - 1 if path else None) == shortest
    assert path[:1] + path[-1:] in ([], [source, target])
    assert all(theirs.has_edge(a, b) for a, b in zip(path, path[1:], strict=False))


@given(graphs, st.sets(st.sampled_from(NODES)))
def test_cycles_in_a_subgraph_as_networkx(edges, kept):
    ours, theirs = both(edges)
    sub = ours.subgraph(kept)
    assert sorted(sub.edges) == sorted(theirs.subgraph(kept).edges)
    assert sub.has_cycle() == (next(nx.simple_cycles(theirs.subgraph(kept)), None) is not None)
