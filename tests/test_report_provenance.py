"""A report that says what it measured: its provenance, the paper's rows it can compare, no empty figure,
figures a reviewer accepts, and a warning when trends compare different populations."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pandas as pd
import pytest

from hubsim import HubSimulator, Registry
from pipeline import __version__
from pipeline.analyze import run_analyze
from pipeline.crawl import CrawlParams, run_crawl
from pipeline.longitudinal.trends import run_trends
from pipeline.measures.comparison import ComparisonRow, Side
from pipeline.report import figures
from pipeline.report.build import comparison_blocks, run_report
from pipeline.report.render import Para, Table, to_html

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def two_crawls(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Snapshots `a` (the top 40 models) and `b` (the top 50) of one simulator, analyzed, with trends."""
    data = tmp_path_factory.mktemp("data")
    with HubSimulator(Registry.synthetic(n=60, seed=12)) as sim:
        run_crawl(data, CrawlParams(limit=40), snapshot_id="a", endpoint=sim.url)
        run_crawl(data, CrawlParams(limit=50), snapshot_id="b", endpoint=sim.url)
        url = sim.url
    run_analyze(data, "a")
    run_analyze(data, "b")
    run_trends(data)
    return data, url


def test_the_report_says_where_its_snapshot_came_from(two_crawls: tuple[Path, str], tmp_path: Path) -> None:
    data, url = two_crawls
    run_report(data, "b", tmp_path, command="hubmine report --snapshot b")
    markdown = (tmp_path / "report.md").read_text()
    assert "## What this report measured" in markdown
    assert f"| source | crawled from {url} |" in markdown
    assert "| crawl parameters | hubmine crawl --limit 50 --sort downloads --cards |" in markdown
    assert f"| hubmine | {__version__} (report); {__version__} (crawl) |" in markdown
    assert "| command | hubmine report --snapshot b |" in markdown
    assert "| newest model change in the data | 20" in markdown


def test_trends_of_different_populations_carry_a_warning(
    two_crawls: tuple[Path, str], tmp_path: Path
) -> None:
    data, _ = two_crawls
    run_report(data, "b", tmp_path)
    markdown = (tmp_path / "report.md").read_text()
    trends = markdown.split("## Trends", 1)[1]
    assert "Warning: these snapshots cover different populations" in trends
    assert "--limit 40" in trends and "--limit 50" in trends
    assert {"trend_rates", "trend_formats", "trend_growth"} <= {
        p.stem for p in (tmp_path / "figures").iterdir()
    }


def test_comparison_shows_measured_rows_with_their_difference() -> None:
    rows = [
        ComparisonRow("license missing", Side(10, 100, 0.1), Side(30, 200, 0.15)),
        ComparisonRow("card missing", None, Side(5, 200, 0.025)),
        ComparisonRow("organizations verified", Side(1, 4, 0.25), None),
    ]
    table, ours, theirs = comparison_blocks(rows)
    assert isinstance(table, Table) and table.headers[-1] == "difference"
    assert table.rows == [["license missing", "10 / 100 (10.0%)", "30 / 200 (15.0%)", "+5.0 points"]]
    assert ours == Para("Measured here, with no figure in the paper: card missing 2.5%.")
    assert theirs == Para(
        "In the paper, not measured in this snapshot: organizations verified 1 / 4 (25.0%)."
    )


def test_a_figure_without_data_is_a_sentence_not_a_picture() -> None:
    assert (
        figures.no_data_sentence(figures.claims_gap(None)) == "No claim re-measured yet (hubmine evaluate)."
    )
    assert figures.no_data_sentence(figures.trend_rates(None)).startswith("No trend yet: run hubmine trends")
    drawn = figures.claims_gap(
        pd.DataFrame(
            {
                "task_type": ["text-classification"],
                "source": ["model-index"],
                "claimed_unit": [0.9],
                "measured": [0.75],
                "status": ["measured"],
                "metric": ["accuracy"],
            }
        )
    )
    assert figures.no_data_sentence(drawn) is None


def test_years_are_whole_numbers() -> None:
    breakdowns = pd.DataFrame(
        [
            {"dimension": "year", "group": str(year), "measure": measure, "value": 0.5, "n_models": 3}
            for year in (2019, 2020, 2022)
            for measure in figures.EXPOSURE_RATES
        ]
    )
    figure = figures.exposure_by_year(breakdowns, _summary_without_formats())
    figure.canvas.draw()
    ticks = [t.get_text().replace("\u2212", "-") for t in figure.axes[0].get_xticklabels() if t.get_text()]
    assert ticks and all(t.isdigit() for t in ticks)


def _summary_without_formats() -> object:
    class Exposure:
        formats: dict[str, int] = {}  # noqa: RUF012 - a stand-in summary section, read only

    class Summary:
        def section(self, kind: object) -> Exposure:
            return Exposure()

    return Summary()


def test_commands_in_the_report_are_code_in_html() -> None:
    page = to_html([Para("run `hubmine evaluate --snapshot <s>` first")], "t", {})
    assert "<p>run <code>hubmine evaluate --snapshot &lt;s&gt;</code> first</p>" in page
