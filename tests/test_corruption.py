"""Every command on a data directory with a damaged file: it succeeds when it can do without the file
or write it again, else exits 1 with one line naming the file; never a traceback."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from crawl_helpers import crawl
from typer.testing import CliRunner

from hubsim import Faults, HubSimulator, Registry
from hubsim.faults import FaultInjector
from pipeline.cli import app
from pipeline.errors import HubmineError
from pipeline.store import damage
from pipeline.store.layout import DataDir, Snapshot

# About 2 s per damaged file: four commands, two of them crawls.
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("quick_retries")]

runner = CliRunner()

DAMAGE: dict[str, Callable[[bytes], bytes]] = {
    "truncated": lambda data: data[: len(data) // 2],
    "emptied": lambda data: b"",
    "garbage": lambda data: bytes((i * 131 + 7) % 256 for i in range(max(len(data), 64))),
}
# s1 complete and analyzed, s2 partial (a crawl the Hub answered only with errors): which file of which.
FILES: dict[str, Callable[[DataDir], Path]] = {
    "manifest": lambda data: data.snapshot("s1").manifest,
    "state": lambda data: data.snapshot("s2").state,
    "models": lambda data: data.snapshot("s1").models,
    "cards": lambda data: data.snapshot("s1").cards,
    "finding": lambda data: data.snapshot("s1").finding("parsed_cards"),
    "breakdowns": lambda data: data.snapshot("s1").finding("breakdowns"),
    "summary": lambda data: data.snapshot("s1").summary,
}
# Reading commands first, on s1 as damaged; `analyze` writes the findings again, the crawls add snapshots.
COMMANDS = (["report", "--out", "{out}"], ["analyze"], ["crawl", "--resume"], ["crawl", "--limit", "30"])


@pytest.fixture(scope="module")
def simulator() -> HubSimulator:
    with HubSimulator(Registry.synthetic(n=50, seed=61)) as sim:
        yield sim


@pytest.fixture(scope="module")
def template(simulator: HubSimulator, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("template")
    crawl(simulator.url, root, snapshot="s1")
    # s2: a crawl the Hub answered only with errors stays partial, resumable from the same Hub.
    simulator.faults = FaultInjector(Faults(rate=1.0, kinds=("5xx",), max_in_a_row=99))
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("HUBMINE_BACKOFF_S", "0")
            patch.setenv("HUBMINE_MAX_ATTEMPTS", "2")
            with pytest.raises(HubmineError):
                crawl(simulator.url, root, snapshot="s2")
    finally:
        simulator.faults = None
    assert runner.invoke(app, ["analyze", "--data-dir", str(root)]).exit_code == 0
    assert Snapshot(root / "snapshots" / "s2").state.exists()
    return root


@pytest.mark.parametrize("how", DAMAGE)
@pytest.mark.parametrize("name", FILES)
def test_damaged_file_is_one_line_or_done_without(
    name: str,
    how: str,
    template: Path,
    simulator: HubSimulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = tmp_path / "data"
    shutil.copytree(template, root)
    path = FILES[name](DataDir(root))
    path.write_bytes(DAMAGE[how](path.read_bytes()))
    monkeypatch.setenv("HF_ENDPOINT", simulator.url)
    for command in COMMANDS:
        args = [arg.format(out=tmp_path / "report") for arg in command]
        monkeypatch.setattr(damage, "_warned", set())  # each command warns as a process of its own would
        result = runner.invoke(app, [*args, "--data-dir", str(root)])
        where = f"{' '.join(command)} with {name} {how}: {result.output}"
        assert result.exit_code in (0, 1, 3), where
        assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), where
        errors = [line for line in result.stderr.splitlines() if line.startswith("hubmine: error:")]
        assert len(errors) == result.exit_code % 2, where
        if result.exit_code == 1:
            # The error, or the warning that explains it (a snapshot skipped), names the file.
            assert str(path) in result.stderr, where
