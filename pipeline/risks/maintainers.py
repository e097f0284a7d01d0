"""`--maintainers`: who commits to a repository, and how many models depend on it.

The Hub's commits API (`/api/models/{id}/commits/{sha}`, pages of `limit` commits, `p` counting from 0)
lists the history at the snapshot's sha; each commit credits each of its authors. From the counts come
the share of the most active author and the bus factor: the fewest authors whose commits, most first,
cover half the history. Downstream models are those that declare the model as their base in
`findings/lineage.parquet`, directly or through other models. A repository kept by one person that
many models build on is the single point of failure the step looks for.
"""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlencode

from pipeline import settings
from pipeline.errors import HubResponseError
from pipeline.hub.caps import BodyCap
from pipeline.hub.client import BadBody, HubClient, Response
from pipeline.hub.ids import InvalidHubName, repo_path, revision_segment
from pipeline.risks.findings import Row, measure
from pipeline.risks.registry import RiskContext, RiskStep, Target
from pipeline.store.layout import Snapshot
from pipeline.store.tables import read_table

TABLE = "maintainers"
PAGE = 100
# One author and at least this many downstream models: a single owner others depend on.
DEPENDENTS_THRESHOLD = 5


def bus_factor(counts: Counter[str], commits: int) -> int:
    """The fewest authors whose commits, most first, reach half of `commits` (0 with no commits)."""
    covered = 0
    for k, (_, n) in enumerate(counts.most_common(), start=1):
        covered += n
        if 2 * covered >= commits:
            return k
    return len(counts)


def children_of(snapshot: Snapshot) -> dict[str, list[str]]:
    """Base model -> the models declaring it as base, from the snapshot's lineage (empty without it)."""
    path = snapshot.finding("lineage")
    if not path.is_file():
        return {}
    edges = read_table(path, ["model_id", "base_model"])
    children: dict[str, list[str]] = defaultdict(list)
    for child, base in zip(*(edges.column(c).to_pylist() for c in ("model_id", "base_model")), strict=True):
        children[base].append(child)
    return children


def downstream(children: dict[str, list[str]], model_id: str) -> int:
    """Models that reach `model_id` through base-model edges (each counted once, cycles ignored)."""
    seen = {model_id}
    queue = deque([model_id])
    while queue:
        for child in children.get(queue.popleft(), ()):
            if child not in seen:
                seen.add(child)
                queue.append(child)
    return len(seen) - 1


def _is_list(response: Response) -> None:
    if not isinstance(response.json, list):
        raise BadBody(f"a commits page that is not a JSON list from {response.url}")


@dataclass(frozen=True)
class CommitPage:
    """One page of a commits listing, newest first; `last` when no page follows it; `total`: the commits
    the listing holds, as its `X-Total-Count` header says (None without one)."""

    commits: list[Row]
    last: bool
    total: int | None = None


def commit_pages(
    client: HubClient, model_id: str, revision: str, cap: BodyCap, max_pages: int
) -> Iterator[CommitPage]:
    """The pages of the commits listed at `revision`, at most `max_pages`, asked one at a time as the
    caller reads them (stop reading to stop asking); HubResponseError when a page is refused."""
    url = f"{client.endpoint}/api/models/{repo_path(model_id)}/commits/{revision_segment(revision)}"
    seen = 0
    for page in range(max_pages):
        response = client.get(
            f"{url}?{urlencode({'p': page, 'limit': PAGE})}", bucket="api", cap=cap, check=_is_list
        )
        if response.status != 200:
            raise HubResponseError(f"HTTP {response.status} on the commits of {model_id}", response.status)
        items = [item for item in response.json if isinstance(item, dict)]
        seen += len(items)
        total = response.headers.get("X-Total-Count", "")
        count = int(total) if total.isascii() and total.isdigit() and len(total) <= 18 else None
        last = len(response.json) < PAGE or (count is not None and seen >= count)
        yield CommitPage(items, last, count)
        if last:
            return


def history(client: HubClient, target: Target, cap: BodyCap, max_pages: int) -> tuple[list[Row], bool, int]:
    """The commits listed at the target's sha (at most `max_pages` pages), whether more were left, pages
    asked; HubResponseError when a page is refused."""
    commits: list[Row] = []
    pages = 0
    truncated = True
    for page in commit_pages(client, target.model_id, target.sha or "main", cap, max_pages):
        commits.extend(page.commits)
        pages += 1
        truncated = not page.last
    return commits, truncated, pages


def authors_of(commit: Row) -> list[str]:
    """The Hub user names of a commit's authors; a name longer than any Hub name is dropped."""
    names = []
    authors = commit.get("authors")
    for author in authors if isinstance(authors, list) else ():
        name = author.get("user") if isinstance(author, dict) else None
        if isinstance(name, str) and 0 < len(name) <= MAX_AUTHOR_NAME:
            names.append(name)
    return names


def measure_one(
    context: RiskContext, target: Target, children: dict[str, list[str]], cap: BodyCap, max_pages: int
) -> Row:
    row: Row = {"model_id": target.model_id, "sha": target.sha}
    try:
        commits, truncated, pages = history(context.client, target, cap, max_pages)
    except (InvalidHubName, HubResponseError) as exc:
        return {**row, "error": str(exc)}
    counts = Counter(name for commit in commits for name in dict.fromkeys(authors_of(commit)))
    dependents = downstream(children, target.model_id)
    return {
        **row,
        "commits": len(commits),
        "truncated": truncated,
        "authors": [name for name, _ in counts.most_common()],
        "n_authors": len(counts),
        "top_author_share": counts.most_common(1)[0][1] / len(commits) if counts else None,
        "bus_factor": bus_factor(counts, len(commits)),
        "downstream_models": dependents,
        "single_owner_with_dependents": len(counts) == 1 and dependents >= DEPENDENTS_THRESHOLD,
        "requests": pages,
    }


MAX_AUTHOR_NAME = 256


def commits_page_cap() -> BodyCap:
    """The cap on one page of the commits API, for every reader of it."""
    return BodyCap.of("commits page", settings.MAX_COMMITS_PAGE_BYTES)


def run(context: RiskContext) -> str:
    cap = commits_page_cap()
    max_pages = settings.RISKS_MAX_COMMIT_PAGES.read()
    children = children_of(context.snapshot)
    rows, reused = measure(
        context,
        TABLE,
        lambda target: [measure_one(context, target, children, cap, max_pages)],
        unit="repo",
    )
    read = [row for row in rows if row.get("error") is None]
    single = sum(1 for row in read if row["n_authors"] == 1)
    flagged = sum(1 for row in read if row["single_owner_with_dependents"])
    return (
        f"maintainers: {len(read)} of {len(rows)} histories listed, {single} with one author, "
        f"{flagged} of them with {DEPENDENTS_THRESHOLD}+ downstream models, {reused} reused, "
        f"{len(rows) - len(read)} errors"
    )


STEP = RiskStep(
    flag="maintainers",
    help="List each model's commit authors (bus factor) and count the models built on it.",
    table=TABLE,
    run=run,
)
