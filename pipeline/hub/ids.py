"""Names from the Hub that become URL paths (model ids, namespaces, revisions), checked before they do.

A listing is data from outside: an id like `a/b/../../c` would, once `requests` normalises the dot
segments, ask for another repository and file its answer under the wrong model. Only names the Hub
itself allows (huggingface_hub's `validate_repo_id`: one or two parts of ASCII letters, digits,
`-`, `_` and `.`) become paths; anything else is refused before a request is made.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from pipeline.errors import HubmineError

_NAME = re.compile(r"[A-Za-z0-9._-]+")
# The Hub caps new names at 96 characters; older ones run to about 130, so allow some room.
MAX_REPO_ID_LENGTH = 256
MAX_NEW_NAME_LENGTH = 96


class InvalidHubName(HubmineError):
    """A name from the Hub that is not a valid repository id, namespace or revision."""


def _path(text: str, what: str, max_parts: int) -> str:
    parts = text.split("/")
    # A part of dots alone ("." or "..") walks up the path once the URL is normalised.
    if (
        len(parts) > max_parts
        or len(text) > MAX_REPO_ID_LENGTH
        or not all(_NAME.fullmatch(part) and part.strip(".") for part in parts)
    ):
        shape = "one or two parts" if max_parts == 2 else "one part"
        raise InvalidHubName(
            f"{what} {text[:120]!r} is not a Hub name ({shape} of letters, digits, '-', '_', '.', "
            f"not dots alone, at most {MAX_REPO_ID_LENGTH} characters); not requested"
        )
    return "/".join(quote(part, safe="") for part in parts)


def repo_path(model_id: str) -> str:
    """`model_id` as URL path segments (`namespace/name` or `name`); InvalidHubName if it is no Hub id."""
    return _path(model_id, "model id", max_parts=2)


def new_repo_path(name: str) -> str:
    """A repository id hubmine creates, as URL path segments: a Hub id (`repo_path`) that also meets
    the Hub's rules for new names (huggingface_hub's `validate_repo_id`): each part at most 96
    characters, not starting or ending with `-` or `.`, without `--` or `..`. So an option given
    where a name belongs (`--repo --help`) is refused, not created."""
    path = repo_path(name)
    for part in name.split("/"):
        if (
            len(part) > MAX_NEW_NAME_LENGTH
            or part[0] in "-."
            or part[-1] in "-."
            or "--" in part
            or ".." in part
        ):
            raise InvalidHubName(
                f"{name[:120]!r} is not a name the Hub gives a new repository (at most {MAX_NEW_NAME_LENGTH} "
                "characters a part, no '-' or '.' first or last, no '--' or '..'); pass --repo namespace/name"
            )
    return path


def is_repo_id(name: str) -> bool:
    """Whether `name` is a Hub repository id (what `repo_path` accepts)."""
    try:
        repo_path(name)
    except InvalidHubName:
        return False
    return True


def namespace_segment(name: str) -> str:
    """A user or organization name as one URL path segment; InvalidHubName if it is no Hub name."""
    return _path(name, "namespace", max_parts=1)


def revision_segment(revision: str) -> str:
    """A revision (the listed commit sha) as one URL path segment; InvalidHubName if it is no Hub name."""
    return _path(revision, "revision", max_parts=1)
