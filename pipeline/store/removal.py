"""Deletion that never follows a link out of the data directory.

Everything hubmine deletes lies under a folder it owns (the data directory, a snapshot). A path is
removed only when it lies under that root lexically and no folder between the root and the path
is a symbolic link: otherwise the deletion would land wherever the link points. A link that is
itself the path is removed as a link; its target is left alone. `shutil.rmtree` already removes
links met inside a tree without following them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from pipeline.errors import StorageError


def _first_link(path: Path, root: Path, *, with_path: bool) -> Path | None:
    """The first folder from `root` down to `path` (`path` included when `with_path`) that is a link."""
    relative = path.relative_to(root)
    parts = relative.parts if with_path else relative.parts[:-1]
    current = root
    for part in parts:
        current = current / part
        if current.is_symlink():
            return current
    return None


def _checked(path: Path, root: Path, *, with_path: bool) -> Path:
    path, root = Path(os.path.abspath(path)), Path(os.path.abspath(root))
    if path == root or not path.is_relative_to(root):
        raise StorageError(f"refusing to delete {path}: it is not inside {root}; hubmine deletes only there")
    link = _first_link(path, root, with_path=with_path)
    if link is not None:
        raise StorageError(
            f"refusing to delete under {link}: it is a link, and hubmine deletes only inside {root}; "
            "replace the link with a folder and run again"
        )
    return path


def real_folder(path: Path, root: Path) -> Path:
    """`path`, once checked to be under `root` through folders that are no links, itself included:
    what is moved into it and deleted there stays in the data directory."""
    return _checked(path, root, with_path=True)


def remove_path(path: Path, root: Path, *, ignore_errors: bool = False) -> None:
    """Delete the file, link or folder tree `path` under `root` (nothing when it is absent).

    Refused with a `StorageError` when `path` is not under `root` or is reached through a link.
    `ignore_errors` leaves in place what cannot be deleted (as `shutil.rmtree`), never what is refused.
    """
    path = _checked(path, root, with_path=False)
    try:
        if path.is_symlink() or (path.exists() and not path.is_dir()):
            path.unlink(missing_ok=True)
        elif path.is_dir():
            shutil.rmtree(path, ignore_errors=ignore_errors)
    except OSError:
        if not ignore_errors:
            raise
