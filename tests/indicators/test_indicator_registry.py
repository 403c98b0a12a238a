"""The registry, and docs/indicators.md generated from it (CI fails when they differ)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from corridor.contract.dimensions import AGGREGATION_TYPES, DATA_ELEMENTS, LOOKBACK_MONTHS
from corridor.errors import QueryError
from corridor.indicators import CASCADE, INDICATORS, get_indicator, resolve_ids
from corridor.indicators.docs import render_markdown

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = {
    "positivity": ("hiv_positive", "hiv_tests"),
    "linkage_proxy": ("art_initiated", "hiv_positive"),
    "first_95": ("plhiv_diagnosed", "plhiv_estimated"),
    "second_95": ("art_current", "plhiv_diagnosed"),
    "third_95": ("vl_suppressed", "art_current"),
    "vl_suppression": ("vl_suppressed", "vl_tested"),
    "overall_suppression": ("vl_suppressed", "plhiv_estimated"),
    "vl_coverage": ("vl_tested", "art_current"),
    "recent_infections": ("hiv_recent", "hiv_recency_tested"),
    "art_coverage": ("art_current", "plhiv_estimated"),
    "testing_coverage": ("hiv_tests", "pop_estimated"),
    "prep_coverage": ("prep_initiated", "pop_estimated"),
    "screening_coverage": ("poe_screened", "poe_crossings"),
    "mpox_positivity": ("mpox_confirmed", "mpox_tested"),
}


def test_registry_defines_the_required_indicators() -> None:
    ids = [i.id for i in INDICATORS]
    assert len(ids) == len(set(ids))
    for ind_id, elements in REQUIRED.items():
        ind = get_indicator(ind_id)
        assert ind.elements == elements
        assert ind.source and ind.definition and ind.name and ind.unit == "percent"
    for ind in INDICATORS:
        assert set(ind.elements) <= set(DATA_ELEMENTS)
    assert get_indicator("first_95").target == 95.0
    assert "screening_coverage" not in CASCADE and "first_95" in CASCADE
    # the three 95s multiply to the overall figure, and its target is 95% cubed
    assert get_indicator("overall_suppression").target == pytest.approx(85.7)
    assert get_indicator("first_95").denominator == get_indicator("overall_suppression").denominator
    assert get_indicator("third_95").numerator == get_indicator("overall_suppression").numerator
    assert "lower bound" in get_indicator("third_95").definition
    assert get_indicator("vl_coverage").denominator_lag == 2
    assert get_indicator("testing_coverage").denominator_ages


def test_lookback_elements_in_the_data_dictionary() -> None:
    assert DATA_ELEMENTS["vl_tested"] == DATA_ELEMENTS["vl_suppressed"] == "lookback"
    assert LOOKBACK_MONTHS == {"vl_tested": 12, "vl_suppressed": 12}
    assert set(DATA_ELEMENTS.values()) <= set(AGGREGATION_TYPES)


def test_resolve_ids() -> None:
    assert [i.id for i in resolve_ids(["Third_95 ", "first_95", "third_95"])] == [
        "third_95",
        "first_95",
    ]
    assert [i.id for i in resolve_ids(["all"])] == [i.id for i in INDICATORS]
    with pytest.raises(QueryError, match="unknown indicator 'x'"):
        resolve_ids(["x"])


def test_docs_are_generated_from_the_registry() -> None:
    doc = ROOT / "docs" / "indicators.md"
    assert doc.read_text(encoding="utf-8") == render_markdown(), (
        "docs/indicators.md is out of date: run .venv/bin/python scripts/gen_indicator_docs.py"
    )
    text = render_markdown()
    for ind in INDICATORS:
        assert f"`{ind.id}`" in text
    assert "unallocated" in text and "not additive" in text


def test_the_generator_script_checks() -> None:
    script = ROOT / "scripts" / "gen_indicator_docs.py"
    done = subprocess.run([sys.executable, str(script), "--check"], capture_output=True)
    assert done.returncode == 0, done.stderr.decode()


def test_the_docs_name_the_indicator_groups() -> None:
    """``corridor indicators -h`` offers the groups cascade and all; the docs never named them."""
    from corridor.indicators.registry import GROUPS

    text = render_markdown()
    assert set(GROUPS) == {"cascade", "all"}
    for name in GROUPS:
        assert f"* `{name}`: " in text, name
    cascade = text.split("* `cascade`: ", 1)[1].split("\n* ", 1)[0]
    assert [i for i in INDICATORS if f"`{i.id}`" in cascade] == resolve_ids(["cascade"])
    assert "corridor indicators -i cascade" in text
