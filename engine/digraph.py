"""A directed graph of named nodes, and what the definition checks ask of it: what a node reaches,
what reaches it, a shortest route between two, and whether it has a cycle.

Breadth- and depth-first searches over two dicts. The checks once used networkx for this, and
importing it cost `procflow validate` a third of its start-up; it is still what lists the cycles,
imported only when there is one to list (``engine.checks``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable


class Digraph:
    """Nodes in the order they were added; each node's successors and predecessors in that order too."""

    def __init__(self, nodes: Iterable[str] = ()) -> None:
        self._out: dict[str, dict[str, None]] = {node: {} for node in nodes}
        self._in: dict[str, dict[str, None]] = {node: {} for node in self._out}

    def add_node(self, node: str) -> None:
        self._out.setdefault(node, {})
        self._in.setdefault(node, {})

    def add_edge(self, source: str, dest: str) -> None:
        # The checks add every edge of the graph, several graphs a definition: no call per end.
        self._out.setdefault(source, {})[dest] = None
        self._in.setdefault(source, {})
        self._in.setdefault(dest, {})[source] = None
        self._out.setdefault(dest, {})

    def __contains__(self, node: object) -> bool:
        return node in self._out

    @property
    def nodes(self) -> list[str]:
        return list(self._out)

    @property
    def edges(self) -> list[tuple[str, str]]:
        return [(source, dest) for source, dests in self._out.items() for dest in dests]

    def successors(self, node: str) -> list[str]:
        return list(self._out[node])

    def predecessors(self, node: str) -> list[str]:
        return list(self._in[node])

    def subgraph(self, nodes: Iterable[str]) -> Digraph:
        """The graph of ``nodes`` (those of this graph) and the edges between them."""
        kept = [node for node in nodes if node in self._out]
        inside = set(kept)
        sub = Digraph(kept)
        for source in kept:
            for dest in self._out[source]:
                if dest in inside:
                    sub.add_edge(source, dest)
        return sub

    def reach(self, sources: Iterable[str], *, backwards: bool = False) -> set[str]:
        """``sources`` and every node a path leads to from one of them (with ``backwards``, from)."""
        links = self._in if backwards else self._out
        reached = {node for node in sources if node in links}
        queue = deque(reached)
        while queue:
            for other in links[queue.popleft()]:
                if other not in reached:
                    reached.add(other)
                    queue.append(other)
        return reached

    def descendants(self, node: str) -> set[str]:
        """Every node a path of one edge or more leads to from ``node``, ``node`` itself left out."""
        return self.reach(self._out[node]) - {node}

    def ancestors(self, node: str) -> set[str]:
        """Every node from which a path of one edge or more leads to ``node``, ``node`` itself left out."""
        return self.reach(self._in[node], backwards=True) - {node}

    def shortest_path(self, source: str, target: str) -> list[str] | None:
        """A path with the fewest edges from ``source`` to ``target`` (the first found breadth-first), or
        ``None`` when there is none."""
        came_from: dict[str, str | None] = {source: None}
        queue = deque([source])
        while queue:
            node = queue.popleft()
            if node == target:
                path = [node]
                while (previous := came_from[path[-1]]) is not None:
                    path.append(previous)
                return path[::-1]
            for dest in self._out[node]:
                if dest not in came_from:
                    came_from[dest] = node
                    queue.append(dest)
        return None

    def has_cycle(self) -> bool:
        """Whether some path leads from a node back to itself (an edge to itself counts)."""
        finished: set[str] = set()
        for root in self._out:
            if root in finished:
                continue
            on_path = {root}
            stack = [(root, iter(self._out[root]))]
            while stack:
                node, dests = stack[-1]
                dest = next(dests, None)
                if dest is None:
                    stack.pop()
                    on_path.discard(node)
                    finished.add(node)
                elif dest in on_path:
                    return True
                elif dest not in finished:
                    on_path.add(dest)
                    stack.append((dest, iter(self._out[dest])))
        return False
