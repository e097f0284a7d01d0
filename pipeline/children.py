"""Child processes with a memory bound: a hostile server or file must not grow one without end.

The bound is the address-space limit (`RLIMIT_AS`), set in the child before it runs the program, and
inherited by everything that program starts (git's `git-remote-http`, `index-pack`). It is set by a
POSIX shell's `ulimit -v` rather than by `preexec_fn`, which may deadlock a child forked from a
process with threads. Where there is no such limit (Windows; macOS does not enforce it) the command
runs as it is, bounded by its deadline only.
"""

from __future__ import annotations

import os
import shutil

MIB = 1024 * 1024


def memory_limited(args: list[str], max_bytes: int) -> list[str]:
    """`args` run with at most `max_bytes` of address space, where the system enforces such a limit."""
    shell = shutil.which("sh")
    if os.name != "posix" or shell is None:
        return args
    # Past the limit an allocation fails and the program stops with its own error (git: "Out of memory").
    return [shell, "-c", f'ulimit -v {max(1, max_bytes // 1024)} 2>/dev/null; exec "$@"', args[0], *args]
