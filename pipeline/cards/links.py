"""Paper and code references in card text: arXiv ids, GitHub repositories, DOIs.

- arXiv: ids in arxiv.org links (`abs`, `pdf`, `html`, `format`; `export.` too), Hub paper pages
  (`huggingface.co/papers/ID`), `arXiv:ID` (any case, optional space), and arXiv DOIs
  (`10.48550/arXiv.ID`). New-style ids `YYMM.NNNN(N)`, old-style `archive(.SC)/YYMMNNN`; the
  version suffix (`v2`) is dropped so versions of one paper are one id. Bare numbers such as
  `2106.09685` without one of these markers are not taken: too many version strings look alike.
- GitHub: `owner/repo` from github.com, www.github.com, raw.githubusercontent.com and
  `git@github.com:` links, lower-cased (GitHub names are case-insensitive), `.git` dropped.
  Links to GitHub's own pages (`github.com/features/...`, `/orgs/`, `/sponsors/`, ...) and to a
  user alone are skipped.
- DOI: `10.NNNN/suffix` anywhere (doi.org links included), lower-cased (DOIs are
  case-insensitive), trailing punctuation and unbalanced closing brackets dropped.

Each list is sorted and free of duplicates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Matched in lower-cased text, each pattern starting with a literal so the scan can skip ahead
# (a case-insensitive alternation is several times slower on long cards).
_ID = r"(\d{4}\.\d{4,5}|[a-z][a-z\-]+(?:\.[a-z]{2})?/\d{7})(?:v\d+)?(?!\d)"
_ARXIV = [
    re.compile(r"arxiv(?:\.org/(?:abs|pdf|html|format)/|:\s?)" + _ID),
    re.compile(r"huggingface\.co/papers/" + _ID),
    re.compile(r"10\.48550/arxiv\." + _ID),
]
# Starts with a literal so the regex engine can skip ahead; the host before it is checked in code.
_GITHUB = re.compile(r"github(?:usercontent)?\.com[/:]([A-Za-z0-9][A-Za-z0-9-]{0,38})/([A-Za-z0-9_.-]+)")
_GITHUB_HOSTS = ("", "www.", "raw.")
_GITHUB_PAGES = frozenset(
    {
        *("about", "apps", "collections", "customer-stories", "enterprise", "events", "explore"),
        *("features", "issues", "join", "login", "marketplace", "new", "notifications", "orgs"),
        *("organizations", "pricing", "pulls", "repos", "search", "security", "settings", "site"),
        *("sponsors", "topics", "trending", "users"),
    }
)
_DOI = re.compile(r"10\.\d{4,9}/[^\s\"'<>`|]+")
_TRAILING = ".,;:!?*_~"
_PAIRS = {")": "(", "]": "[", "}": "{"}


@dataclass(frozen=True, slots=True)
class Links:
    arxiv_ids: list[str]
    github_repos: list[str]
    dois: list[str]


def _trim_doi(doi: str) -> str:
    # A DOI may contain brackets, e.g. 10.1016/S0140-6736(20)30183-5: drop only unbalanced closers.
    # Counted once, so that a long run of closers is one pass.
    opened = {closer: doi.count(opener) for closer, opener in _PAIRS.items()}
    closed = {closer: doi.count(closer) for closer in _PAIRS}
    end = len(doi)
    while end:
        last = doi[end - 1]
        if last in _PAIRS and closed[last] > opened[last]:
            closed[last] -= 1
        elif last not in _TRAILING:
            break
        end -= 1
    return doi[:end]


def _arxiv_id(lowered: str) -> str:
    # Old-style ids write the subject class upper-case: math.GT/0309136.
    archive, dot, rest = lowered.partition(".")
    if "/" in rest:
        return f"{archive}{dot}{rest[:2].upper()}{rest[2:]}"
    return lowered


def _host_prefix(text: str, start: int) -> str:
    """The host labels before `github` at `start` ("www." in www.github.com), up to a separator."""
    begin = start
    while begin > 0 and (text[begin - 1].isalnum() or text[begin - 1] in ".-@"):
        begin -= 1
    prefix = text[begin:start]
    return prefix.removeprefix("git@")


def _repo(owner: str, name: str) -> str | None:
    name = name.rstrip(".")
    if name.lower().endswith(".git"):
        name = name[:-4]
    if not name or owner.lower() in _GITHUB_PAGES:
        return None
    return f"{owner}/{name}".lower()


def find_links(text: str) -> Links:
    lowered = text.lower()
    arxiv: set[str] = set()
    if "arxiv" in lowered or "/papers/" in lowered:  # most cards cite no paper: skip three scans
        arxiv = {_arxiv_id(match.group(1)) for pattern in _ARXIV for match in pattern.finditer(lowered)}
    repos = {
        repo
        for match in _GITHUB.finditer(text)
        if _host_prefix(text, match.start()) in _GITHUB_HOSTS and (repo := _repo(*match.groups()))
    }
    dois = {
        _trim_doi(match.group(0)).lower()
        for match in _DOI.finditer(text)
        if match.start() == 0 or not text[match.start() - 1].isalnum()
    }
    return Links(arxiv_ids=sorted(arxiv), github_repos=sorted(repos), dois=sorted(dois))
