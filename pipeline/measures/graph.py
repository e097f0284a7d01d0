"""The lineage graph: base-model edges as flat adjacency lists, chain depths and descendants.

Shared by the lineage measure (depths, families) and the datasets measure (models downstream of a
dataset). Node ids are integers; names stay in one Arrow string array.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def chain_depths(parents: Neighbours) -> list[int]:
    """Longest number of edges from each node up to a node without parents; cycles are cut where met."""
    unknown, on_path = -1, -2
    depth = [unknown] * len(parents)
    for start in range(len(parents)):
        if depth[start] >= 0:
            continue
        stack = [start]
        while stack:
            node = stack[-1]
            if depth[node] >= 0:
                stack.pop()
            elif depth[node] == unknown:
                depth[node] = on_path
                stack.extend(p for p in parents[node] if depth[p] == unknown)
            else:
                stack.pop()
                depth[node] = 1 + max((depth[p] for p in parents[node] if depth[p] >= 0), default=-1)
    return depth


def descendants(children: Neighbours, starts: set[int]) -> set[int]:
    """Every node reachable downward from `starts`, `starts` included."""
    seen = set(starts)
    queue = deque(starts)
    while queue:
        for child in children[queue.popleft()]:
            if child not in seen:
                seen.add(child)
                queue.append(child)
    return seen


class Neighbours(Protocol):
    def __getitem__(self, node: int, /) -> Sequence[int]: ...
    def __len__(self) -> int: ...


class Adjacency:
    """Each node's neighbours, in edge order, in one flat list: node n's are flat[start[n]:start[n + 1]]."""

    def __init__(self, source: np.ndarray, target: np.ndarray, n_nodes: int) -> None:
        self.flat: list[int] = target[np.argsort(source, kind="stable")].tolist()
        self.start: list[int] = [0, *np.cumsum(np.bincount(source, minlength=n_nodes)).tolist()]

    def __getitem__(self, node: int) -> list[int]:
        return self.flat[self.start[node] : self.start[node + 1]]

    def __len__(self) -> int:
        return len(self.start) - 1


class Graph:
    """The lineage graph over the nodes that take part in an edge, with local integer node ids.

    `ids` are the nodes' ids in the whole snapshot (sorted, so local ids keep their order); models
    in no edge stay out of the graph: they have depth 0 and no descendants.
    """

    def __init__(self, names: pa.StringArray, child: np.ndarray, parent: np.ndarray) -> None:
        self.ids = np.unique(np.concatenate([child, parent]))
        self.local = np.full(len(names), -1, np.int64)
        self.local[self.ids] = np.arange(len(self.ids))
        self.names: list[str] = names.take(pa.array(self.ids, pa.int64())).to_pylist()
        child, parent = self.local[child], self.local[parent]
        self.parents = Adjacency(child, parent, len(self.ids))
        self.children = Adjacency(parent, child, len(self.ids))

    def reach(self, starts: np.ndarray) -> int:
        """How many distinct nodes `starts` (snapshot node ids) and everything derived from them make."""
        starts = np.unique(starts)
        inside = self.local[starts]
        inside = inside[inside >= 0]
        return len(starts) - len(inside) + len(descendants(self.children, set(inside.tolist())))


def encode(*columns: pa.ChunkedArray | pa.Array) -> tuple[pa.StringArray, list[np.ndarray]]:
    """One node id per name across `columns` (ids follow first mention): the names, then each column's ids."""
    arrays = [c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c for c in columns]
    encoded = pc.dictionary_encode(pa.concat_arrays([a.cast(pa.string()) for a in arrays]))
    ids = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    return encoded.dictionary, np.split(ids, np.cumsum([len(a) for a in arrays])[:-1])
