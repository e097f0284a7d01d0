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

from collections import Counter, defaultdict, deque
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipeline.measures.attributes import model_type
from pipeline.measures.tables import (
    MODELS,
    derive,
    findings_path,
    iter_rows,
    left_join,
    load_json,
    strings,
    write_finding,
)

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


def chain_depths(parents: list[list[int]]) -> list[int]:
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


def descendants(children: list[list[int]], starts: set[int]) -> set[int]:
    """Every node reachable downward from `starts`, `starts` included."""
    seen = set(starts)
    queue = deque(starts)
    while queue:
        for child in children[queue.popleft()]:
            if child not in seen:
                seen.add(child)
                queue.append(child)
    return seen


class Graph:
    """The lineage graph over models and the bases they name, with integer node ids."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.names: list[str] = []
        self.parents: list[list[int]] = []
        self.children: list[list[int]] = []

    def node(self, name: str) -> int:
        found = self.index.get(name)
        if found is None:
            found = self.index[name] = len(self.names)
            self.names.append(name)
            self.parents.append([])
            self.children.append([])
        return found

    def add_edge(self, child: str, parent: str) -> None:
        c, p = self.node(child), self.node(parent)
        self.parents[c].append(p)
        self.children[p].append(c)


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


def _metric_entries(snapshot: Path) -> dict[str, Any]:
    entries: Counter[str] = Counter()
    models: dict[str, set[str]] = defaultdict(set)
    columns = ["model_id", "source", "dataset_type", "dataset_name", "counts"]
    for model_id, source, dataset_type, dataset_name, counts in iter_rows(
        findings_path(snapshot, "claims"), columns
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


def build(snapshot: Path) -> tuple[pa.Table, dict[str, Any]]:
    models = derive(
        snapshot / MODELS,
        ["model_id", "tags", "config", "siblings", "library_name"],
        _MODEL_FACTS,
        _model_facts,
    )
    cards = derive(
        findings_path(snapshot, "parsed_cards"), ["model_id", "metadata"], _CARD_FACTS, _card_facts
    )
    joined = left_join(models, cards)

    graph = Graph()
    in_snapshot: set[str] = set()
    types: Counter[str | None] = Counter()
    declared: dict[str, list[int]] = defaultdict(list)
    edges: list[tuple[str, str, str, str, str]] = []
    for row in joined.to_batches():
        cols = [row.column(name).to_pylist() for name in joined.column_names]
        for model_id, mtype, tag_ds, tag_b, adapter, quantized, meta_ds, meta_b, meta_rel in zip(
            *cols, strict=True
        ):
            in_snapshot.add(model_id)
            node = graph.node(model_id)
            types[mtype] += 1
            for dataset in dict.fromkeys([*(meta_ds or ()), *tag_ds]):
                if dataset:
                    declared[dataset].append(node)
            for base, relation, relation_source, source in model_edges(
                model_id, tag_b, meta_b or [], meta_rel, adapter, quantized
            ):
                graph.add_edge(model_id, base)
                edges.append((model_id, base, relation, relation_source, source))

    depths = chain_depths(graph.parents)
    lineage = pa.table(
        {
            "model_id": [e[0] for e in edges],
            "base_model": [e[1] for e in edges],
            "relation": [e[2] for e in edges],
            "relation_source": [e[3] for e in edges],
            "source": [e[4] for e in edges],
            "base_in_snapshot": [e[1] in in_snapshot for e in edges],
            "depth": pa.array([depths[graph.index[e[0]]] for e in edges], pa.int64()),
        }
    )
    summary = {
        "architectures": _architectures(types, len(in_snapshot)),
        "datasets": {
            "per_model": _datasets_per_model(graph, declared, len(in_snapshot)),
            "metric_entries": _metric_entries(snapshot),
        },
        "lineage": _lineage_summary(graph, edges, depths, in_snapshot),
    }
    return lineage, summary


def _datasets_per_model(graph: Graph, declared: dict[str, list[int]], total: int) -> dict[str, Any]:
    ranked = sorted(declared.items(), key=lambda item: (-len(item[1]), item[0]))[:TOP]
    top = []
    for name, nodes in ranked:
        downstream = descendants(graph.children, set(nodes))
        top.append(
            {
                "dataset": name,
                "models": len(nodes),
                "share": _share(len(nodes), total),
                # Models trained on it directly or derived from one that was, through base_model.
                "downstream_models": len(downstream),
            }
        )
    with_any = len({node for nodes in declared.values() for node in nodes})
    most = max(top, key=lambda entry: entry["downstream_models"], default=None)
    return {
        "n_models_with_datasets": with_any,
        "distinct": len(declared),
        "top": top,
        "most_downstream": most,
    }


def _lineage_summary(
    graph: Graph, edges: list[tuple[str, str, str, str, str]], depths: list[int], in_snapshot: set[str]
) -> dict[str, Any]:
    children_of: dict[str, Counter[str]] = defaultdict(Counter)
    for _, base, relation, _, _ in edges:
        children_of[base][relation] += 1
    bases = sorted(children_of.items(), key=lambda item: (-sum(item[1].values()), item[0]))
    histogram: Counter[str] = Counter()
    for _, relations in bases:
        n = sum(relations.values())
        histogram["1" if n == 1 else "2-10" if n <= 10 else "11-100" if n <= 100 else ">100"] += 1

    model_depths = [depths[graph.index[name]] for name in in_snapshot]
    derived = [d for d in model_depths if d > 0]
    deepest = max(in_snapshot, key=lambda name: (depths[graph.index[name]], name), default=None)

    roots = [n for n in range(len(graph.names)) if not graph.parents[n] and graph.children[n]]
    families = []
    for root in roots:
        members = descendants(graph.children, {root})
        members.discard(root)
        families.append(
            {
                "root": graph.names[root],
                "root_in_snapshot": graph.names[root] in in_snapshot,
                "direct_children": len(graph.children[root]),
                "descendants": len(members),
                "max_depth": max(depths[m] for m in members),
            }
        )
    families.sort(key=lambda f: (-f["descendants"], f["root"]))
    return {
        "n_edges": len(edges),
        "models_with_base": len({e[0] for e in edges}),
        "relations": dict(Counter(e[2] for e in edges)),
        "relation_sources": dict(Counter(e[3] for e in edges)),
        "edge_sources": dict(Counter(e[4] for e in edges)),
        "bases": {
            "distinct": len(bases),
            "in_snapshot": sum(1 for name, _ in bases if name in in_snapshot),
            "children_histogram": dict(histogram),
            "top": [
                {"base_model": name, "children": sum(rel.values()), **{r: rel.get(r, 0) for r in RELATIONS}}
                for name, rel in bases[:TOP]
            ],
        },
        "depth": {
            "histogram": {str(d): n for d, n in sorted(Counter(model_depths).items())},
            "max": max(model_depths, default=0),
            "mean_of_derived": sum(derived) / len(derived) if derived else None,
            "deepest_chain": _chain(graph, depths, deepest) if deepest else [],
        },
        "families": {"n": len(families), "top": families[:TOP]},
    }


def _chain(graph: Graph, depths: list[int], name: str) -> list[str]:
    """The longest base-model path from `name` up to a root, `name` first."""
    node = graph.index[name]
    chain = [name]
    while depths[node] > 0:
        node = max(graph.parents[node], key=lambda p: depths[p])
        if depths[node] < 0:
            break
        chain.append(graph.names[node])
    return chain


def run(snapshot: Path) -> dict[str, Any]:
    """Write `findings/lineage.parquet`; return the architecture, dataset and lineage distributions."""
    lineage, summary = build(snapshot)
    write_finding(snapshot, "lineage", lineage)
    return summary
