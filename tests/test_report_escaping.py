"""Everything from the Hub is data in every output: Markdown that renders as the text itself, HTML
with no tag from a model, figures whose labels are never math."""

from __future__ import annotations

import html
import io
import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from matplotlib.text import Text
from test_report import FIGURES, PNG_SIGNATURE, WITHOUT_RUNS

from hubsim import HubSimulator, Registry
from pipeline.analyze import run_analyze
from pipeline.crawl import CrawlParams, run_crawl
from pipeline.report import run_report
from pipeline.report.figures import _figure
from pipeline.report.render import Heading, Para, Table, markdown_paragraph, markdown_text, to_markdown

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
FRACTION = "$\\frac{a}{b}$"
# Not valid math text: parsed as math, it stops the drawing.
BAD_MATH = "$\\nosuchsymbol$"
HOSTILE_STRINGS = [
    SCRIPT,
    IMG,
    FRACTION,
    BAD_MATH,
    "$x$",
    "$$ y $$",
    "# heading",
    "- item",
    "+ item",
    "1. item",
    "12) item",
    "> quote",
    "---",
    "***",
    "*a* _b_ `c` ~~d~~ [e](http://x) ![f](y) a|b",
    "\\* \\\\ \\",
    "&amp; &lt;b&gt; &#36;",
    "<http://autolink>",
    "<!-- comment -->",
    "[ref]: http://x",
    "line\n# head\n\n    code\r\n| a | b |",
    "    indented",
]
MARKDOWN = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def _as_html_text(text: str) -> str:
    """`text` as a Markdown renderer writes plain text: whitespace runs as one space, HTML escaped."""
    return html.escape(" ".join(text.split()), quote=False).replace('"', "&quot;")


@pytest.mark.parametrize("text", HOSTILE_STRINGS)
def test_escaped_text_renders_as_itself(text: str) -> None:
    assert MARKDOWN.render(markdown_paragraph(text)) == f"<p>{_as_html_text(text)}</p>\n"
    assert MARKDOWN.render(f"## {markdown_text(text)}") == f"<h2>{_as_html_text(text)}</h2>\n"


def test_escaped_cells_stay_in_their_column() -> None:
    rendered = MARKDOWN.render(
        to_markdown([Table(["name", "value"], [[text, "1"] for text in HOSTILE_STRINGS])])
    )
    cells = re.findall(r"<td>(.*?)</td>", rendered)
    assert cells[0::2] == [_as_html_text(text) for text in HOSTILE_STRINGS]
    assert cells[1::2] == ["1"] * len(HOSTILE_STRINGS)


def test_blocks_are_the_only_markup() -> None:
    blocks = [Heading(2, "*not emphasis*"), Para("1. not a list, [not a link](x)"), Table(["a"], [["83.3%"]])]
    assert to_markdown(blocks) == (
        "## \\*not emphasis\\*\n\n1\\. not a list, \\[not a link\\](x)\n\n| a |\n|---|\n| 83.3% |\n"
    )


def test_figure_labels_are_never_math() -> None:
    figure = _figure(4, 3)
    axes = figure.add_subplot()
    # Category labels: matplotlib makes their tick labels only when the figure is drawn.
    axes.barh([BAD_MATH, FRACTION, "$x$"], [1, 2, 3])
    axes.set_title(BAD_MATH)
    buffer = io.BytesIO()
    figure.canvas.print_figure(buffer, format="png", bbox_inches="tight")  # as a notebook displays it
    assert buffer.getvalue().startswith(PNG_SIGNATURE)
    assert not any(text.get_parse_math() for text in figure.findobj(Text))
    assert [label.get_text() for label in axes.get_yticklabels()] == [BAD_MATH, FRACTION, "$x$"]


def _hostile_card(i: int) -> bytes:
    """Models 0 to 3 declare the hostile datasets and base model; 4 and 5 derive from model 0, so a
    hostile dataset has downstream models and the report names it."""
    datasets = f"datasets: ['{SCRIPT}', '$x$', '{BAD_MATH}']\n" if i < 4 else ""
    base_model = IMG if i < 4 else "hostile/model-0"
    return (
        "---\n"
        f"license: '{BAD_MATH}'\n"
        f"{datasets}"
        f"base_model: '{base_model}'\n"
        f"library_name: '{SCRIPT}'\n"
        f"pipeline_tag: '{BAD_MATH}'\n"
        "model-index:\n"
        f"- name: '{IMG}'\n"
        "  results:\n"
        f"  - task: {{type: '{BAD_MATH}'}}\n"
        f"    dataset: {{name: '{SCRIPT}', type: '$x$'}}\n"
        "    metrics:\n"
        f"    - {{type: '{FRACTION}', value: 0.{i + 1}}}\n"
        "---\n"
        f"# {IMG}\n\n$$\n{BAD_MATH}\n$$\n\n## {SCRIPT}\n\nTrained on {SCRIPT}.\n"
    ).encode()


def _hostile_record(i: int) -> dict[str, object]:
    return {
        "id": f"hostile/model-{i}",
        "pipeline_tag": BAD_MATH,
        "library_name": SCRIPT,
        "config": {"model_type": FRACTION if i % 2 else BAD_MATH},
        "tags": [f"dataset:{SCRIPT}", "dataset:$x$", f"base_model:{IMG}", f"license:{SCRIPT}", BAD_MATH]
        if i < 4
        else ["base_model:hostile/model-0", f"license:{SCRIPT}", BAD_MATH],
        "siblings": [{"rfilename": "README.md"}, {"rfilename": "config.json"}],
    }


@pytest.mark.slow
@pytest.mark.usefixtures("quick_retries")
def test_hostile_strings_reach_every_output_as_data(tmp_path: Path) -> None:
    registry = Registry.synthetic(n=12, seed=5)
    for i in range(6):
        registry.add(_hostile_record(i), _hostile_card(i))
    with HubSimulator(registry) as sim:
        crawled = run_crawl(tmp_path / "data", CrawlParams(), snapshot_id="s", endpoint=sim.url)
    assert crawled.status == "complete"
    run_analyze(tmp_path / "data", "s")
    run_report(tmp_path / "data", "s", tmp_path / "out")

    figures = {p.stem: p.read_bytes() for p in (tmp_path / "out" / "figures").glob("*.png")}
    assert set(figures) == FIGURES - WITHOUT_RUNS
    assert all(data.startswith(PNG_SIGNATURE) for data in figures.values())

    markdown = (tmp_path / "out" / "report.md").read_text()
    # The hostile values reached the report, escaped; a base model that is no Hub id makes no lineage row.
    assert "| &lt;img src=x onerror=alert(1)&gt; | no |" not in markdown
    assert any(f"One dataset, {markdown_text(name)}, has" in markdown for name in (SCRIPT, "$x$", BAD_MATH))
    assert not re.search(r"<(script|img)", markdown, re.IGNORECASE)
    assert not re.search(r"(?<!\\)\$", markdown)  # every `$` is escaped, so none opens math
    rendered = MARKDOWN.render(markdown)  # the report's own figures are its only <img> tags
    assert not re.search(r"<(script|img src=x)", rendered, re.IGNORECASE)
    assert rendered.count("<img") == len(FIGURES - WITHOUT_RUNS)

    page = (tmp_path / "out" / "report.html").read_text()
    assert f"One dataset, {BAD_MATH}, has" in page  # a hostile dataset name reaches the page as text
    assert not re.search(r"<(script|img src=x)", page, re.IGNORECASE)


@pytest.mark.usefixtures("quick_retries")
def test_a_crawl_matching_no_model_reports_as_empty(tmp_path: Path) -> None:
    with HubSimulator(Registry.synthetic(n=10, seed=3)) as sim:
        crawled = run_crawl(tmp_path, CrawlParams(author="nobody-here"), snapshot_id="s", endpoint=sim.url)
    assert crawled.status == "complete" and crawled.exit_code == 0
    assert run_analyze(tmp_path, "s").startswith("analyzed 0 models of snapshot s")
    run_report(tmp_path, "s", tmp_path / "out")
    assert "The snapshot has no models" in (tmp_path / "out" / "report.md").read_text()
    assert {p.stem for p in (tmp_path / "out" / "figures").glob("*.png")} == {"claims_by_task"}
