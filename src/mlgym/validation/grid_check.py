"""Check grid points: a point's components parsed and checked, each distinct component config once per grid.

Whether a point is valid is decided by three things (`registry.graph.parse_nodes`): each node alone (its shape,
kind, variant, arguments), the wiring of the nodes (names, requirements, no cycle) and which kinds are there
(`REQUIRED_KINDS`). A node of a grid point is a function of the base config and the point's values on the axes
below that node (`Grid.axes_below`): points that differ only in the learning rate have the same model, loaders and
trainer. `GridCheck` therefore remembers each node it checked under (name, its axes' value indices) and each
combination of node shapes (kind and requirements) whose wiring and kinds it checked. A point whose nodes and
shape combination were all seen is valid without being made; any other point is made and checked in full by
`check_grid_point`, so a bad point raises exactly the error (file, line, key path) a full check gives, and the
points are checked in grid order, so the first bad point is the one reported.
"""
from __future__ import annotations

from typing import Any

from mlgym.config.grid import Grid
from mlgym.config.loader import SourceMap
from mlgym.config.sweep import GridPoint
from mlgym.errors import ConfigError
from mlgym.registry.graph import RESERVED_KEYS, Node, nodes_of_kind, parse_nodes
from mlgym.registry.registry import registry

REQUIRED_KINDS = ("model", "trainer", "evaluator")
MAX_REMEMBERED = 65_536  # nodes remembered; past that the memory starts again (a grid sweeping one node only)


def check_grid_point(point: GridPoint, source: SourceMap) -> dict[str, Node]:
    """Parse and check one grid point's components; the nodes, for reuse by the strategy and the plan."""
    nodes = parse_nodes(point.config, registry, source)
    for kind in REQUIRED_KINDS:
        found = nodes_of_kind(nodes, kind)
        if len(found) != 1:
            names = ", ".join(n.name for n in found) or "none"
            raise ConfigError(f"a gs_config needs exactly one component of kind '{kind}', found {names}",
                              location=source.find(""),
                              hint=f"variants of {kind}: {', '.join(registry.variants(kind))}")
    return nodes


def _shape(node: Node) -> tuple[Any, ...]:
    """What the wiring and kind checks read of a node."""
    try:
        hash(node.requirements)
        return node.kind, node.requirements
    except TypeError:  # a list as subscription
        return node.kind, repr(node.requirements)


class GridCheck:
    """Checks the points of one `Grid`, in grid order, remembering what a point's check depends on."""

    def __init__(self, grid: Grid, source: SourceMap) -> None:
        self.grid = grid
        self.source = source
        names = [name for name in grid.config if name not in RESERVED_KEYS]
        below = [grid.axes_below(name) for name in names]
        # (node name, axes below it); None: the grid cannot tell, so every point is checked in full
        self._axes = None if any(b is None for b in below) else [(str(n), b) for n, b in zip(names, below)]
        self._nodes: dict[tuple[str, tuple[int, ...]], tuple[Node, int]] = {}
        self._shapes: dict[tuple[Any, ...], int] = {}  # (kind, requirements) -> a small int standing for it
        self._combinations: set[tuple[int, ...]] = set()  # shape ints of nodes whose wiring and kinds passed
        self.full_checks = 0  # points made and checked in full (for tests and benchmarks)

    def nodes(self, index: tuple[int, ...], point: GridPoint | None = None) -> dict[str, Node]:
        """The checked nodes of the point at `index` (ConfigError when it is not valid); `point`, when the
        caller made it already, saves making it again."""
        if self._axes is not None:
            nodes: dict[str, Node] = {}
            shapes = []
            for name, axes in self._axes:
                seen = self._nodes.get((name, tuple(index[a] for a in axes)))
                if seen is None:
                    break
                nodes[name] = seen[0]
                shapes.append(seen[1])
            else:
                if tuple(shapes) in self._combinations:
                    return nodes
        return self._check_in_full(index, point or self.grid.point(index))

    def _check_in_full(self, index: tuple[int, ...], point: GridPoint) -> dict[str, Node]:
        nodes = check_grid_point(point, self.source)
        self.full_checks += 1
        if self._axes is None:
            return nodes
        if len(self._nodes) >= MAX_REMEMBERED:
            self._nodes.clear()
            self._shapes.clear()
            self._combinations.clear()
        shapes = []
        for name, axes in self._axes:
            node = nodes[name]
            shape = self._shapes.setdefault(_shape(node), len(self._shapes))
            self._nodes[(name, tuple(index[a] for a in axes))] = (node, shape)
            shapes.append(shape)
        self._combinations.add(tuple(shapes))
        return nodes
