"""The recency correction's testing rates (group-specific where groups are reported) and the name
every output gives the interval of the rate (a model interval, with its measured coverage)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hotspot_world import load_small_world

from corridor.hotspots import rank_sites
from corridor.hotspots.incidence import MDRI_YEARS, adult_share, caught_recent
from corridor.hotspots.inputs import IncidenceInputs
from corridor.hotspots.ranking import (
    RATE_INTERVAL_COVERAGE,
    RATE_INTERVAL_LEVEL,
    RATE_INTERVAL_MIN_DRAWS,
    rate_interval_coverage_text,
)
from corridor.storage.engine import Engine, connect
from corridor.storage.migrations import migrate

ROOT = Path(__file__).resolve().parents[2]


def inputs(**groups: Any) -> IncidenceInputs:
    """One site: 1,000 tests and 40 positives a year among 10,000 people (6,000 adults, 100 of
    whom know they live with HIV), recency reported; ``groups`` as in ``IncidenceInputs``."""
    one = np.ones(1)
    return IncidenceInputs(
        population=one * 10_000,
        tests=one * 1_000,
        positive=one * 40,
        plhiv=one * 500,
        pop_estimated=one * 10_000,
        art_current=one * 80,
        vl_tested=one * 70,
        vl_suppressed=one * 60,
        sex_workers=np.full(1, np.nan),
        recent=one * 4,
        recency_tested=one * 30,
        years=1.0,
        diagnosed=one * 100,
        **groups,
    )


def chance(rate: float) -> float:
    return float(1.0 - np.exp(-rate * MDRI_YEARS))


def test_without_groups_the_average_rate_of_adults_not_known_positive() -> None:
    caught, used = caught_recent(inputs())
    assert not used[0]
    # 1,000 tests a year among 6,000 adults less the 100 who know their status
    assert caught[0] == pytest.approx(chance(1_000 / 5_900))


def test_groups_that_test_more_often_catch_more_recent_infections() -> None:
    """Host community: 600 tests among 9,000 people (5,400 adults); sex workers: 400 tests
    among 250 (all adults), 50 of whom know their status. The positives weigh the groups'
    chances: 30 of 40 positives among sex workers puts the site's chance near theirs."""
    names = ("host", "sex_worker")
    assert adult_share("host") == pytest.approx(0.6) and adult_share("sex_worker") == 1.0
    groups = {
        "group_names": names,
        "group_tests": np.array([[600.0, 400.0]]),
        "group_positive": np.array([[10.0, 30.0]]),
        "group_pop": np.array([[9_000.0, 250.0]]),
        "group_diagnosed": np.array([[50.0, 50.0]]),
    }
    caught, used = caught_recent(inputs(**groups))
    host, sw = chance(600 / (5_400 - 50)), chance(400 / (250 - 50))
    assert used[0]
    assert caught[0] == pytest.approx((10 * host + 30 * sw) / 40)
    average, _ = caught_recent(inputs())
    assert caught[0] > 2 * average[0]  # the average rate understated the chance: a lower estimate
    # positives in a group without a population estimate take the average rate's chance
    groups["group_pop"] = np.array([[9_000.0, np.nan]])
    caught, used = caught_recent(inputs(**groups))
    assert used[0] and caught[0] == pytest.approx((10 * host + 30 * average[0]) / 40)


@pytest.fixture
def small(tmp_path: Path) -> Engine:
    eng = connect(str(tmp_path / "w.duckdb"))
    migrate(eng)
    load_small_world(eng)
    return eng


def test_the_rate_interval_is_named_with_what_is_known_of_its_coverage(small: Engine) -> None:
    """The measured coverage is said only of what was measured: the calibrated model at the
    validated level; an uncalibrated model (no recency testing here) says it was not measured,
    and without draws there is no interval to name."""
    lo, hi = RATE_INTERVAL_COVERAGE
    measured = f"measured coverage of the true rate {round(100 * lo)}-{round(100 * hi)}%"
    assert rate_interval_coverage_text(RATE_INTERVAL_LEVEL, True, 500) == measured
    assert (
        rate_interval_coverage_text(RATE_INTERVAL_LEVEL, True, RATE_INTERVAL_MIN_DRAWS) == measured
    )
    assert "not measured" in rate_interval_coverage_text(RATE_INTERVAL_LEVEL, False, 500)
    assert "not measured" in rate_interval_coverage_text(0.8, True, 500)
    # fewer draws than validation used: the percentiles are placed less surely
    few = RATE_INTERVAL_MIN_DRAWS - 1
    assert "not measured" in rate_interval_coverage_text(RATE_INTERVAL_LEVEL, True, few)
    result = rank_sites(small, draws=20)
    assert (
        result.rate_interval_label == "90% model interval (coverage of the true rate not measured)"
    )
    assert result.rate_interval_coverage is None
    assert any(n.startswith("the 90% interval of new infections per 1,000 is a model interval")
               and "not measured" in n for n in result.notes)  # fmt: skip
    summary = result.explain(result.place_codes[0])["summary"]
    assert "90% model interval" in summary and "coverage of the true rate not measured" in summary
    none = rank_sites(small, draws=0)
    assert none.rate_interval_label == "" and not any("model interval" in n for n in none.notes)
    small.close()


#: the texts outside hotspots/ that name the rate interval in plain text (they cannot ask the
#: ranking): the coverage they state must be the measured one
PLAIN_TEXT_LABELS = (
    "README.md",
    "docs/dashboard.md",
    "docs/hotspots.md",
)


@pytest.mark.parametrize("path", PLAIN_TEXT_LABELS)
def test_plain_text_labels_state_the_measured_coverage(path: str) -> None:
    text = (ROOT / path).read_text(encoding="utf-8")
    stated = re.findall(r"held the true rate for (\d+)–(\d+)% of sites", text)
    lo, hi = RATE_INTERVAL_COVERAGE
    assert stated and set(stated) == {(str(round(100 * lo)), str(round(100 * hi)))}
    # the rate's interval is never called a plain "90% interval" in a template
    assert re.search(r"}}% interval\b", text) is None


#: the dashboard's templates, which show the ranking's own words for the coverage (measured, or
#: "not measured" for an uncalibrated scope), never a number of their own
DASHBOARD_TEMPLATES = (
    "src/corridor/web/templates/ranking.html.j2",
    "src/corridor/web/templates/overview.html.j2",
    "src/corridor/web/templates/map_site.html.j2",
)


@pytest.mark.parametrize("path", DASHBOARD_TEMPLATES)
def test_the_dashboard_states_the_ranking_s_own_coverage(path: str) -> None:
    text = (ROOT / path).read_text(encoding="utf-8")
    assert "rate_coverage }}" in text
    assert re.search(r"held the true rate for \d+", text) is None
    assert re.search(r"}}% interval\b", text) is None
