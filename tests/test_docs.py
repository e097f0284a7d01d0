"""The documentation stays in reach: a short README listing every command, and links that resolve (the
settings are checked against docs/configuration.md in test_settings.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import typer.main
from markdown_it import MarkdownIt
from markdown_it.token import Token
from typer.core import TyperGroup

from pipeline.cli import app

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
README_MAX_CHARS = 10_000
EXTERNAL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def doc_pages() -> list[Path]:
    return [README, *sorted((ROOT / "docs").rglob("*.md"))]


def _link_targets(tokens: list[Token]) -> Iterator[str]:
    for token in tokens:
        if token.type == "link_open":
            yield str(token.attrs.get("href", ""))
        elif token.type == "image":
            yield str(token.attrs.get("src", ""))
        if token.children:
            yield from _link_targets(token.children)


def relative_links(page: Path) -> list[str]:
    """Every link and image target of `page` that names a file of the repository (no URL, no bare anchor)."""
    tokens = MarkdownIt("commonmark").enable("table").parse(page.read_text(encoding="utf-8"))
    return [
        target
        for target in _link_targets(tokens)
        if target and not target.startswith("#") and not EXTERNAL.match(target)
    ]


def test_readme_fits_in_ten_thousand_characters() -> None:
    length = len(README.read_text(encoding="utf-8"))
    assert length <= README_MAX_CHARS, f"README.md has {length:,} characters; move detail under docs/"


def test_every_relative_link_points_to_a_file() -> None:
    broken = [
        f"{page.relative_to(ROOT)}: {target}"
        for page in doc_pages()
        for target in relative_links(page)
        if not (page.parent / target.split("#", 1)[0]).exists()
    ]
    assert not broken, "links to missing files:\n" + "\n".join(broken)


def test_the_link_check_sees_links_images_and_tables(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "[a](a.md) ![b](img/b.png) [web](https://example.org) [top](#top)\n\n"
        "| x |\n|---|\n| [c](../c.md#part) |\n\n`[not](code.md)`\n",
        encoding="utf-8",
    )
    assert relative_links(page) == ["a.md", "img/b.png", "../c.md#part"]


def test_the_readme_table_lists_every_command() -> None:
    listed = set(re.findall(r"^\| `hubmine ([a-z]+)", README.read_text(encoding="utf-8"), re.MULTILINE))
    group = typer.main.get_command(app)
    assert isinstance(group, TyperGroup)
    commands = set(group.commands)
    assert commands <= listed, f"commands missing from the README's table: {sorted(commands - listed)}"
