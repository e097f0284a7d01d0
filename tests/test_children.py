"""Child processes run under a memory bound: past it an allocation fails, and the child ends or says so."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor

import pytest

from pipeline.children import limit_own_memory, memory_limited
from pipeline.settings import MIB

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS is enforced on Linux")
ALLOCATE = "bytearray(512 * 1024 * 1024)"


def test_a_command_past_its_memory_bound_fails_with_a_memory_error() -> None:
    bounded = subprocess.run(
        memory_limited([sys.executable, "-c", ALLOCATE], 256 * MIB), capture_output=True, text=True
    )
    assert bounded.returncode != 0 and "MemoryError" in bounded.stderr
    roomy = subprocess.run(memory_limited([sys.executable, "-c", ALLOCATE], 2048 * MIB), capture_output=True)
    assert roomy.returncode == 0  # the bound, not the allocation, stopped the first


def _allocate() -> str:
    try:
        bytearray(512 * MIB)
    except MemoryError:
        return "MemoryError"
    return "allocated"


def test_a_pool_worker_limits_its_own_memory() -> None:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        1, mp_context=context, initializer=limit_own_memory, initargs=(256 * MIB,)
    ) as pool:
        assert pool.submit(_allocate).result() == "MemoryError"
