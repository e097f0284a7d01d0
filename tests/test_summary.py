"""summary.json is checked against schemas/summary.schema.json and reads back as a typed Summary."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from pipeline.errors import SchemaError
from pipeline.measures.lineage import LineageSection
from pipeline.measures.summary import load, load_summary, validate
from pipeline.store.layout import Snapshot


@pytest.fixture(scope="module")
def data(measured_snapshot: Snapshot) -> dict[str, Any]:
    return load(measured_snapshot)


def test_a_written_summary_is_valid_and_reads_back_typed(
    measured_snapshot: Snapshot, data: dict[str, Any]
) -> None:
    validate(data)
    summary = load_summary(measured_snapshot)
    assert summary.section(LineageSection).depth.max == 3
    assert summary.to_dict() == data


@pytest.mark.parametrize(
    ("path", "broken", "where"),
    [
        (("attributes",), None, "(top)"),
        (("attributes", "present", "has_card", "share"), "0.5", "attributes/present/has_card/share"),
        (("dependencies", "lineage", "depth", "max"), -1, "dependencies/lineage/depth/max"),
        (("paper_comparison", "fig7_claims_by_task"), {}, "paper_comparison/fig7_claims_by_task"),
    ],
)
def test_a_broken_summary_is_refused(
    data: dict[str, Any], path: tuple[str, ...], broken: Any, where: str
) -> None:
    bad = copy.deepcopy(data)
    place = bad
    for key in path[:-1]:
        place = place[key]
    if broken is None:
        del place[path[-1]]
    else:
        place[path[-1]] = broken
    with pytest.raises(SchemaError, match=re.escape(f"at {where}:")) as error:
        validate(bad)
    assert "\n" not in str(error.value)
