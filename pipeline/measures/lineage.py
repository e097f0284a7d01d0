"""Base-model lineage: `findings/lineage.parquet`, one row per edge, and the graph's measures.

Edges come from metadata `base_model` (a string or a list) and the Hub's tags: `base_model:<id>` and
`base_model:<relation>:<id>` with relation finetune, adapter, quantized or merge. An edge's relation
is, first found: the relation in its tag; metadata `base_model_relation`; else inferred as the Hub
does when a card names none: adapter files (adapter_config.json, or library peft) make an adapter,
quantized weights (gguf and similar tags or files) a quantized model, more than one base a merge,
anything else a finetune. A base that is no Hub repository id (`../../etc/passwd`, a sentence) is
no edge.
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.hub.ids import is_repo_id
from pipeline.measures.graph import Graph, chain_depths, descendants
from pipeline.measures.registry import Context, Measure
from pipeline.measures.section import HeadlineItem, Section
from pipeline.store.layout import Snapshot
from pipeline.store.tables import derive, left_join, load_json, strings, write_finding

RELATIONS = ("finetune", "adapter", "quantized", "merge")
TOP = 20
HUB_URL = "https://huggingface.co/"

# Tags and file endings that mark quantized weights (llama.cpp, GPTQ, AWQ, ExLlama, bitsandbytes).
QUANTIZED_TAGS = frozenset(
    {"gguf", "ggml", "gptq", "awq", "exl2", "4-bit", "8-bit", "bitsandbytes", "quantized"}
)
QUANTIZED_SUFFIXES = (".gguf", ".ggml")


@dataclass(frozen=True)
class BaseUse(Section):
    """A base model and its direct children, in all and by relation."""

    base_model: str
    children: int
    finetune: int
    adapter: int
    quantized: int
    merge: int

    def by_relation(self) -> dict[str, int]:
        return {relation: getattr(self, relation) for relation in RELATIONS}


@dataclass(frozen=True)
class Bases(Section):
    distinct: int
    in_snapshot: int
    children_histogram: dict[str, int]
    top: list[BaseUse]


@dataclass(frozen=True)
class Depth(Section):
    histogram: dict[str, int]
    max: int
    mean_of_derived: float | None
    deepest_chain: list[str]


@dataclass(frozen=True)
class Family(Section):
    root: str
    root_in_snapshot: bool
    direct_children: int
    descendants: int
    max_depth: int


@dataclass(frozen=True)
class Families(Section):
    n: int
    top: list[Family]


@dataclass(frozen=True)
class LineageSection(Section):
    """summary.json `dependencies.lineage`."""

    n_edges: int
    models_with_base: int
    relations: dict[str, int]
    relation_sources: dict[str, int]
    edge_sources: dict[str, int]
    bases: Bases
    depth: Depth
    families: Families

    def headline(self) -> list[HeadlineItem]:
        largest = self.families.top[0] if self.families.top else None
        return [
            HeadlineItem("lineage_edges", self.n_edges, "base-model edges", "count"),
            HeadlineItem("models_with_base", self.models_with_base, "models with a base model edge", "count"),
            HeadlineItem("max_chain_depth", self.depth.max, "longest base-model chain", "number"),
            HeadlineItem("largest_family", largest and largest.to_dict(), "largest family", "detail"),
        ]


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
        ("tag_bases", pa.list_(pa.string())),
        ("adapter", pa.bool_()),
        ("quantized", pa.bool_()),
    ]
)
_CARD_FACTS = pa.schema(
    [("model_id", pa.string()), ("meta_bases", pa.list_(pa.string())), ("meta_relation", pa.string())]
)


def _model_facts(row: tuple[Any, ...]) -> tuple[Any, ...]:
    model_id, tags, siblings, library = row
    tags = tags or []
    return (
        model_id,
        [tag for tag in tags if tag.startswith("base_model:")],
        is_adapter(siblings, library),
        is_quantized(tags, siblings),
    )


def _card_facts(row: tuple[Any, ...]) -> tuple[Any, ...]:
    model_id, metadata = row
    meta = load_json(metadata)
    if not isinstance(meta, dict):
        return model_id, [], None
    relation = meta.get("base_model_relation")
    return (
        model_id,
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
    """(base, relation, relation_source, source) per base `model_id` declares; self-references and
    names that are no Hub repository id dropped."""
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
    sources = {name: found for name, found in sources.items() if is_repo_id(name)}
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


EDGE_COLUMNS = ("model_id", "base_model", "relation", "relation_source", "source")
_EDGES = pa.schema([(name, pa.string()) for name in EDGE_COLUMNS])


def build(snapshot: Snapshot) -> tuple[pa.Table, LineageSection]:
    models = derive(
        snapshot.models, ["model_id", "tags", "siblings", "library_name"], _MODEL_FACTS, _model_facts
    )
    cards = derive(snapshot.finding("parsed_cards"), ["model_id", "metadata"], _CARD_FACTS, _card_facts)
    joined = left_join(models, cards)
    del models, cards

    # Every model's id, then the bases it names: node ids follow the first mention of each name.
    mentions: list[pa.Array] = []
    is_base: list[np.ndarray] = []
    edge_parts: list[pa.Table] = []
    for batch in joined.to_batches():
        names: list[str] = []
        flags: list[bool] = []
        edges: list[tuple[str, str, str, str, str]] = []
        cols = [batch.column(name).to_pylist() for name in joined.column_names]
        for model_id, tag_b, adapter, quantized, meta_b, meta_rel in zip(*cols, strict=True):
            names.append(model_id)
            flags.append(False)
            for edge in model_edges(model_id, tag_b, meta_b or [], meta_rel, adapter, quantized):
                names.append(edge[0])
                flags.append(True)
                edges.append((model_id, *edge))
        mentions.append(pa.array(names, pa.string()))
        is_base.append(np.array(flags, bool))
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
    return lineage, _summary(graph, lineage, child, parent, depth, in_snapshot, names_of)


def _histogram(children: np.ndarray) -> dict[str, int]:
    """Bases per children bucket, largest bucket first (the order bases are ranked in)."""
    buckets = {
        ">100": children > 100,
        "11-100": (children > 10) & (children <= 100),
        "2-10": (children > 1) & (children <= 10),
        "1": children == 1,
    }
    return {name: int(found.sum()) for name, found in buckets.items() if found.any()}


def _summary(
    graph: Graph,
    lineage: pa.Table,
    child: np.ndarray,
    parent: np.ndarray,
    depth: np.ndarray,
    in_snapshot: np.ndarray,
    names: pa.StringArray,
) -> LineageSection:
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
            Family(
                root=graph.names[root],
                root_in_snapshot=bool(in_snapshot[graph.ids[root]]),
                direct_children=len(graph.children[root]),
                descendants=len(members),
                max_depth=max(local_depths[m] for m in members),
            )
        )
    families.sort(key=lambda f: (-f.descendants, f.root))
    return LineageSection(
        n_edges=lineage.num_rows,
        models_with_base=len(np.unique(child)),
        relations=dict(Counter(lineage.column("relation").to_pylist())),
        relation_sources=dict(Counter(lineage.column("relation_source").to_pylist())),
        edge_sources=dict(Counter(lineage.column("source").to_pylist())),
        bases=Bases(
            distinct=len(bases),
            in_snapshot=int(in_snapshot[graph.ids[bases]].sum()),
            children_histogram=_histogram(children[bases]),
            top=[
                BaseUse(graph.names[b], int(children[b]), *(int(n) for n in per_relation[b])) for b in ranked
            ],
        ),
        depth=Depth(
            histogram={str(d): int(n) for d, n in enumerate(np.bincount(model_depths)) if n},
            max=int(model_depths.max(initial=0)),
            mean_of_derived=int(derived.sum()) / len(derived) if len(derived) else None,
            deepest_chain=[] if deepest is None else _chain(graph, local_depths, deepest, names),
        ),
        families=Families(n=len(families), top=families[:TOP]),
    )


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


def run(context: Context) -> LineageSection:
    """Write `findings/lineage.parquet`; return the graph's measures."""
    lineage, section = build(context.snapshot)
    write_finding(context.snapshot, "lineage", lineage)
    return section


MEASURE = Measure(
    name="lineage",
    run=run,
    summary_key="dependencies.lineage",
    section=LineageSection,
    reads=("models", "parsed_cards"),
    writes=("lineage",),
)
