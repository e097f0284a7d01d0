"""Dependencies: architecture and dataset distributions, and the base-model lineage graph.

Architectures are `config.model_type` per model. Datasets are counted two ways: per model (models
declaring the dataset in metadata `datasets` or a `dataset:` tag) and the paper's way (the paper's
Fig. 6 dataset bars counted model-index metric entries, so one model evaluated with five metrics on
one dataset counts five times).

Lineage edges come from metadata `base_model` (a string or a list) and the Hub's tags:
`base_model:<id>` and `base_model:<relation>:<id>` with relation finetune, adapter, quantized or merge.
An edge's relation is, first found: the relation in its tag; metadata `base_model_relation`; else
inferred as the Hub does when a card names none: adapter files (adapter_config.json, or library
peft) make an adapter, quantized weights (gguf and similar tags or files) a quantized model, more
than one base a merge, anything else a finetune. Written to `findings/lineage.parquet`.
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict, deque
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.measures.attributes import model_type
from pipeline.measures.tables import (
    derive,
    iter_rows,
    left_join,
    load_json,
    strings,
    write_finding,
)
from pipeline.store.layout import Snapshot

RELATIONS = ("finetune", "adapter", "quantized", "merge")
TOP = 20
HUB_URL = "https://huggingface.co/"

# Tags and file endings that mark quantized weights (llama.cpp, GPTQ, AWQ, ExLlama, bitsandbytes).
QUANTIZED_TAGS = frozenset(
    {"gguf", "ggml", "gptq", "awq", "exl2", "4-bit", "8-bit", "bitsandbytes", "quantized"}
)
QUANTIZED_SUFFIXES = (".gguf", ".ggml")


def is_quantized(tags: list[str] | None, siblings: list[str] | None) -> bool:
    """The repository holds quantized weights, by its tags or file names."""
    return any(tag.lower() in QUANTIZED_TAGS for tag in tags or ()) or any(
        path.lower().endswith(QUANTIZED_SUFFIXES) for path in siblings or ()
    )


def is_adapter(siblings: list[str] | None, library: str | None) -> bool:
    return library == "peft" or any(
        path.rsplit("/", 1)[-1] == "adapter_config.json" for path in siblings or ()
    )


def normalize_id(name: str) -> str:
    """A base model as a repository id: cards sometimes give the full Hub URL."""
    name = name.strip()
    if name.startswith(HUB_URL):
        name = name[len(HUB_URL) :]
    return name.strip("/")


def tag_bases(tags: list[str] | None) -> list[tuple[str, str | None]]:
    """(base id, relation or None) for each `base_model:` tag."""
    found = []
    for tag in tags or ():
        if not tag.startswith("base_model:"):
            continue
        rest = tag[len("base_model:") :]
        relation, sep, name = rest.partition(":")
        # Repository ids hold no colon, so a second colon always separates a relation.
        if sep and relation in RELATIONS:
            found.append((normalize_id(name), relation))
        else:
            found.append((normalize_id(rest), None))
    return [(name, relation) for name, relation in found if name]


_MODEL_FACTS = pa.schema(
    [
        ("model_id", pa.string()),
        ("model_type", pa.string()),
        ("tag_datasets", pa.list_(pa.string())),
        ("tag_bases", pa.list_(pa.string())),
        ("adapter", pa.bool_()),
        ("quantized", pa.bool_()),
    ]
)
_CARD_FACTS = pa.schema(
    [
        ("model_id", pa.string()),
        ("meta_datasets", pa.list_(pa.string())),
        ("meta_bases", pa.list_(pa.string())),
        ("meta_relation", pa.string()),
    ]
)


def _model_facts(row: tuple[Any, ...]) -> tuple[Any, ...]:
    model_id, tags, config, siblings, library = row
    tags = tags or []
    return (
        model_id,
        model_type(load_json(config)),
        [tag[len("dataset:") :].strip() for tag in tags if tag.startswith("dataset:")],
        [tag for tag in tags if tag.startswith("base_model:")],
        is_adapter(siblings, library),
        is_quantized(tags, siblings),
    )


def _card_facts(row: tuple[Any, ...]) -> tuple[Any, ...]:
    model_id, metadata = row
    meta = load_json(metadata)
    if not isinstance(meta, dict):
        return model_id, [], [], None
    relation = meta.get("base_model_relation")
    return (
        model_id,
        strings(meta.get("datasets")),
        [normalize_id(name) for name in strings(meta.get("base_model"))],
        relation if relation in RELATIONS else None,
    )


def model_edges(
    model_id: str,
    tags: list[str],
    meta_bases: list[str],
    meta_relation: str | None,
    adapter: bool,
    quantized: bool,
) -> list[tuple[str, str, str, str]]:
    """(base, relation, relation_source, source) per base `model_id` declares; self-references dropped."""
    explicit: dict[str, str] = {}
    sources: dict[str, set[str]] = defaultdict(set)
    for name, relation in tag_bases(tags):
        sources[name].add("tag")
        if relation:
            explicit.setdefault(name, relation)
    for name in meta_bases:
        if name:
            sources[name].add("metadata")
    sources.pop(model_id, None)
    if adapter:
        inferred = "adapter"
    elif quantized:
        inferred = "quantized"
    elif len(sources) > 1:
        inferred = "merge"
    else:
        inferred = "finetune"
    edges = []
    for name, found in sources.items():
        if name in explicit:
            relation, relation_source = explicit[name], "tag"
        elif meta_relation:
            relation, relation_source = meta_relation, "metadata"
        else:
            relation, relation_source = inferred, "inferred"
        edges.append((name, relation, relation_source, "both" if len(found) == 2 else found.pop()))
    return edges


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


def _share(count: int, total: int) -> float | None:
    return count / total if total else None


def _architectures(types: Counter[str | None], total: int) -> dict[str, Any]:
    missing = types.pop(None, 0)
    return {
        "n_models": total,
        "missing": {"count": missing, "share": _share(missing, total)},
        "distinct": len(types),
        "top": [
            {"model_type": name, "count": n, "share": _share(n, total)} for name, n in types.most_common(TOP)
        ],
    }


def _metric_entries(snapshot: Snapshot) -> dict[str, Any]:
    entries: Counter[str] = Counter()
    models: dict[str, set[str]] = defaultdict(set)
    columns = ["model_id", "source", "dataset_type", "dataset_name", "counts"]
    for model_id, source, dataset_type, dataset_name, counts in iter_rows(
        snapshot.finding("claims"), columns
    ):
        if source != "model-index" or not counts:
            continue
        name = (dataset_type or "").strip() or (dataset_name or "").strip()
        entries[name] += 1
        models[name].add(model_id)
    return {
        "note": "the paper's dataset bars counted model-index metric entries, not models",
        "n_entries": sum(entries.values()),
        "distinct": len(entries),
        "top": [
            {"dataset": name, "entries": n, "models": len(models[name])}
            for name, n in entries.most_common(TOP)
        ],
    }


EDGE_COLUMNS = ("model_id", "base_model", "relation", "relation_source", "source")
_EDGES = pa.schema([(name, pa.string()) for name in EDGE_COLUMNS])


def build(snapshot: Snapshot) -> tuple[pa.Table, dict[str, Any]]:
    models = derive(
        snapshot.models,
        ["model_id", "tags", "config", "siblings", "library_name"],
        _MODEL_FACTS,
        _model_facts,
    )
    cards = derive(snapshot.finding("parsed_cards"), ["model_id", "metadata"], _CARD_FACTS, _card_facts)
    joined = left_join(models, cards)
    del models, cards

    types: Counter[str | None] = Counter()
    datasets: dict[str, int] = {}
    # Every model's id, then the bases it names: node ids follow the first mention of each name.
    mentions: list[pa.Array] = []
    is_base: list[np.ndarray] = []
    # (dataset code, model row) per dataset a model declares.
    declared: list[np.ndarray] = []
    edge_parts: list[pa.Table] = []
    rows = 0
    for batch in joined.to_batches():
        names: list[str] = []
        flags: list[bool] = []
        pairs: list[tuple[int, int]] = []
        edges: list[tuple[str, str, str, str, str]] = []
        cols = [batch.column(name).to_pylist() for name in joined.column_names]
        for model_id, mtype, tag_ds, tag_b, adapter, quantized, meta_ds, meta_b, meta_rel in zip(
            *cols, strict=True
        ):
            names.append(model_id)
            flags.append(False)
            types[mtype] += 1
            for dataset in dict.fromkeys([*(meta_ds or ()), *tag_ds]):
                if dataset:
                    pairs.append((datasets.setdefault(dataset, len(datasets)), rows))
            for edge in model_edges(model_id, tag_b, meta_b or [], meta_rel, adapter, quantized):
                names.append(edge[0])
                flags.append(True)
                edges.append((model_id, *edge))
            rows += 1
        mentions.append(pa.array(names, pa.string()))
        is_base.append(np.array(flags, bool))
        declared.append(np.array(pairs, np.int64).reshape(-1, 2))
        columns = list(zip(*edges, strict=True)) or [()] * len(EDGE_COLUMNS)
        edge_parts.append(
            pa.Table.from_arrays([pa.array(values, pa.string()) for values in columns], schema=_EDGES)
        )
    del joined

    encoded = pc.dictionary_encode(pa.chunked_array(mentions, pa.string()).combine_chunks())
    del mentions
    node = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    names_of = encoded.dictionary
    base = np.concatenate(is_base) if is_base else np.zeros(0, bool)
    model_nodes = node[~base]
    parent = node[base]
    child = model_nodes[np.cumsum(~base)[base] - 1]
    in_snapshot = np.zeros(len(names_of), bool)
    in_snapshot[model_nodes] = True

    graph = Graph(names_of, child, parent)
    depth = np.zeros(len(names_of), np.int64)
    depth[graph.ids] = chain_depths(graph.parents)

    edge_table = pa.concat_tables(edge_parts) if edge_parts else _EDGES.empty_table()
    lineage = edge_table.append_column("base_in_snapshot", pa.array(in_snapshot[parent])).append_column(
        "depth", pa.array(depth[child], pa.int64())
    )
    pairs = np.concatenate(declared) if declared else np.zeros((0, 2), np.int64)
    total = int(in_snapshot.sum())
    summary = {
        "architectures": _architectures(types, total),
        "datasets": {
            "per_model": _datasets_per_model(
                graph, list(datasets), pairs[:, 0], model_nodes[pairs[:, 1]], total
            ),
            "metric_entries": _metric_entries(snapshot),
        },
        "lineage": _lineage_summary(graph, lineage, child, parent, depth, in_snapshot, names_of),
    }
    return lineage, summary


def _datasets_per_model(
    graph: Graph, names: list[str], codes: np.ndarray, nodes: np.ndarray, total: int
) -> dict[str, Any]:
    counts = np.bincount(codes, minlength=len(names))
    ranked = heapq.nsmallest(TOP, range(len(names)), key=lambda d: (-counts[d], names[d]))
    top = [
        {
            "dataset": names[d],
            "models": int(counts[d]),
            "share": _share(int(counts[d]), total),
            # Models trained on it directly or derived from one that was, through base_model.
            "downstream_models": graph.reach(nodes[codes == d]),
        }
        for d in ranked
    ]
    most = max(top, key=lambda entry: entry["downstream_models"], default=None)
    return {
        "n_models_with_datasets": len(np.unique(nodes)),
        "distinct": len(names),
        "top": top,
        "most_downstream": most,
    }


def _histogram(children: np.ndarray) -> dict[str, int]:
    """Bases per children bucket, largest bucket first (the order bases are ranked in)."""
    buckets = {
        ">100": children > 100,
        "11-100": (children > 10) & (children <= 100),
        "2-10": (children > 1) & (children <= 10),
        "1": children == 1,
    }
    return {name: int(found.sum()) for name, found in buckets.items() if found.any()}


def _lineage_summary(
    graph: Graph,
    lineage: pa.Table,
    child: np.ndarray,
    parent: np.ndarray,
    depth: np.ndarray,
    in_snapshot: np.ndarray,
    names: pa.StringArray,
) -> dict[str, Any]:
    local_depths = depth[graph.ids].tolist()
    relation = pc.index_in(lineage.column("relation"), pa.array(RELATIONS)).to_numpy(zero_copy_only=False)
    per_relation = np.zeros((len(graph.names), len(RELATIONS)), np.int64)
    np.add.at(per_relation, (graph.local[parent], relation), 1)
    children = per_relation.sum(axis=1)
    bases = np.flatnonzero(children)
    ranked = heapq.nsmallest(TOP, bases.tolist(), key=lambda b: (-children[b], graph.names[b]))

    model_depths = depth[in_snapshot]
    derived = model_depths[model_depths > 0]
    deepest = None
    if len(model_depths):
        candidates = np.flatnonzero(in_snapshot & (depth == model_depths.max()))
        candidate_names = names.take(pa.array(candidates, pa.int64()))
        deepest = int(candidates[pc.index(candidate_names, pc.max(candidate_names)).as_py()])

    roots = [n for n in range(len(graph.names)) if not graph.parents[n] and graph.children[n]]
    families = []
    for root in roots:
        members = descendants(graph.children, {root})
        members.discard(root)
        families.append(
            {
                "root": graph.names[root],
                "root_in_snapshot": bool(in_snapshot[graph.ids[root]]),
                "direct_children": len(graph.children[root]),
                "descendants": len(members),
                "max_depth": max(local_depths[m] for m in members),
            }
        )
    families.sort(key=lambda f: (-f["descendants"], f["root"]))
    return {
        "n_edges": lineage.num_rows,
        "models_with_base": len(np.unique(child)),
        "relations": dict(Counter(lineage.column("relation").to_pylist())),
        "relation_sources": dict(Counter(lineage.column("relation_source").to_pylist())),
        "edge_sources": dict(Counter(lineage.column("source").to_pylist())),
        "bases": {
            "distinct": len(bases),
            "in_snapshot": int(in_snapshot[graph.ids[bases]].sum()),
            "children_histogram": _histogram(children[bases]),
            "top": [
                {
                    "base_model": graph.names[b],
                    "children": int(children[b]),
                    **{r: int(n) for r, n in zip(RELATIONS, per_relation[b], strict=True)},
                }
                for b in ranked
            ],
        },
        "depth": {
            "histogram": {str(d): int(n) for d, n in enumerate(np.bincount(model_depths)) if n},
            "max": int(model_depths.max(initial=0)),
            "mean_of_derived": int(derived.sum()) / len(derived) if len(derived) else None,
            "deepest_chain": [] if deepest is None else _chain(graph, local_depths, deepest, names),
        },
        "families": {"n": len(families), "top": families[:TOP]},
    }


def _chain(graph: Graph, depths: list[int], start: int, names: pa.StringArray) -> list[str]:
    """The longest base-model path from snapshot node `start` up to a root, `start` first."""
    chain = [names[start].as_py()]
    node = int(graph.local[start])
    while node >= 0 and depths[node] > 0:
        node = max(graph.parents[node], key=lambda p: depths[p])
        if depths[node] < 0:
            break
        chain.append(graph.names[node])
    return chain


def run(snapshot: Snapshot) -> dict[str, Any]:
    """Write `findings/lineage.parquet`; return the architecture, dataset and lineage distributions."""
    lineage, summary = build(snapshot)
    write_finding(snapshot, "lineage", lineage)
    return summary
