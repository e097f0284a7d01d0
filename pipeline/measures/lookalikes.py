"""Look-alike names: models named almost like a popular model of another author.

A model's name is its id after the author (the whole id for authorless legacy models). The popular
models are the `POPULAR` most downloaded (30-day downloads above 0; ties by id). Names are compared
folded (`fold`: NFKC, case, confusable characters, `rn`/`vv`, `_`/`-`); names shorter than
`MIN_LENGTH` folded characters are never compared. A model is a candidate for a popular model of
another author with more downloads when:

- `same_name_other_author`: the names are equal;
- `homoglyph`: the folded names are equal;
- `edit`: the folded names are within Damerau-Levenshtein (optimal string alignment) distance 1, or
  2 when the popular name has at least `LONG` folded characters, and differ in more than digits
  (`llama-7b` and `llama-8b` are two sizes, not a look-alike).

A candidate is excluded (kept in the table, with the reason) when its declared base models
(findings/lineage.parquet, followed upwards) meet the popular model or its own bases
(`declared_family`), or when it declares a base and its name is the popular one's with a
quantization or fine-tune suffix swapped or added (`variant_of_declared_base`).

Candidates are found by symmetric deletion (`PopularIndex`): popular names are indexed under the
strings made by deleting up to their allowed distance of characters from each end of the name, and a
model's name is looked up under its own, so the work grows with the models, not with models times
popular names.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.measures.registry import Context, Measure
from pipeline.measures.section import HeadlineItem, Section
from pipeline.measures.tables import iter_columns, read_table, write_finding
from pipeline.schemas import table_from_rows
from pipeline.store.layout import Snapshot

POPULAR = 1_000
MIN_LENGTH = 6
LONG = 12
TOP = 20
# Characters of each end of a name that are indexed; ends looked up that are remembered.
PREFIX = 10
SEEN = 100_000
KINDS = ("same_name_other_author", "homoglyph", "edit")
EXCLUSIONS = ("declared_family", "variant_of_declared_base")

# Characters that look alike, folded to one (Cyrillic and Greek letters, digits, separators).
_CONFUSABLE = str.maketrans(
    {
        "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "l", "ј": "j",
        "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w", "һ": "h", "к": "k", "м": "m", "т": "t", "в": "b",
        "н": "h", "ο": "o", "α": "a", "ν": "v", "ρ": "p", "ι": "l", "κ": "k", "τ": "t", "ɡ": "g",
        "0": "o", "1": "l", "i": "l", "|": "l", "_": "-",
    }
)  # fmt: skip
_DIGITS = re.compile(r"\d")
# Quantization and fine-tune suffixes that name a variant of a model (of a case-folded name).
_VARIANT = re.compile(
    r"(-(gguf|ggml|gptq|awq|exl2|mlx|onnx|bnb|\d+-?bits?|int[48]|fp(16|8|32)|bf16|q\d(-k)?(-[msl])?"
    r"|ft|sft|dpo|lora|qlora|peft|finetuned.*|fine-tuned.*|merged|quantized|hf))+$"
)


def fold(name: str) -> str:
    """`name` with look-alike characters made the same."""
    folded = unicodedata.normalize("NFKC", name).casefold().translate(_CONFUSABLE)
    return folded.replace("rn", "m").replace("vv", "w")


def allowed(length: int) -> int:
    """The edit distance allowed from a popular name of `length` folded characters."""
    return 2 if length >= LONG else 1 if length >= MIN_LENGTH else 0


def deletions(word: str, depth: int) -> set[str]:
    """`word` and every string made by deleting up to `depth` of its characters."""
    found = {word}
    layer = {word}
    for _ in range(depth):
        layer = {w[:i] + w[i + 1 :] for w in layer for i in range(len(w))}
        found |= layer
    return found


def osa_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (adjacent transpositions count 1), computed in the band of
    `limit` around the diagonal; `limit + 1` once past it."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    far = limit + 1
    width = len(b) + 1
    before = [far] * width
    previous = [j if j <= limit else far for j in range(width)]
    for i in range(1, len(a) + 1):
        current = [far] * width
        if i <= limit:
            current[0] = i
        for j in range(max(1, i - limit), min(len(b), i + limit) + 1):
            cost = a[i - 1] != b[j - 1]
            best = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                best = min(best, before[j - 2] + 1)
            current[j] = min(best, far)
        if min(current) > limit:
            return far
        before, previous = previous, current
    return previous[-1]


def split_id(model_id: str) -> tuple[str, str]:
    """(author, name); authorless legacy ids have author ""."""
    author, _, name = model_id.rpartition("/")
    return author, name


def without_digits(name: str) -> str:
    """`name` case-folded without its digits: names equal so differ only in version or size numbers."""
    return _DIGITS.sub("", name.casefold())


@dataclass(frozen=True)
class Named:
    """A model id's parts as the comparison sees them."""

    model_id: str
    author: str
    name: str
    folded: str
    plain: str

    @classmethod
    def of(cls, model_id: str) -> Named:
        author, name = split_id(model_id)
        return cls(model_id, author.casefold(), name, fold(name), without_digits(name))


@dataclass(frozen=True)
class Popular:
    named: Named
    downloads: int


@dataclass
class Work:
    """What the search did, to bound it: names looked up, deletion strings made, distances computed."""

    names: int = 0
    deletions: int = 0
    distance_checks: int = 0


@dataclass
class Ends:
    """Popular names by the deletion strings of one end of their folded name (`PREFIX` characters),
    and the popular names each end already looked up met (names share their ends often)."""

    keys: dict[str, list[int]] = field(default_factory=dict)
    seen: dict[tuple[str, int], frozenset[int]] = field(default_factory=dict)

    def met(self, end: str, depth: int, work: Work) -> frozenset[int]:
        found = self.seen.get((end, depth))
        if found is None:
            mine = deletions(end, depth)
            work.deletions += len(mine)
            found = frozenset(number for key in mine & self.keys.keys() for number in self.keys[key])
            if len(self.seen) >= SEEN:
                self.seen.clear()
            self.seen[(end, depth)] = found
        return found


@dataclass
class PopularIndex:
    """Popular names by the deletion strings of their first and of their last `PREFIX` folded characters.

    Names within distance d have first (and last) `PREFIX` characters that meet after at most d
    deletions on each side (an edit past them only shifts which characters they hold), so the ends find
    every pair and bound the deletion strings each name makes; only popular names met at both ends,
    of a length within reach and differing in more than digits, get their distance computed.
    """

    popular: list[Popular]
    heads: Ends = field(default_factory=Ends)
    tails: Ends = field(default_factory=Ends)
    by_folded: dict[str, list[int]] = field(default_factory=dict)
    # Popular names by name without digits: a name equal to one of them needs no look-up of its tail.
    by_plain: dict[str, frozenset[int]] = field(default_factory=dict)
    # Deletions a model name of each length needs: the most any popular name within reach allows.
    depth_by_length: Counter[int] = field(default_factory=Counter)

    @classmethod
    def of(cls, popular: Iterable[Popular]) -> PopularIndex:
        index = cls([p for p in popular if allowed(len(p.named.folded))])
        by_folded: defaultdict[str, list[int]] = defaultdict(list)
        by_plain: defaultdict[str, set[int]] = defaultdict(set)
        heads: defaultdict[str, list[int]] = defaultdict(list)
        tails: defaultdict[str, list[int]] = defaultdict(list)
        for number, entry in enumerate(index.popular):
            folded = entry.named.folded
            depth = allowed(len(folded))
            by_folded[folded].append(number)
            by_plain[entry.named.plain].add(number)
            for key in deletions(folded[:PREFIX], depth):
                heads[key].append(number)
            for key in deletions(folded[-PREFIX:], depth):
                tails[key].append(number)
            for length in range(len(folded) - depth, len(folded) + depth + 1):
                index.depth_by_length[length] = max(index.depth_by_length[length], depth)
        index.heads.keys, index.tails.keys = dict(heads), dict(tails)
        index.by_folded = dict(by_folded)
        index.by_plain = {plain: frozenset(numbers) for plain, numbers in by_plain.items()}
        return index

    def matches(self, model: Named, work: Work) -> list[tuple[int, str, int]]:
        """(popular number, kind, distance) of each popular name `model`'s name looks like."""
        folded = model.folded
        depth = self.depth_by_length[len(folded)]
        if not depth:
            return []
        work.names += 1
        heads = self.heads.met(folded[:PREFIX], depth, work)
        # Names that differ only in digits are equal or no look-alikes: the other ends need no look-up.
        met = set(self.by_folded.get(folded, ()))
        others = heads - self.by_plain.get(model.plain, frozenset())
        if others:
            met |= others & self.tails.met(folded[-PREFIX:], depth, work)
        found = []
        for number in sorted(met):
            popular = self.popular[number].named
            limit = allowed(len(popular.folded))
            if popular.folded == folded:
                kind = "same_name_other_author" if popular.name == model.name else "homoglyph"
                found.append((number, kind, 0))
            elif popular.plain != model.plain and abs(len(popular.folded) - len(folded)) <= limit:
                work.distance_checks += 1
                distance = osa_distance(folded, popular.folded, limit)
                if distance <= limit:
                    found.append((number, "edit", distance))
        return found


def popular_models(snapshot: Snapshot, k: int = POPULAR) -> list[Popular]:
    """The `k` most downloaded models (more than 0 downloads), ties by id."""
    models = read_table(snapshot.models, ["model_id", "downloads"])
    models = models.filter(pc.greater(pc.fill_null(models.column("downloads"), 0), 0))
    order = pc.sort_indices(models, sort_keys=[("downloads", "descending"), ("model_id", "ascending")])
    top = models.take(order[:k]).to_pylist()
    return [Popular(Named.of(row["model_id"]), row["downloads"]) for row in top]


COLUMNS = (
    "model_id",
    "downloads",
    "popular_model",
    "popular_downloads",
    "kind",
    "distance",
    "excluded",
)


def candidates(snapshot: Snapshot, index: PopularIndex, work: Work) -> list[dict[str, Any]]:
    """Every (model, popular model of another author with more downloads) pair that looks alike, before
    exclusions."""
    found = []
    for model_ids, downloads in iter_columns(snapshot.models, ["model_id", "downloads"]):
        for model_id, count in zip(model_ids, downloads, strict=True):
            model = Named.of(model_id)
            for number, kind, distance in index.matches(model, work):
                popular = index.popular[number]
                if model.author == popular.named.author or (count or 0) >= popular.downloads:
                    continue
                found.append(
                    {
                        "model_id": model_id,
                        "downloads": count,
                        "popular_model": popular.named.model_id,
                        "popular_downloads": popular.downloads,
                        "kind": kind,
                        "distance": distance,
                    }
                )
    return found


def ancestors(lineage: pa.Table, ids: set[str]) -> dict[str, set[str]]:
    """Every declared base of each of `ids`, followed upwards (cycles included once)."""
    parents: defaultdict[str, set[str]] = defaultdict(set)
    frontier, seen = set(ids), set()
    while frontier:
        seen |= frontier
        edges = lineage.filter(pc.is_in(lineage.column("model_id"), pa.array(sorted(frontier), pa.string())))
        for child, base in zip(
            *(edges.column(c).to_pylist() for c in ("model_id", "base_model")), strict=True
        ):
            parents[child].add(base)
        frontier = set(edges.column("base_model").to_pylist()) - seen
    found: dict[str, set[str]] = {}
    for start in ids:
        reached: set[str] = set()
        stack = list(parents[start])
        while stack:
            node = stack.pop()
            if node not in reached:
                reached.add(node)
                stack.extend(parents[node])
        found[start] = reached
    return found


def variant_stem(name: str) -> str:
    """`name` case-folded without its quantization and fine-tune suffixes."""
    return _VARIANT.sub("", name.casefold().replace("_", "-"))


def exclusion(row: dict[str, Any], bases: dict[str, set[str]]) -> str | None:
    """Why a candidate pair is a declared family rather than a look-alike; None when it is not."""
    model, popular = row["model_id"], row["popular_model"]
    if bases[model] & (bases[popular] | {popular}) or model in bases[popular]:
        return "declared_family"
    if bases[model] and variant_stem(split_id(model)[1]) == variant_stem(split_id(popular)[1]):
        return "variant_of_declared_base"
    return None


@dataclass(frozen=True)
class Lookalike(Section):
    model_id: str
    downloads: int | None
    popular_model: str
    popular_downloads: int
    kind: str
    distance: int


@dataclass(frozen=True)
class LookalikesSection(Section):
    """summary.json `lookalikes`."""

    popular: int
    popular_min_downloads: int | None
    names_looked_up: int
    distance_checks: int
    candidates: int
    models: int
    by_kind: dict[str, int]
    excluded: dict[str, int]
    top: list[Lookalike]

    def headline(self) -> list[HeadlineItem]:
        return [HeadlineItem("lookalike_models", self.models, "models named like a popular model", "count")]


def build(snapshot: Snapshot, k: int = POPULAR) -> tuple[pa.Table, LookalikesSection, Work]:
    popular = popular_models(snapshot, k)
    index = PopularIndex.of(popular)
    work = Work()
    rows = candidates(snapshot, index, work)
    lineage_path = snapshot.finding("lineage")
    lineage = (
        read_table(lineage_path, ["model_id", "base_model"])
        if lineage_path.exists()
        else pa.table({"model_id": pa.array([], pa.string()), "base_model": pa.array([], pa.string())})
    )
    ids = {r["model_id"] for r in rows} | {r["popular_model"] for r in rows}
    bases = ancestors(lineage, ids)
    for row in rows:
        row["excluded"] = exclusion(row, bases)
    rows.sort(key=lambda r: (-r["popular_downloads"], r["popular_model"], r["model_id"]))
    flagged = [r for r in rows if r["excluded"] is None]
    section = LookalikesSection(
        popular=len(popular),
        popular_min_downloads=popular[-1].downloads if popular else None,
        names_looked_up=work.names,
        distance_checks=work.distance_checks,
        candidates=len(flagged),
        models=len({r["model_id"] for r in flagged}),
        by_kind={kind: n for kind in KINDS if (n := sum(r["kind"] == kind for r in flagged))},
        excluded={why: n for why in EXCLUSIONS if (n := sum(r["excluded"] == why for r in rows))},
        top=[Lookalike(**{k: r[k] for k in COLUMNS if k != "excluded"}) for r in flagged[:TOP]],
    )
    return table_from_rows("lookalikes", rows), section, work


def run(context: Context) -> LookalikesSection:
    """Write `findings/lookalikes.parquet`; return the candidates' counts and the first of them."""
    table, section, _ = build(context.snapshot)
    write_finding(context.snapshot, "lookalikes", table)
    return section


MEASURE = Measure(
    name="lookalikes",
    run=run,
    summary_key="lookalikes",
    section=LookalikesSection,
    reads=("models", "lineage"),
    writes=("lookalikes",),
)
