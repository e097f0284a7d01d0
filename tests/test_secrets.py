"""The Hub token is sent to the Hub and never written: not in tables, archives, manifests or reports.

Files are searched as a reader would see them, decompressed: a token inside a zstd-compressed Parquet
page or a gzip archive is invisible to a search of the raw bytes.
"""

from __future__ import annotations

import gzip
import random
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from hubsim import HubSimulator, Registry
from pipeline.cli import app

TOKEN = "hf_secretTOKEN1234567890"
# Manifests, crawl state, findings summaries and reports: read as text, as a person opening them would.
TEXT_SUFFIXES = {".json", ".jsonl", ".md", ".html", ".txt", ".csv", ".svg"}


def _strings(value: Any) -> Iterator[str | bytes]:
    """Every string or bytes inside a Parquet cell, through lists, structs and maps."""
    if isinstance(value, (str, bytes)):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


def readable(path: Path) -> Iterator[str | bytes]:
    """What can be read out of `path`: its raw bytes, then its decompressed or decoded content."""
    data = path.read_bytes()
    yield data
    if path.suffix == ".parquet":
        yield from _strings(pq.read_metadata(path).metadata or {})
        for column in pq.read_table(path).columns:
            yield from _strings(column.to_pylist())
    elif path.suffix == ".gz":
        yield gzip.decompress(data)
    elif path.suffix in TEXT_SUFFIXES:
        yield data.decode("utf-8", errors="replace")


def places_holding(secret: str, *roots: Path) -> list[str]:
    """The files under `roots` from which `secret` can be read."""
    needles: dict[type, str | bytes] = {str: secret, bytes: secret.encode()}
    return [
        str(path)
        for root in roots
        for path in sorted(root.rglob("*"))
        if path.is_file() and any(needles[type(text)] in text for text in readable(path))
    ]


def test_the_search_finds_a_planted_token(tmp_path: Path) -> None:
    # In README-sized text zstd entropy-codes the token's bytes, and without column statistics (which
    # keep plain minima and maxima) the raw files do not show it.
    prose = "".join(random.Random(0).choices(string.ascii_lowercase + " ", k=4000))
    tables = {
        "cell.parquet": {"model_id": ["a", "b"], "readme": [prose, f"{prose[:2000]}{TOKEN}{prose[2000:]}"]},
        "list.parquet": {"model_id": ["a"], "tags": [[prose, f"token:{TOKEN}"]]},
        "clean.parquet": {"readme": [prose]},
    }
    for name, columns in tables.items():
        pq.write_table(pa.table(columns), tmp_path / name, compression="zstd", write_statistics=False)
    (tmp_path / "archive.jsonl.gz").write_bytes(gzip.compress(f'{{"auth": "Bearer {TOKEN}"}}\n'.encode()))
    assert not any(TOKEN.encode() in path.read_bytes() for path in tmp_path.iterdir())
    assert places_holding(TOKEN, tmp_path) == [
        str(tmp_path / name) for name in ("archive.jsonl.gz", "cell.parquet", "list.parquet")
    ]


@pytest.mark.slow
def test_the_token_is_never_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    registry = Registry.synthetic(n=300, seed=43)
    namespaces = sorted({m.split("/")[0] for m in registry.ids() if "/" in m})
    registry.set_account(namespaces[0], "org", verified=True)
    registry.set_account(namespaces[1], "user")
    gated = next(m for i, m in enumerate(registry.ids()) if registry.has_readme(i))
    registry.set_gated(gated, True)  # its card is read with the token
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.setenv("HUBMINE_BACKOFF_S", "0.01")
    runner = CliRunner()
    with HubSimulator(registry, valid_tokens={TOKEN}, granted_tokens={TOKEN}) as sim:
        monkeypatch.setenv("HF_ENDPOINT", sim.url)
        crawled = runner.invoke(
            app, ["crawl", "--data-dir", "data", "--snapshot", "s", "--cards", "--authors"]
        )
        asked = sim.counters
    analyzed = runner.invoke(app, ["analyze", "--data-dir", "data"])
    reported = runner.invoke(app, ["report", "--data-dir", "data", "--out", "report"])
    for result in (crawled, analyzed, reported):
        assert result.exit_code == 0, result.output
        assert TOKEN not in result.output
    # The crawl did use the token: a gated card, author overviews and cards were all asked for.
    assert asked["resolve"] > 0 and asked["overview"] == len(namespaces)
    assert asked[("resolve", 200)] == asked["resolve"]  # the gated card too: the token was sent
    assert (tmp_path / "report" / "report.html").exists()
    assert places_holding(TOKEN, tmp_path / "data", tmp_path / "report") == []
