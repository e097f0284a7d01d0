"""Look-alike names: repositories a user could load by mistake for a popular model of another author.

A model's name is its id after the author (the whole id for authorless legacy ids). A **popular** model
has at least `Settings.min_downloads` downloads in 30 days (an absolute floor, not a rank in the
snapshot), or is among the `Settings.top` most downloaded when that is set. Names are compared folded
(`fold`: NFKC, case, confusable characters, `rn`/`vv`, `_`/`-`); names shorter than `MIN_LENGTH`
folded characters are never compared. A model less downloaded than a popular model of another author
is a **suspect** when a character-level trick links their ids (`RULES`):

- `same_name_other_author`: the names are equal up to case and separators, the authors unrelated;
- `author_homoglyph`, `author_typo`: the same name under an author that folds to the popular one's,
  or is one edit from it (authors of at least `MIN_AUTHOR` characters);
- `name_homoglyph`: the folded names are equal but the names differ in more than case and separators;
- `name_typo`: the folded names are one edit apart (optimal string alignment) and differ in more than
  digits;
- `card_copy` (evidence): the suspect's card repeats the popular card's lines (`card_copied`).

A suspect is counted as a candidate for review unless an exclusion applies (`EXCLUSIONS`; every one
that applies is kept in the table):

- `no_weights`, `weights_unknown`: its files hold no weight file, or its file list is unknown;
- `variant_<kind>`: the names are a systematic variant (`pipeline.measures.name_variants`: language,
  number, size, task, architecture, casing, separator, format);
- `declares_original`, `declares_own_base`: it declares a base (findings/lineage.parquet, followed
  upwards, or the Trainer's "fine-tuned version of" sentence of its card) that is the popular model
  or one of its bases, or another model;
- `card_names_original`: its card names the popular model's id or author;
- `named_by_popular`: the popular model's card names the suspect's id (the popular one is the copy);
- `older_than_popular`: it was created before the popular model;
- `legacy_name`: the popular id is an authorless legacy id and the suspect bears the same name;
- `same_name_only`: the only trick is the same name under an unrelated author, and its card is no
  copy of the popular card (nothing presents it as the popular model);
- `tutorial_name`: its name or the popular one (up to case and separators) is held by
  `Settings.tutorial_authors` or more (folded) authors among the suspects and popular models, authors
  that look like the popular one's left out.

When the suspect's card is a copy of the popular card, the card's front matter, base models and
sentences are the popular model's: only the lines it adds are read for a declaration.

One row per suspect: the popular model it is counted against (else the most downloaded it looks
like), the others in `also_like`.

Candidates are found by symmetric deletion (`PopularIndex`): popular names are indexed under the
strings made by deleting up to their allowed distance of characters from each end of the name, and a
model's name is looked up under its own, so the work grows with the models, not with models times
popular names.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pipeline import settings
from pipeline.cards.finetuned import finetuned_from
from pipeline.measures.name_variants import tokens, variant_kind
from pipeline.measures.registry import Context, Measure
from pipeline.measures.risks import classify
from pipeline.measures.section import Section
from pipeline.schemas import table_from_rows
from pipeline.store.layout import Snapshot
from pipeline.store.tables import iter_columns, read_table, write_finding

MIN_LENGTH = 6
MIN_AUTHOR = 4
# Candidates listed in summary.json (`top`), most downloaded popular model first.
TOP_CANDIDATES = 20
# Characters of each end of a name that are indexed; ends looked up that are remembered.
PREFIX = 10
SEEN = 100_000
# Card lines compared for a copy: long enough to be the author's own words, at most this many.
COPY_LINE = 40
COPY_LINES = 2_000
COPY_SHARE = 0.8
COPY_MIN_LINES = 5
# Card text read per model when looking for the popular model's id or author.
CARD_CHARS = 200_000
LOOKALIKE_AUTHOR = ("author_homoglyph", "author_typo")
RULES = (
    "same_name_other_author",
    "author_homoglyph",
    "author_typo",
    "name_homoglyph",
    "name_typo",
    "card_copy",
)
VARIANTS = ("language", "number", "size", "task", "architecture", "casing", "separator", "format")
EXCLUSIONS = (
    "no_weights",
    "weights_unknown",
    *(f"variant_{kind}" for kind in VARIANTS),
    "declares_original",
    "declares_own_base",
    "card_names_original",
    "named_by_popular",
    "older_than_popular",
    "legacy_name",
    "same_name_only",
    "tutorial_name",
)

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
# Lines of the Trainer's card template, the same in every card it writes.
_TEMPLATE_LINE = re.compile(
    r"(this model card has been generated automatically|it achieves the following results"
    r"|the following hyperparameters were used|more information needed)",
    re.IGNORECASE,
)
_SPACES = re.compile(r"\s+")


def fold(name: str) -> str:
    """`name` with look-alike characters made the same."""
    folded = unicodedata.normalize("NFKC", name).casefold().translate(_CONFUSABLE)
    return folded.replace("rn", "m").replace("vv", "w")


def allowed(length: int) -> int:
    """The edit distance allowed from a popular name of `length` folded characters: one typo."""
    return 1 if length >= MIN_LENGTH else 0


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
    """`name` case-folded, `_` as `-`, without its digits: names equal so differ only in seed, version
    or size numbers."""
    return _DIGITS.sub("", name.casefold().replace("_", "-"))


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

    def matches(self, model: Named, work: Work) -> list[tuple[int, int]]:
        """(popular number, distance of the folded names) of each popular name `model`'s name looks like."""
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
                found.append((number, 0))
            elif popular.plain != model.plain and abs(len(popular.folded) - len(folded)) <= limit:
                work.distance_checks += 1
                distance = osa_distance(folded, popular.folded, limit)
                if distance <= limit:
                    found.append((number, distance))
        return found


@dataclass(frozen=True)
class Settings:
    """What makes a model popular, and a name a tutorial's.

    `min_downloads`: 30-day downloads from which a model is popular (None: no floor). `top`: the most
    downloaded models of the snapshot are popular too (None: none by rank); the snapshot's top is the
    registry's only for a full crawl. `tutorial_authors`: a name held by this many authors is a
    tutorial's (None: no name is).
    """

    min_downloads: int | None = settings.LOOKALIKE_MIN_DOWNLOADS.default
    top: int | None = settings.LOOKALIKE_TOP.default
    tutorial_authors: int | None = settings.LOOKALIKE_TUTORIAL_AUTHORS.default

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """HUBMINE_LOOKALIKE_MIN_DOWNLOADS (`none` for no floor), HUBMINE_LOOKALIKE_TOP and
        HUBMINE_LOOKALIKE_TUTORIAL_AUTHORS, else the defaults."""
        return cls(
            settings.LOOKALIKE_MIN_DOWNLOADS.read(environ),
            settings.LOOKALIKE_TOP.read(environ),
            settings.LOOKALIKE_TUTORIAL_AUTHORS.read(environ),
        )


def popular_models(snapshot: Snapshot, settings: Settings) -> list[Popular]:
    """Models with at least `settings.min_downloads` downloads, and the `settings.top` most downloaded
    (more than 0 downloads); most downloaded first, ties by id."""
    models = read_table(snapshot.models, ["model_id", "downloads"])
    models = models.filter(pc.greater(pc.fill_null(models.column("downloads"), 0), 0))
    order = pc.sort_indices(models, sort_keys=[("downloads", "descending"), ("model_id", "ascending")])
    ranked = models.take(order)
    # Both rules keep a prefix of the ranking: only it becomes Python objects, not the whole registry.
    above_floor = 0
    if settings.min_downloads is not None:
        above_floor = (
            pc.sum(pc.greater_equal(ranked.column("downloads"), settings.min_downloads)).as_py() or 0
        )
    kept = ranked.slice(0, max(above_floor, settings.top or 0))
    return [
        Popular(Named.of(model_id), downloads)
        for model_id, downloads in zip(
            *(kept.column(c).to_pylist() for c in ("model_id", "downloads")), strict=True
        )
    ]


def name_rule(model: Named, popular: Named, distance: int) -> str:
    """The trick that links two ids the index paired (names folded equal, or one edit apart)."""
    if name_key(model.name) == name_key(popular.name):
        folded_author, popular_author = fold(model.author), fold(popular.author)
        if popular.author and folded_author == popular_author:
            return "author_homoglyph"
        long_enough = min(len(model.author), len(popular.author)) >= MIN_AUTHOR
        if long_enough and osa_distance(folded_author, popular_author, 1) <= 1:
            return "author_typo"
        return "same_name_other_author"
    return "name_typo" if distance else "name_homoglyph"


def name_key(name: str) -> str:
    """A name up to case and separators."""
    return "-".join(tokens(name))


def _normal(line: str) -> str:
    return _SPACES.sub(" ", line).strip().casefold()


def _lines(text: str) -> set[str]:
    """A card's long lines, normalised, without the Trainer template's."""
    found = set()
    for line in text.splitlines()[:COPY_LINES]:
        line = _normal(line)
        if len(line) >= COPY_LINE and not _TEMPLATE_LINE.search(line):
            found.add(line)
    return found


def card_copied(card: str | None, popular_card: str | None) -> bool:
    """`card` repeats at least `COPY_SHARE` of the popular card's long lines (it has `COPY_MIN_LINES`)."""
    if not card or not popular_card:
        return False
    theirs = _lines(popular_card)
    return len(theirs) >= COPY_MIN_LINES and len(theirs & _lines(card)) >= COPY_SHARE * len(theirs)


def own_words(card: str | None, popular_card: str | None) -> str | None:
    """The lines of `card` that the popular card does not have: what the suspect's author wrote."""
    if not card or not popular_card:
        return card
    theirs = {_normal(line) for line in popular_card.splitlines()[:COPY_LINES]}
    kept = [line for line in card.splitlines() if _normal(line) not in theirs]
    return "\n".join(kept)


def names_original(card: str | None, model: Named, popular: Named, by_author: bool = True) -> bool:
    """`model`'s card names the popular model's id, or (`by_author`) its author as a word; the model's
    own id and author are taken out first (an authorless popular id is the model's name, which its
    card names anyway)."""
    if not card:
        return False
    # Taken out as whole words: a short author (`go`) must not cut the popular one (`google`) apart.
    text = _as_word(model.model_id.casefold()).sub(" ", card[:CARD_CHARS].casefold())
    if model.author:
        text = _as_word(model.author).sub(" ", text)
    for word in (popular.model_id.casefold(), popular.author if by_author else ""):
        if len(word) >= 3 and _as_word(word).search(text):
            return True
    return False


def _as_word(word: str) -> re.Pattern[str]:
    """`word` where it is no part of a longer id or name."""
    return re.compile(rf"(?<![\w-]){re.escape(word)}(?![\w-])")


def declared_base(card: str | None) -> str | None:
    """The base model the Trainer's sentence of `card` names."""
    found = finetuned_from(card[:CARD_CHARS]) if card else None
    return found.base_model if found else None


def is_popular_base(base: str, popular: Named) -> bool:
    """`base` (as a card writes it, with or without the author) is `popular`."""
    author, name = split_id(base.strip().casefold())
    return name == popular.name.casefold() and (not author or author == popular.author)


def suspects_words(pair: Pair, facts: Facts, copied: bool) -> str | None:
    """The suspect's card as read for a declaration: of a copy of the popular card, only its own lines."""
    card = facts.cards.get(pair.model.model_id)
    return own_words(card, facts.cards.get(pair.popular.named.model_id)) if copied else card


def exclusions(pair: Pair, facts: Facts, copied: bool, settings: Settings) -> list[str]:
    """Every reason the pair is not a candidate for review, in `EXCLUSIONS` order."""
    model, popular = pair.model, pair.popular.named
    popular_card = facts.cards.get(popular.model_id)
    card = suspects_words(pair, facts, copied)
    bases = facts.bases.get(model.model_id, set())
    found: set[str] = set()
    formats = facts.weight_formats(model.model_id)
    if formats is None:
        found.add("weights_unknown")
    elif not formats:
        found.add("no_weights")
    if tokens(model.name) != tokens(popular.name):
        variant = variant_kind(popular.name, model.name)
        if variant:
            found.add(f"variant_{variant}")
    popular_bases = facts.bases.get(popular.model_id, set())
    if not copied:
        # A copied card's front matter, and the base_model tags made from it, are the popular model's.
        if bases & (popular_bases | {popular.model_id}) or model.model_id in popular_bases:
            found.add("declares_original")
        elif bases:
            found.add("declares_own_base")
    base = declared_base(card)
    if base:
        originals = [popular, *(Named.of(b) for b in sorted(popular_bases))]
        found.add(
            "declares_original" if any(is_popular_base(base, o) for o in originals) else "declares_own_base"
        )
    if names_original(card, model, popular):
        found.add("card_names_original")
    if names_original(popular_card, popular, model, by_author=False):
        found.add("named_by_popular")
    created, popular_created = facts.created.get(model.model_id), facts.created.get(popular.model_id)
    if created is not None and popular_created is not None and created < popular_created:
        found.add("older_than_popular")
    if not popular.author and pair.rule == "same_name_other_author":
        found.add("legacy_name")
    if pair.rule == "same_name_other_author" and not copied:
        found.add("same_name_only")
    shared_by = settings.tutorial_authors
    if shared_by is not None and facts.authors_sharing(model, popular) >= shared_by:
        found.add("tutorial_name")
    return [why for why in EXCLUSIONS if why in found]


@dataclass
class Facts:
    """Cards, declared bases and folded-name authors of the suspects and the popular models they
    look like."""

    cards: dict[str, str] = field(default_factory=dict)
    bases: dict[str, set[str]] = field(default_factory=dict)
    siblings: dict[str, list[str] | None] = field(default_factory=dict)
    created: dict[str, Any] = field(default_factory=dict)
    # Folded authors of each name (`name_key`) of the pairs.
    name_authors: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def authors_sharing(self, model: Named, popular: Named) -> int:
        """Authors holding the suspect's name or the popular one's, whichever more hold."""
        return max(len(self.name_authors[name_key(n.name)]) for n in (model, popular))

    def weight_formats(self, model_id: str) -> list[str] | None:
        """The weight formats of a suspect's files; None when its file list is unknown."""
        files = self.siblings.get(model_id)
        return None if files is None else classify(files).formats


def gather(snapshot: Snapshot, pairs: list[Pair]) -> Facts:
    """What the rules read of the models in `pairs`: one more pass over models.parquet and cards.parquet,
    keeping only those models' rows."""
    suspects = {pair.model.model_id for pair in pairs}
    wanted = suspects | {pair.popular.named.model_id for pair in pairs}
    facts = Facts()
    for pair in pairs:
        popular = pair.popular.named
        facts.name_authors[name_key(popular.name)].add(fold(popular.author))
        # A look-alike author is no learner sharing a course's name.
        if pair.rule not in LOOKALIKE_AUTHOR:
            facts.name_authors[name_key(pair.model.name)].add(fold(pair.model.author))
    columns = ["model_id", "siblings", "created_at"]
    for model_ids, siblings, created in iter_columns(snapshot.models, columns):
        for model_id, files, when in zip(model_ids, siblings, created, strict=True):
            if model_id in wanted:
                facts.created[model_id] = when
            if model_id in suspects:
                facts.siblings[model_id] = files
    for model_ids, readmes in iter_columns(snapshot.cards, ["model_id", "readme"]):
        for model_id, readme in zip(model_ids, readmes, strict=True):
            if model_id in wanted and readme:
                facts.cards[model_id] = readme
    lineage_path = snapshot.finding("lineage")
    lineage = (
        read_table(lineage_path, ["model_id", "base_model"])
        if lineage_path.exists()
        else pa.table({"model_id": pa.array([], pa.string()), "base_model": pa.array([], pa.string())})
    )
    facts.bases = ancestors(lineage, wanted)
    return facts


@dataclass(frozen=True)
class Pair:
    model: Named
    downloads: int | None
    popular: Popular
    distance: int
    rule: str


def pairs_of(snapshot: Snapshot, index: PopularIndex, work: Work) -> list[Pair]:
    """Every (model, popular model of another author with more downloads) pair whose names the index
    pairs."""
    found = []
    for model_ids, downloads in iter_columns(snapshot.models, ["model_id", "downloads"]):
        for model_id, count in zip(model_ids, downloads, strict=True):
            model = Named.of(model_id)
            for number, distance in index.matches(model, work):
                popular = index.popular[number]
                if model.author != popular.named.author and (count or 0) < popular.downloads:
                    rule = name_rule(model, popular.named, distance)
                    found.append(Pair(model, count, popular, distance, rule))
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


def suspect_rows(pairs: list[Pair], facts: Facts, settings: Settings) -> list[dict[str, Any]]:
    """One row per suspect: its pair counted for review, else its most downloaded popular model."""
    by_model: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for pair in pairs:
        model, popular = pair.model, pair.popular.named
        copied = card_copied(facts.cards.get(model.model_id), facts.cards.get(popular.model_id))
        rules = [pair.rule, *(["card_copy"] if copied else [])]
        excluded = exclusions(pair, facts, copied, settings)
        by_model[model.model_id].append(
            {
                "model_id": model.model_id,
                "downloads": pair.downloads,
                "popular_model": popular.model_id,
                "popular_downloads": pair.popular.downloads,
                "kind": rules[0],
                "distance": pair.distance,
                "excluded": excluded[0] if excluded else None,
                "rules": rules,
                "exclusions": excluded,
                "counted": not excluded,
                "weight_formats": facts.weight_formats(model.model_id),
                "declared_base": declared_base(suspects_words(pair, facts, copied)),
                "name_authors": facts.authors_sharing(model, popular),
            }
        )
    rows = []
    for found in by_model.values():
        found.sort(key=lambda r: (not r["counted"], -r["popular_downloads"], r["popular_model"]))
        chosen = found[0]
        chosen["also_like"] = [r["popular_model"] for r in found[1:]]
        rows.append(chosen)
    rows.sort(key=lambda r: (not r["counted"], -r["popular_downloads"], r["popular_model"], r["model_id"]))
    return rows


@dataclass(frozen=True)
class Lookalike(Section):
    """A candidate for review and its evidence."""

    model_id: str
    downloads: int | None
    popular_model: str
    popular_downloads: int
    rules: list[str]
    weight_formats: list[str]
    name_authors: int


@dataclass(frozen=True)
class LookalikesSection(Section):
    """summary.json `lookalikes`: suspects, the candidates for review among them, and why the others
    are not. No headline: the candidates are unreviewed."""

    popular: int
    popular_min_downloads: int | None
    min_downloads: int | None
    top_popular: int | None
    tutorial_authors: int | None
    names_looked_up: int
    distance_checks: int
    suspects: int
    candidates: int
    by_rule: dict[str, int]
    excluded: dict[str, int]
    top: list[Lookalike]


def build(snapshot: Snapshot, settings: Settings | None = None) -> tuple[pa.Table, LookalikesSection, Work]:
    settings = settings or Settings()
    popular = popular_models(snapshot, settings)
    index = PopularIndex.of(popular)
    work = Work()
    pairs = pairs_of(snapshot, index, work)
    rows = suspect_rows(pairs, gather(snapshot, pairs), settings)
    counted = [r for r in rows if r["counted"]]
    section = LookalikesSection(
        popular=len(popular),
        popular_min_downloads=popular[-1].downloads if popular else None,
        min_downloads=settings.min_downloads,
        top_popular=settings.top,
        tutorial_authors=settings.tutorial_authors,
        names_looked_up=work.names,
        distance_checks=work.distance_checks,
        suspects=len(rows),
        candidates=len(counted),
        by_rule={rule: n for rule in RULES if (n := sum(rule in r["rules"] for r in counted))},
        excluded={why: n for why in EXCLUSIONS if (n := sum(why in r["exclusions"] for r in rows))},
        top=[
            Lookalike(
                **{
                    k: r[k]
                    for k in (
                        "model_id",
                        "downloads",
                        "popular_model",
                        "popular_downloads",
                        "rules",
                        "weight_formats",
                        "name_authors",
                    )
                }
            )
            for r in counted[:TOP_CANDIDATES]
        ],
    )
    return table_from_rows("lookalikes", rows), section, work


def run(context: Context) -> LookalikesSection:
    """Write `findings/lookalikes.parquet`; return the counts and the first candidates for review."""
    table, section, _ = build(context.snapshot, Settings.from_env())
    write_finding(context.snapshot, "lookalikes", table)
    return section


MEASURE = Measure(
    name="lookalikes",
    run=run,
    summary_key="lookalikes",
    section=LookalikesSection,
    reads=("models", "cards", "lineage"),
    writes=("lookalikes",),
)
