"""Child processes with a memory bound: a hostile server or file must not grow one without end.

The bound is the address-space limit (`RLIMIT_AS`). A program run as a command gets it from a POSIX
shell's `ulimit -v` before it starts, and passes it on to everything it starts (git's
`git-remote-http`, `index-pack`); `preexec_fn` is not used, as it may deadlock a child forked from a
process with threads. A Python worker of a process pool sets its own (`limit_own_memory`, its
initializer). Where there is no such limit (Windows; macOS does not enforce it) nothing is set, and
the child is bounded by its deadline and its input caps only. A command started in a session of its
own is stopped with everything it started (`kill_group`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess

try:
    import resource
except ImportError:  # Windows
    resource = None  # type: ignore[assignment]


def memory_limited(args: list[str], max_bytes: int) -> list[str]:
    """`args` run with at most `max_bytes` of address space, where the system enforces such a limit."""
    shell = shutil.which("sh")
    if os.name != "posix" or shell is None:
        return args
    # Past the limit an allocation fails and the program stops with its own error (git: "Out of memory").
    return [shell, "-c", f'ulimit -v {max(1, max_bytes // 1024)} 2>/dev/null; exec "$@"', args[0], *args]


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill `proc` and every process it started, when it was started with `start_new_session=True`:
    a git killed alone leaves its `index-pack` writing into a folder that is being removed."""
    if hasattr(os, "killpg"):
        with contextlib.suppress(ProcessLookupError):  # the group has ended already
            os.killpg(proc.pid, signal.SIGKILL)
    else:
        proc.kill()


def limit_own_memory(max_bytes: int) -> None:
    """Cap this process's address space at `max_bytes` (never above a hard limit already set)."""
    if resource is None:
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(
        resource.RLIMIT_AS, (max_bytes if hard == resource.RLIM_INFINITY else min(max_bytes, hard), hard)
    )
