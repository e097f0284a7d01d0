"""One writer per data directory: a crawl or an analysis holds its lock file while it runs.

The lock is an `flock` on the file, which the kernel releases when the process ends however it ends,
so a lock file left by a killed run is simply taken over. The holder writes its PID, its command and
its start time into the file, for the message the next run gives, and removes the file when it ends.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

from pipeline.errors import BusyError
from pipeline.store.files import storage_errors
from pipeline.store.layout import DataDir

# What the message says the holder is doing to the data directory, by command.
DOING = {
    "crawl": "crawled",
    "analyze": "analyzed",
    "evaluate": "evaluated",
    "risks": "scanned",
    "history": "updated with model histories",
    "diff": "compared",
    "trends": "measured",
    "import": "imported into",
    "publish": "published",
    "prune": "pruned",
}


@contextmanager
def holding_lock(data: DataDir, command: str) -> Iterator[None]:
    """Hold the data directory's lock for `command`, or raise `BusyError` naming the run that holds it."""
    fd = _lock(data)
    try:
        started = datetime.now(timezone.utc).isoformat(timespec="seconds")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {command} {started}\n".encode(), 0)
        yield
    finally:
        # Unlinked while still held: a run that opened the file meanwhile sees it gone and tries again.
        data.lock.unlink(missing_ok=True)
        os.close(fd)


def _lock(data: DataDir) -> int:
    """A descriptor of the lock file, flocked; the file is the one at its path, not one unlinked since."""
    path = data.lock
    while True:
        with storage_errors(path):
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 4096, 0)
            os.close(fd)
            raise BusyError(_busy_message(data, holder)) from None
        try:
            current = os.stat(path).st_ino
        except FileNotFoundError:
            current = None
        if current == os.fstat(fd).st_ino:
            return fd
        os.close(fd)


def _busy_message(data: DataDir, holder: bytes) -> str:
    fields = holder.decode("utf-8", "replace").split()
    pid, command, since = [*fields, "?", "?", "?"][:3]
    doing = DOING.get(command, "used")
    return f"{data.root} is being {doing} by PID {pid} since {since}; wait for it to finish or stop that run"
